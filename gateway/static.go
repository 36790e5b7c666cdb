package gateway

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/parleydesk/parley/desk"
)

//go:embed openapi.yaml
var openAPIDoc []byte

func openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(openAPIDoc)
}

// Security headers. The desk's page has no inline script or style, so its
// policy allows only this server's own files; every answer refuses to be
// framed and is not sniffed into another type. The phone simulator is
// made the same way and shares the desk's policy. The operator dashboard
// is a page of another making (inline scripts), so it gets the framing and
// sniffing rules but not the desk's policy.
const (
	deskPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	apiPolicy = "default-src 'none'; frame-ancestors 'none'"
)

func securityHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	switch p := c.Path(); {
	case strings.HasPrefix(p, "/desk"), strings.HasPrefix(p, "/dev/phone"): // files the phone sent set a stricter one
		c.Set(fiber.HeaderContentSecurityPolicy, deskPolicy)
	case strings.HasPrefix(p, "/monitoring"):
		c.Set(fiber.HeaderContentSecurityPolicy, "frame-ancestors 'none'")
	default: // the API, webhooks, media (which sets a stricter one), health
		c.Set(fiber.HeaderContentSecurityPolicy, apiPolicy)
	}
	return c.Next()
}

// deskAssets serves the desk's page. The page is static; everything it
// shows comes from the API, so it needs no session to load.
func deskAssets() fiber.Handler {
	return filesystem.New(filesystem.Config{Root: http.FS(desk.Web()), Index: "index.html", MaxAge: 0})
}
