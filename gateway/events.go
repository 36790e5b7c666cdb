package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/desk"
)

// Live updates: each desk holds one Server-Sent Events stream. Events come
// from Redis pub/sub, so a desk on any gateway sees a change made through
// any other; each desk gets only the events about what its user may see.

// pingEvery keeps proxies from closing an idle stream and notices a desk
// that went away.
const pingEvery = 15 * time.Second

// presenceGrace is how long an agent may have no desk open (a reload, a
// lost connection) before they stop getting chats.
const presenceGrace = 60 * time.Second

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
	a.streamOpened(ctx, act.ID)
	conn := c.Context().Conn()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		// The server's write timeout bounds a whole response; a stream
		// lives on, so each write gets its own deadline instead.
		alive := func() { _ = conn.SetWriteDeadline(time.Now().Add(2 * pingEvery)) }
		alive()
		defer sub.Close()
		defer a.streamClosed(act.ID)
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

func (a *api) streamsKey(agent string) string { return a.sessions.prefix + "streams:" + agent }

func (a *api) streamOpened(ctx context.Context, agent string) {
	a.rdb.Incr(ctx, a.streamsKey(agent))
}

// streamClosed counts a desk tab gone; when the agent has none left for
// the grace period, they are set offline so routing skips them.
func (a *api) streamClosed(agent string) {
	ctx := context.Background()
	if n, err := a.rdb.Decr(ctx, a.streamsKey(agent)).Result(); err != nil || n > 0 {
		return
	}
	time.AfterFunc(presenceGrace, func() {
		n, err := a.rdb.Get(ctx, a.streamsKey(agent)).Int()
		if (err == nil && n > 0) || (err != nil && err != redis.Nil) {
			return
		}
		ag, err := a.svc.Store().Agent(ctx, agent)
		if err != nil || ag.Presence == desk.Offline {
			return
		}
		_ = a.svc.SetPresence(ctx, agent, desk.Offline, false)
	})
}
