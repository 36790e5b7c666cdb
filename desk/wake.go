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
		if errors.Is(err, engine.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		due := engine.DueAt(conv)
		if due.IsZero() {
			return nil
		}
		if due.After(s.now()) {
			// Early: the deadline moved later since this job was scheduled.
			// Schedule the next one, unless one is already due by then.
			w := engine.NewWorld(s.now().UTC(), s.Rules())
			w.Contact = &engine.Contact{}
			w.Track(conv)
			return s.commit(ctx, s.store.NewCommit(), w)
		}
		w := engine.NewWorld(s.now().UTC(), s.Rules())
		agents, depts := engine.WakeNeeds(conv)
		if err := s.store.LoadWorld(ctx, w, conv.Contact, agents, depts); err != nil {
			return err
		}
		c := w.Track(conv)
		if c.Version != conv.Version {
			return engine.ErrConflict // the contact's copy is newer: load again
		}
		if at, ok := c.Deadlines[engine.TimerPurge]; ok && !at.After(s.now()) {
			return s.store.Purge(ctx, c)
		}
		w.OnTimers(c)
		return s.commit(ctx, s.store.NewCommit(), w)
	})
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
		id, err := s.store.OldestQueued(ctx, dept)
		if err != nil || id == "" {
			return err
		}
		conv, err := s.store.Conversation(ctx, id)
		if err != nil {
			return err
		}
		w := engine.NewWorld(s.now().UTC(), s.Rules())
		if err := s.store.LoadWorld(ctx, w, conv.Contact, nil, []string{dept}); err != nil {
			return err
		}
		c := w.Track(conv)
		if c.State != engine.StateQueued {
			return engine.ErrConflict // moved on since it was listed
		}
		if !w.Route(c, w.Conversation(w.Contact.Ticket)) {
			return nil
		}
		routed = true
		clear(w.Freed) // this loop is the drain; no recursion
		return s.commit(ctx, s.store.NewCommit(), w)
	})
	return routed, err
}

// settleDue drops a due-set entry whose job has nothing more to do.
func (s *Service) settleDue(ctx context.Context, member string) error {
	return s.store.DropDue(ctx, member)
}
