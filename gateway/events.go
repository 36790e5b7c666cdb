package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/desk"
)

// Live updates: each desk holds one Server-Sent Events stream. Events come
// from Redis pub/sub, so a desk on any gateway sees a change made through
// any other; each desk gets only the events about what its user may see.

// pingEvery keeps proxies from closing an idle stream and notices a desk
// that went away.
const pingEvery = 15 * time.Second

func (a *api) events(c *fiber.Ctx) error {
	act := actor(c)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	ctx := context.Background() // the stream outlives this handler
	sub := a.rdb.Subscribe(ctx, a.svc.Store().Events())
	if _, err := sub.Receive(ctx); err != nil { // wait until subscribed
		sub.Close()
		return err
	}
	// The stream is one of the agent's open desks: while it lasts, its
	// pings renew the desk's lease (desk.DeskLease, well over pingEvery).
	deskID := desk.NewToken()
	if err := a.svc.DeskOpened(ctx, act.ID, deskID); err != nil {
		sub.Close()
		return err
	}
	conn := c.Context().Conn()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		// The server's write timeout bounds a whole response; a stream
		// lives on, so each write gets its own deadline instead.
		alive := func() { _ = conn.SetWriteDeadline(time.Now().Add(2 * pingEvery)) }
		alive()
		defer sub.Close()
		// Should this fail, the lease runs out and the reconciler schedules
		// the presence check instead.
		defer func() { _ = a.svc.DeskClosed(ctx, act.ID, deskID) }()
		ping := time.NewTicker(pingEvery)
		defer ping.Stop()
		fmt.Fprint(w, "retry: 2000\n: connected\n\n")
		if w.Flush() != nil {
			return
		}
		msgs := sub.Channel()
		seen := visibility{}
		for {
			select {
			case msg, ok := <-msgs:
				if !ok {
					return
				}
				var e desk.Event
				if json.Unmarshal([]byte(msg.Payload), &e) != nil || !seen.visible(ctx, a.svc, act, e) {
					continue
				}
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, msg.Payload)
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

func (v visibility) visible(ctx context.Context, svc *desk.Service, a desk.Actor, e desk.Event) bool {
	if e.ConversationID == "" || (e.Kind != "" && e.Type != desk.EventViewing) {
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
