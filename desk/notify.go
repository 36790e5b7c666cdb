package desk

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"
)

// notificationsKept is how many notifications an agent's bell remembers.
const notificationsKept = 200

func (k keys) notifications(agent string) string { return k.prefix + "notif:" + agent }
func (k keys) unread(agent string) string        { return k.prefix + "notif:" + agent + ":unread" }
func (k keys) viewers(conv string) string        { return k.prefix + "viewers:" + conv }

// Notifications returns an agent's notifications, newest first, and how many
// are unread.
func (s *Service) Notifications(ctx context.Context, agent string) ([]engine.Notification, int, error) {
	raws, err := s.store.rdb.LRange(ctx, s.store.keys.notifications(agent), 0, -1).Result()
	if err != nil {
		return nil, 0, err
	}
	out := make([]engine.Notification, 0, len(raws))
	for _, raw := range raws {
		var n engine.Notification
		if json.Unmarshal([]byte(raw), &n) == nil {
			out = append(out, n)
		}
	}
	unread, err := s.store.rdb.Get(ctx, s.store.keys.unread(agent)).Int()
	if err != nil && err != redis.Nil {
		return nil, 0, err
	}
	return out, unread, nil
}

// MarkNotificationsRead clears an agent's unread count.
func (s *Service) MarkNotificationsRead(ctx context.Context, agent string) error {
	t := newTx()
	t.do("DEL", s.store.keys.unread(agent))
	return t.commit(ctx, s.store.rdb)
}

// viewingTTL is how long one "I am looking at this" lasts; the desk renews it.
const viewingTTL = 20 * time.Second

// Viewer is someone looking at a conversation now.
type Viewer struct {
	Agent  string `json:"agent"`
	Typing bool   `json:"typing"`
}

// Viewing records that the actor is looking at (or typing in) a
// conversation they can see, and tells the others looking at it.
func (s *Service) Viewing(ctx context.Context, a engine.Actor, convID string, typing bool) error {
	c, err := s.Open(ctx, a, convID)
	if err != nil {
		return err
	}
	now := s.now()
	member := a.ID
	if typing {
		member += ":typing"
	}
	key := s.store.keys.viewers(convID)
	ev := engine.Event{Type: engine.EventViewing, ConversationID: convID, Agent: a.ID, Typing: typing, Assignee: c.Assignee,
		Kind: string(c.Kind), State: string(c.State), Department: c.Department, At: now.UTC()}
	t := newTx()
	t.do("ZREM", key, a.ID, a.ID+":typing")
	t.do("ZADD", key, ms(now.Add(viewingTTL)), member)
	t.do("ZREMRANGEBYSCORE", key, "-inf", ms(now))
	t.do("PEXPIRE", key, strconv.FormatInt(viewingTTL.Milliseconds(), 10))
	t.publish(s.store.keys.events(), encodeEvent(ev))
	return t.commit(ctx, s.store.rdb)
}

// Viewers lists who is looking at a conversation now.
func (s *Service) Viewers(ctx context.Context, convID string) ([]Viewer, error) {
	members, err := s.store.rdb.ZRangeByScore(ctx, s.store.keys.viewers(convID), &redis.ZRangeBy{
		Min: strconv.FormatInt(s.now().UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, err
	}
	out := []Viewer{}
	for _, m := range members {
		id, typing := m, false
		if len(m) > 7 && m[len(m)-7:] == ":typing" {
			id, typing = m[:len(m)-7], true
		}
		out = append(out, Viewer{Agent: id, Typing: typing})
	}
	return out, nil
}

// Visible reports whether a live-update event concerns the actor, so the
// event stream sends each desk only what it may see.
func (s *Service) Visible(ctx context.Context, a engine.Actor, e engine.Event) bool {
	if a.Supervises() {
		return true
	}
	if e.ConversationID != "" && (e.Kind == "" || e.Type == engine.EventViewing) {
		// Delivery-status events carry no context, and who may see a
		// viewer depends on mentions too: look the conversation up.
		c, err := s.store.Conversation(ctx, e.ConversationID)
		if err != nil {
			return false
		}
		ok, err := s.CanSee(ctx, a, c)
		return err == nil && ok
	}
	switch {
	case e.Assignee == a.ID, e.Was == a.ID, e.Type == engine.EventAgent && e.Agent == a.ID:
		return true
	case e.Type == engine.EventComment:
		for _, m := range e.Mentions {
			if m == a.ID {
				return true
			}
		}
	case e.Kind == string(engine.KindTicket) && (e.State == string(engine.StateUnassigned) || e.State == string(engine.StateClosed)):
		if e.State == string(engine.StateClosed) {
			return true
		}
		depts, err := s.departmentsOf(ctx, a)
		if err != nil {
			return false
		}
		for _, d := range depts {
			if d == e.Department {
				return true
			}
		}
	}
	return false
}
