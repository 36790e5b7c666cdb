package gateway

import (
	_ "embed"
	"net/http"

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

// deskAssets serves the desk's page. The page is static; everything it
// shows comes from the API, so it needs no session to load.
func deskAssets() fiber.Handler {
	return filesystem.New(filesystem.Config{Root: http.FS(desk.Web()), Index: "index.html", MaxAge: 0})
}
