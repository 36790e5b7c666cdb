package desk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Desk sessions live in Redis, each under its random token, and in an index
// per user, so that a password change or a disabled account ends all of a
// user's sessions at once (and the desks' event streams with them).

// SessionTTL is how long a session lives after its last use.
const SessionTTL = 12 * time.Hour

// EventSessionsEnded tells the gateways that some of a user's sessions
// ended (sign-out, password change, disabled account): their open event
// streams check their session again at once.
const EventSessionsEnded = "user.sessions_ended"

// UserSession is one signed-in desk.
type UserSession struct {
	Token string
	User  string
	CSRF  string
}

func (k keys) session(token string) string { return k.prefix + "session:" + token }
func (k keys) userSessions(user string) string {
	return k.prefix + "sessions:" + user
}

// NewToken is 32 random bytes in hex: unguessable.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateSession signs a user in.
func (s *Service) CreateSession(ctx context.Context, user string) (UserSession, error) {
	se := UserSession{Token: NewToken(), User: user, CSRF: NewToken()}
	k := s.store.keys
	_, err := s.store.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.session(se.Token), "user", se.User, "csrf", se.CSRF)
		p.Expire(ctx, k.session(se.Token), SessionTTL)
		p.SAdd(ctx, k.userSessions(user), se.Token)
		// The index outlives each session in it: every use renews both.
		p.Expire(ctx, k.userSessions(user), SessionTTL)
		return nil
	})
	return se, err
}

// LoadSession returns the session of a token, renewing its lifetime; an
// unknown or ended one is ErrNotFound.
func (s *Service) LoadSession(ctx context.Context, token string) (UserSession, error) {
	if len(token) != 64 {
		return UserSession{}, ErrNotFound
	}
	k := s.store.keys
	var h *redis.MapStringStringCmd
	_, err := s.store.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, k.session(token))
		p.Expire(ctx, k.session(token), SessionTTL)
		return nil
	})
	if err != nil {
		return UserSession{}, err
	}
	v := h.Val()
	if v["user"] == "" {
		return UserSession{}, ErrNotFound
	}
	if err := s.store.rdb.Expire(ctx, k.userSessions(v["user"]), SessionTTL).Err(); err != nil {
		return UserSession{}, err
	}
	return UserSession{Token: token, User: v["user"], CSRF: v["csrf"]}, nil
}

// SessionLive reports whether a token is still a session of user, without
// renewing it: an open event stream asks this, and must not keep an idle
// session alive by itself.
func (s *Service) SessionLive(ctx context.Context, token, user string) (bool, error) {
	got, err := s.store.rdb.HGet(ctx, s.store.keys.session(token), "user").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil && got == user, err
}

// EndSession signs one session out.
func (s *Service) EndSession(ctx context.Context, se UserSession) error {
	k := s.store.keys
	_, err := s.store.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k.session(se.Token))
		p.SRem(ctx, k.userSessions(se.User), se.Token)
		p.Publish(ctx, k.events(), Event{Type: EventSessionsEnded, Agent: se.User, At: s.now().UTC()}.encode())
		return nil
	})
	return err
}

// EndSessions signs a user out everywhere but keep (a token, or "").
func (s *Service) EndSessions(ctx context.Context, user, keep string) error {
	k := s.store.keys
	tokens, err := s.store.rdb.SMembers(ctx, k.userSessions(user)).Result()
	if err != nil {
		return err
	}
	_, err = s.store.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, t := range tokens {
			if t != keep {
				p.Del(ctx, k.session(t))
				p.SRem(ctx, k.userSessions(user), t)
			}
		}
		p.Publish(ctx, k.events(), Event{Type: EventSessionsEnded, Agent: user, At: s.now().UTC()}.encode())
		return nil
	})
	return err
}
