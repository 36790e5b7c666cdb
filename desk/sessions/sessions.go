// Package sessions keeps the desk's sign-ins in Redis, each under its
// random token and in an index per user, so that a password change or a
// disabled account ends all of a user's sessions at once (and the desks'
// event streams with them). It knows nothing of conversations: the desk
// and the gateway use it, it uses neither.
package sessions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// TTL is how long a session lives after its last use.
const TTL = 12 * time.Hour

// EventEnded is the live-update event telling the gateways that some of a
// user's sessions ended (sign-out, password change, disabled account):
// their open event streams check their session again at once.
const EventEnded = "user.sessions_ended"

// ErrUnknown is a token that names no session (never one, or ended).
var ErrUnknown = errors.New("unknown session")

// Session is one signed-in desk.
type Session struct {
	Token string
	User  string
	CSRF  string
}

// Store reads and writes sessions.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string // of every key
	channel string // the live-update channel EventEnded goes to
	now     func() time.Time
}

// New returns the sessions under prefix, announcing ends on channel.
func New(rdb redis.UniversalClient, prefix, channel string, now func() time.Time) *Store {
	return &Store{rdb: rdb, prefix: prefix, channel: channel, now: now}
}

func (s *Store) session(token string) string { return s.prefix + "session:" + token }
func (s *Store) index(user string) string    { return s.prefix + "sessions:" + user }

// NewToken is 32 random bytes in hex: unguessable.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create signs a user in.
func (s *Store) Create(ctx context.Context, user string) (Session, error) {
	se := Session{Token: NewToken(), User: user, CSRF: NewToken()}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.session(se.Token), "user", se.User, "csrf", se.CSRF)
		p.Expire(ctx, s.session(se.Token), TTL)
		p.SAdd(ctx, s.index(user), se.Token)
		// The index outlives each session in it: every use renews both.
		p.Expire(ctx, s.index(user), TTL)
		return nil
	})
	return se, err
}

// Load returns the session of a token, renewing its lifetime; an unknown
// or ended one is ErrUnknown.
func (s *Store) Load(ctx context.Context, token string) (Session, error) {
	if len(token) != 64 {
		return Session{}, ErrUnknown
	}
	var h *redis.MapStringStringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, s.session(token))
		p.Expire(ctx, s.session(token), TTL)
		return nil
	})
	if err != nil {
		return Session{}, err
	}
	v := h.Val()
	if v["user"] == "" {
		return Session{}, ErrUnknown
	}
	if err := s.rdb.Expire(ctx, s.index(v["user"]), TTL).Err(); err != nil {
		return Session{}, err
	}
	return Session{Token: token, User: v["user"], CSRF: v["csrf"]}, nil
}

// Live reports whether a token is still a session of user, without
// renewing it: an open event stream asks this, and must not keep an idle
// session alive by itself.
func (s *Store) Live(ctx context.Context, token, user string) (bool, error) {
	got, err := s.rdb.HGet(ctx, s.session(token), "user").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil && got == user, err
}

// End signs one session out.
func (s *Store) End(ctx context.Context, se Session) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.session(se.Token))
		p.SRem(ctx, s.index(se.User), se.Token)
		p.Publish(ctx, s.channel, s.ended(se.User))
		return nil
	})
	return err
}

// EndAll signs a user out everywhere but keep (a token, or "").
func (s *Store) EndAll(ctx context.Context, user, keep string) error {
	tokens, err := s.rdb.SMembers(ctx, s.index(user)).Result()
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, t := range tokens {
			if t != keep {
				p.Del(ctx, s.session(t))
				p.SRem(ctx, s.index(user), t)
			}
		}
		p.Publish(ctx, s.channel, s.ended(user))
		return nil
	})
	return err
}

// ended is the EventEnded announcement, in the shape of every live-update
// event (type, agent, at).
func (s *Store) ended(user string) []byte {
	raw, _ := json.Marshal(struct {
		Type  string    `json:"type"`
		Agent string    `json:"agent"`
		At    time.Time `json:"at"`
	}{EventEnded, user, s.now().UTC()})
	return raw
}
