package gateway

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/users"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/desk/sessions"
)

// Desk sign-in: server-side sessions in Redis (desk/sessions) behind an
// HttpOnly cookie, a CSRF token per session for every state-changing
// request, and an attempt budget on sign-ins (signin_limit.go).

const (
	sessionCookie = "parley_session"
	csrfHeader    = "X-CSRF-Token"
)

var (
	errUnauthenticated = newError(http.StatusUnauthorized, "unauthenticated", "sign in first")
	errBadCredentials  = newError(http.StatusUnauthorized, "bad_credentials", users.ErrBadCredentials.Error())
	errCSRF            = newError(http.StatusForbidden, "csrf", "missing or wrong "+csrfHeader+" header")
	errTooManyFailures = newError(http.StatusTooManyRequests, "too_many_attempts", "too many failed sign-ins; try again later")
)

func (a *api) setCookie(c *fiber.Ctx, value string, maxAge int) {
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HTTPOnly: true, Secure: a.secureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// signedIn is the middleware of every desk API route: it finds the
// session, checks the user is still enabled, requires the CSRF token on
// anything but a read, and leaves the actor for the handler.
func (a *api) signedIn(c *fiber.Ctx) error {
	se, err := a.svc.Sessions().Load(c.UserContext(), c.Cookies(sessionCookie))
	if errors.Is(err, sessions.ErrUnknown) {
		return errUnauthenticated
	}
	if err != nil {
		return err
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		if subtle.ConstantTimeCompare([]byte(c.Get(csrfHeader)), []byte(se.CSRF)) != 1 {
			return errCSRF
		}
	}
	agent, err := a.svc.Enabled(c.UserContext(), se.User)
	if errors.Is(err, users.ErrBadCredentials) || errors.Is(err, engine.ErrNotFound) {
		_ = a.svc.Sessions().End(c.UserContext(), se)
		return errUnauthenticated
	}
	if err != nil {
		return err
	}
	c.Locals("actor", engine.Actor{ID: agent.ID, Role: agent.Role})
	c.Locals("session", se)
	return c.Next()
}

func actor(c *fiber.Ctx) engine.Actor { return c.Locals("actor").(engine.Actor) }

func currentSession(c *fiber.Ctx) sessions.Session { return c.Locals("session").(sessions.Session) }

type signInRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// signIn checks a password. Each attempt is reserved from the budget before
// the password is checked, so parallel guesses cannot outrun the count; a
// correct password gives its reservation back.
func (a *api) signIn(c *fiber.Ctx) error {
	var req signInRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.User == "" || req.Password == "" {
		return newError(http.StatusBadRequest, "invalid", "user and password are required")
	}
	ctx := c.UserContext()
	from := a.proxies.clientIP(c)
	ok, err := a.limit.reserve(ctx, req.User, from)
	if err != nil {
		return err
	}
	if !ok {
		return errTooManyFailures
	}
	agent, err := a.svc.Authenticate(ctx, req.User, req.Password)
	if errors.Is(err, users.ErrBadCredentials) || errors.Is(err, engine.ErrNotFound) {
		return errBadCredentials
	}
	if err != nil {
		return err
	}
	if err := a.limit.succeeded(ctx, req.User, from); err != nil {
		return err
	}
	se, err := a.svc.Sessions().Create(ctx, agent.ID)
	if err != nil {
		return err
	}
	a.setCookie(c, se.Token, int(sessions.TTL.Seconds()))
	return c.JSON(meResponse(agent, se.CSRF))
}

func (a *api) signOut(c *fiber.Ctx) error {
	if err := a.svc.Sessions().End(c.UserContext(), currentSession(c)); err != nil {
		return err
	}
	a.setCookie(c, "", -1)
	return c.SendStatus(http.StatusNoContent)
}
