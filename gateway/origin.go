package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Pages without a CSRF token of their own (the Asynq dashboard, whose Basic
// auth the browser replays on every request; the phone simulator, which
// needs no sign-in) refuse a state-changing request that a page on another
// site made.

var (
	errCrossSite = newError(http.StatusForbidden, "cross_site", "refused: the request came from another site")
	errNotJSON   = newError(http.StatusUnsupportedMediaType, "not_json", "Content-Type: want application/json")
)

// fromOwnSite reports whether a browser says the request came from a page of
// this server. Sec-Fetch-Site decides where the browser sends it; otherwise
// Origin, when present, must be this host. A request with neither header
// does not come from a modern browser's page (curl, a script) and is let
// through: the headers exist to stop a page driving the user's browser.
func fromOwnSite(c *fiber.Ctx) bool {
	if site := c.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, c.Hostname())
}

func isRead(c *fiber.Ctx) bool {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return true
	}
	return false
}

// sameSiteWrites refuses a state-changing request from another site.
func sameSiteWrites(c *fiber.Ctx) error {
	if !isRead(c) && !fromOwnSite(c) {
		return errCrossSite
	}
	return c.Next()
}

// jsonOnly refuses a body that is not JSON: a cross-site form can post
// text/plain or a form without a CORS preflight, never application/json.
func jsonOnly(c *fiber.Ctx) error {
	if !isRead(c) && !c.Is("json") {
		return errNotJSON
	}
	return c.Next()
}
