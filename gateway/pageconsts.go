package gateway

import (
	"github.com/gofiber/fiber/v2"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/users"

	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/media"
)

// durationUnits are the units of a Go duration (time.ParseDuration) in
// seconds, so the settings form checks "1h30m" by the server's rules.
var durationUnits = map[string]float64{
	"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
}

// pageConstants answers the constants the desk page needs, so it copies
// none of them: the tabs of each role, the user-id pattern, the attachment
// limits, the trash's keep, the duration units.
func pageConstants(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{
		"tabs":                      fiber.Map{"agent": desk.TabsFor(false), "supervisor": desk.TabsFor(true)},
		"chat_tabs":                 []string{desk.TabLive, desk.TabPending, desk.TabTagged, desk.TabClosed, desk.TabBot},
		"user_id_pattern":           users.IDPattern.String(),
		"max_attachment_bytes":      media.MaxAttachment,
		"max_attachments_per_reply": media.MaxAttachmentsPerReply,
		"trash_days":                int(engine.TrashKeep.Hours() / 24),
		"duration_units":            durationUnits,
	})
}
