package desk

import (
	"context"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

// Notifications returns an agent's notifications, newest first, and how many
// are unread.
func (s *Service) Notifications(ctx context.Context, agent string) ([]engine.Notification, int, error) {
	return s.store.Notifications(ctx, agent)
}

// MarkNotificationsRead clears an agent's unread count.
func (s *Service) MarkNotificationsRead(ctx context.Context, agent string) error {
	return s.store.MarkNotificationsRead(ctx, agent)
}

// Viewing records that the actor is looking at (or typing in) a
// conversation they can see, and tells the others looking at it.
func (s *Service) Viewing(ctx context.Context, a engine.Actor, convID string, typing bool) error {
	c, err := s.Open(ctx, a, convID)
	if err != nil {
		return err
	}
	now := s.now()
	ev := engine.Event{Type: engine.EventViewing, ConversationID: convID, Agent: a.ID, Typing: typing, Assignee: c.Assignee,
		Kind: string(c.Kind), State: string(c.State), Department: c.Department, At: now.UTC()}
	return s.store.RecordViewer(ctx, convID, a.ID, typing, now, ev)
}

// Viewers lists who is looking at a conversation now.
func (s *Service) Viewers(ctx context.Context, convID string) ([]store.Viewer, error) {
	return s.store.Viewers(ctx, convID, s.now())
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
