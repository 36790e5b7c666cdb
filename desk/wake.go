package desk

import (
	"context"
	"errors"

	"github.com/parleydesk/parley/desk/engine"
)

// Wake applies a conversation's due deadlines; it is the body of the
// conversation's wake-up job. The deadlines are read from the stored
// conversation, so a job for a deadline that has since moved or gone does
// nothing, and a job that runs twice acts once.
func (s *Service) Wake(ctx context.Context, convID string) error {
	return s.retry(ctx, func() error {
		conv, err := s.store.Conversation(ctx, convID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		due := dueAt(conv)
		if due.IsZero() {
			return nil
		}
		if due.After(s.now()) {
			// Early: the deadline moved later since this job was scheduled.
			// Schedule the next one, unless one is already due by then.
			w := newWorld(s.now().UTC(), s.Rules())
			w.contact = &engine.Contact{}
			w.track(conv)
			return s.commit(ctx, newTx(), w)
		}
		w := newWorld(s.now().UTC(), s.Rules())
		agents, depts := wakeNeeds(conv)
		if err := s.store.loadWorld(ctx, w, conv.Contact, agents, depts); err != nil {
			return err
		}
		c := w.track(conv)
		if c.Version != conv.Version {
			return errConflict // the contact's copy is newer: load again
		}
		if at, ok := c.Deadlines[TimerPurge]; ok && !at.After(s.now()) {
			return s.purge(ctx, c)
		}
		w.onTimers(c)
		return s.commit(ctx, newTx(), w)
	})
}

// wakeNeeds is what the timers of c read besides its contact: re-routing,
// conversion and a quiet bot's hand-off move chats between agents, so the
// chat's agent and its department come along.
func wakeNeeds(c *engine.Conversation) (agents, depts []string) {
	if c.State == engine.StateLive || c.State == engine.StateQueued || c.State == engine.StateBot {
		return []string{c.Assignee}, []string{c.Department}
	}
	return nil, nil
}

// drain routes a department's queued chats, oldest first, while it has
// available agents. It is called whenever an agent may have got room; the
// reconciler calls it too, so a missed call only delays a chat.
func (s *Service) drain(ctx context.Context, dept string) {
	for {
		routed, err := s.routeOldest(ctx, dept)
		if err != nil {
			s.log.Warn().Err(err).Str("department", dept).Msg("routing the queue failed")
			return
		}
		if !routed {
			return
		}
	}
}

// Drain routes every department's queue; the reconciler calls it.
func (s *Service) Drain(ctx context.Context) {
	for _, d := range s.Rules().DepartmentIDs() {
		s.drain(ctx, d)
	}
}

func (s *Service) routeOldest(ctx context.Context, dept string) (bool, error) {
	routed := false
	err := s.retry(ctx, func() error {
		routed = false
		ids, err := s.store.rdb.ZRange(ctx, s.store.keys.queue(dept), 0, 0).Result()
		if err != nil || len(ids) == 0 {
			return err
		}
		conv, err := s.store.Conversation(ctx, ids[0])
		if err != nil {
			return err
		}
		w := newWorld(s.now().UTC(), s.Rules())
		if err := s.store.loadWorld(ctx, w, conv.Contact, nil, []string{dept}); err != nil {
			return err
		}
		c := w.track(conv)
		if c.State != engine.StateQueued {
			return errConflict // moved on since it was listed
		}
		if !w.route(c, w.conversation(w.contact.Ticket)) {
			return nil
		}
		routed = true
		clear(w.freed) // this loop is the drain; no recursion
		return s.commit(ctx, newTx(), w)
	})
	return routed, err
}
