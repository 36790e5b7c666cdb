package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/desk"
)

// Desk sign-in: server-side sessions in Redis behind an HttpOnly cookie,
// a CSRF token per session for every state-changing request, and a limit
// on failed sign-ins per user name and per address.

const (
	sessionCookie = "parley_session"
	csrfHeader    = "X-CSRF-Token"
	sessionTTL    = 12 * time.Hour
	// failLimit failed sign-ins in failWindow lock a user name or an
	// address out until the window passes.
	failLimit  = 10
	failWindow = 15 * time.Minute
)

var (
	errUnauthenticated = newError(http.StatusUnauthorized, "unauthenticated", "sign in first")
	errBadCredentials  = newError(http.StatusUnauthorized, "bad_credentials", desk.ErrBadCredentials.Error())
	errCSRF            = newError(http.StatusForbidden, "csrf", "missing or wrong "+csrfHeader+" header")
	errTooManyFailures = newError(http.StatusTooManyRequests, "too_many_attempts", "too many failed sign-ins; try again later")
)

type sessions struct {
	rdb    redis.UniversalClient
	prefix string
	secure bool // cookies only over HTTPS
}

type session struct {
	token string
	user  string
	csrf  string
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *sessions) key(token string) string { return s.prefix + "session:" + token }

func (s *sessions) create(ctx context.Context, user string) (session, error) {
	se := session{token: randomToken(), user: user, csrf: randomToken()}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.key(se.token), "user", se.user, "csrf", se.csrf)
		p.Expire(ctx, s.key(se.token), sessionTTL)
		return nil
	})
	return se, err
}

// load returns the session of a token, renewing its lifetime.
func (s *sessions) load(ctx context.Context, token string) (session, error) {
	if len(token) != 64 {
		return session{}, errUnauthenticated
	}
	var h *redis.MapStringStringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, s.key(token))
		p.Expire(ctx, s.key(token), sessionTTL)
		return nil
	})
	if err != nil {
		return session{}, err
	}
	v := h.Val()
	if v["user"] == "" {
		return session{}, errUnauthenticated
	}
	return session{token: token, user: v["user"], csrf: v["csrf"]}, nil
}

func (s *sessions) destroy(ctx context.Context, token string) error {
	return s.rdb.Del(ctx, s.key(token)).Err()
}

func (s *sessions) cookie(c *fiber.Ctx, value string, maxAge int) {
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// failures counts failed sign-ins per user name and per client address.
func (s *sessions) failures(ctx context.Context, user, ip string) (int64, error) {
	vals, err := s.rdb.MGet(ctx, s.prefix+"signin-fail:user:"+user, s.prefix+"signin-fail:ip:"+ip).Result()
	if err != nil {
		return 0, err
	}
	var worst int64
	for _, v := range vals {
		if str, ok := v.(string); ok {
			n, _ := strconv.ParseInt(str, 10, 64)
			worst = max(worst, n)
		}
	}
	return worst, nil
}

func (s *sessions) failed(ctx context.Context, user, ip string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range []string{s.prefix + "signin-fail:user:" + user, s.prefix + "signin-fail:ip:" + ip} {
			p.Incr(ctx, k)
			p.Expire(ctx, k, failWindow)
		}
		return nil
	})
	return err
}

// signedIn is the middleware of every desk API route: it finds the
// session, checks the user is still enabled, requires the CSRF token on
// anything but a read, and leaves the actor for the handler.
func (a *api) signedIn(c *fiber.Ctx) error {
	se, err := a.sessions.load(c.UserContext(), c.Cookies(sessionCookie))
	if err != nil {
		return err
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		if subtle.ConstantTimeCompare([]byte(c.Get(csrfHeader)), []byte(se.csrf)) != 1 {
			return errCSRF
		}
	}
	agent, err := a.svc.Enabled(c.UserContext(), se.user)
	if errors.Is(err, desk.ErrBadCredentials) || errors.Is(err, desk.ErrNotFound) {
		_ = a.sessions.destroy(c.UserContext(), se.token)
		return errUnauthenticated
	}
	if err != nil {
		return err
	}
	c.Locals("actor", desk.Actor{ID: agent.ID, Role: agent.Role})
	c.Locals("session", se)
	return c.Next()
}

func actor(c *fiber.Ctx) desk.Actor { return c.Locals("actor").(desk.Actor) }

type signInRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

func (a *api) signIn(c *fiber.Ctx) error {
	var req signInRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.User == "" || req.Password == "" {
		return newError(http.StatusBadRequest, "invalid", "user and password are required")
	}
	ctx := c.UserContext()
	n, err := a.sessions.failures(ctx, req.User, c.IP())
	if err != nil {
		return err
	}
	if n >= failLimit {
		return errTooManyFailures
	}
	agent, err := a.svc.Authenticate(ctx, req.User, req.Password)
	if errors.Is(err, desk.ErrBadCredentials) || errors.Is(err, desk.ErrNotFound) {
		if err := a.sessions.failed(ctx, req.User, c.IP()); err != nil {
			return err
		}
		return errBadCredentials
	}
	if err != nil {
		return err
	}
	se, err := a.sessions.create(ctx, agent.ID)
	if err != nil {
		return err
	}
	a.sessions.cookie(c, se.token, int(sessionTTL.Seconds()))
	return c.JSON(meResponse(agent, se.csrf))
}

func (a *api) signOut(c *fiber.Ctx) error {
	se := c.Locals("session").(session)
	if err := a.sessions.destroy(c.UserContext(), se.token); err != nil {
		return err
	}
	a.sessions.cookie(c, "", -1)
	return c.SendStatus(http.StatusNoContent)
}
