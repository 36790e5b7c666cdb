package gateway

import (
	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/config"
)

// syncTemplates reads the templates from Twilio's Content API now
// (Administration → Settings → Sync from Twilio); audited.
func (a *api) syncTemplates(c *fiber.Ctx) error {
	res, err := a.svc.SyncTemplates(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// templateView is a template as the desk's picker reads it: whether it may
// go outside WhatsApp's 24-hour window is decided here, once.
type templateView struct {
	config.Template
	Sendable bool `json:"sendable"`
}

func templateViews(ts []config.Template) []templateView {
	out := make([]templateView, len(ts))
	for i := range ts {
		out[i] = templateView{Template: ts[i], Sendable: ts[i].Sendable()}
	}
	return out
}
