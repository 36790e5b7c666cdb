package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/users"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/sessions"
)

// Live updates: each desk holds one Server-Sent Events stream, fed by the
// gateway's Hub (one Redis subscription for all of this process's streams).
// Each desk gets only the events about what its user may see, and a stream
// lasts only as long as its session.

const (
	// pingEvery keeps proxies from closing an idle stream and notices a
	// desk that went away.
	pingEvery = 15 * time.Second
	// recheckEvery bounds how long a stream outlives its session when no
	// user event told it (a session that simply expired).
	recheckEvery = 30 * time.Second
)

func (a *api) events(c *fiber.Ctx) error {
	act := actor(c)
	se := currentSession(c)
	st, err := a.hub.open(act.ID, se.Token)
	if err != nil {
		return err
	}
	ctx := context.Background() // the stream outlives this handler
	// The stream is one of the agent's open desks: while it lasts, its
	// pings renew the desk's lease (store.DeskLease, well over pingEvery).
	deskID := sessions.NewToken()
	if err := a.svc.DeskOpened(ctx, act.ID, deskID); err != nil {
		a.hub.release(st)
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	conn := c.Context().Conn()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer a.hub.release(st)
		// The server's write timeout bounds a whole response; a stream
		// lives on, so each write gets its own deadline instead.
		alive := func() { _ = conn.SetWriteDeadline(time.Now().Add(2 * pingEvery)) }
		alive()
		// Should this fail, the lease runs out and the reconciler schedules
		// the presence check instead.
		defer func() { _ = a.svc.DeskClosed(ctx, act.ID, deskID) }()
		ping := time.NewTicker(pingEvery)
		defer ping.Stop()
		recheck := time.NewTicker(recheckEvery)
		defer recheck.Stop()
		fmt.Fprint(w, "retry: 2000\n: connected\n\n")
		if w.Flush() != nil {
			return
		}
		seen := visibility{}
		for {
			select {
			case <-st.gone:
				return
			case <-st.recheck:
				if !a.sessionLasts(ctx, st) {
					return
				}
				continue
			case <-recheck.C:
				if !a.sessionLasts(ctx, st) {
					return
				}
				continue
			case he := <-st.events:
				if !seen.visible(ctx, a.svc, act, he.event) {
					continue
				}
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", he.event.Type, he.raw)
			case <-ping.C:
				fmt.Fprint(w, ": ping\n\n")
				_ = a.svc.DeskOpened(ctx, act.ID, deskID) // a lapse is caught by the next ping
			}
			alive()
			if w.Flush() != nil {
				return // the desk went away
			}
		}
	})
	return nil
}

// sessionLasts reports whether a stream's session is still signed in and
// its user still enabled. A Redis error keeps the stream: the next check
// decides.
func (a *api) sessionLasts(ctx context.Context, st *stream) bool {
	live, err := a.svc.Sessions().Live(ctx, st.token, st.user)
	if err != nil {
		return true
	}
	if !live {
		return false
	}
	_, err = a.svc.Enabled(ctx, st.user)
	return !errors.Is(err, users.ErrBadCredentials) && !errors.Is(err, engine.ErrNotFound)
}

// visibility remembers, for one stream, whether its user may see each
// conversation that events without context named (delivery statuses,
// viewers), for a few seconds: a busy desk would otherwise look each one up
// for every event.
type visibility map[string]verdict

type verdict struct {
	ok    bool
	until time.Time
}

const visibilityTTL = 5 * time.Second

func (v visibility) visible(ctx context.Context, svc *desk.Service, a engine.Actor, e engine.Event) bool {
	if e.ConversationID == "" || (e.Kind != "" && e.Type != engine.EventViewing) {
		return svc.Visible(ctx, a, e)
	}
	now := time.Now()
	if got, ok := v[e.ConversationID]; ok && now.Before(got.until) {
		return got.ok
	}
	ok := svc.Visible(ctx, a, e)
	if len(v) > 10000 {
		clear(v)
	}
	v[e.ConversationID] = verdict{ok, now.Add(visibilityTTL)}
	return ok
}
