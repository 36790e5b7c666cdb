package desk

import (
	"context"
	"strconv"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
)

// Send queues a message on a conversation, as an operator or Parley itself
// (agents use Reply, which also enforces who may write). The channel rules
// are checked first (opt-out, WhatsApp's 24-hour window); the message is
// written as queued and joins its contact's outbox in the same atomic
// write, then a send job is enqueued. Should the process die before the
// enqueue, the reconciler enqueues it from the outbox's due entry.
func (s *Service) Send(ctx context.Context, convID string, r engine.Reply) (engine.Message, error) {
	var m engine.Message
	err := s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, convID)
		if err != nil {
			return err
		}
		if m, err = w.Reply(c, r); err != nil {
			return err
		}
		return s.commit(ctx, s.store.NewCommit(), w)
	})
	return m, err
}

// convWorld loads a conversation with its contact's world.
func (s *Service) convWorld(ctx context.Context, convID string) (*engine.World, *engine.Conversation, error) {
	conv, err := s.store.Conversation(ctx, convID)
	if err != nil {
		return nil, nil, err
	}
	w, err := s.contactWorld(ctx, conv.Contact)
	if err != nil {
		return nil, nil, err
	}
	return w, w.Track(conv), nil
}

// SetOptedOut records a contact's subscription.
func (s *Service) SetOptedOut(ctx context.Context, a channels.Address, out bool) error {
	return s.updateContact(ctx, a, func(c *engine.Contact) bool {
		changed := c.OptedOut != out
		c.OptedOut = out
		return changed
	})
}

// updateContact changes a contact with change, which says whether it
// changed anything.
func (s *Service) updateContact(ctx context.Context, a channels.Address, change func(*engine.Contact) bool) error {
	return s.retry(ctx, func() error {
		w, err := s.contactWorld(ctx, a)
		if err != nil {
			return err
		}
		if !change(w.Contact) {
			return nil
		}
		w.TouchContact()
		return s.commit(ctx, s.store.NewCommit(), w)
	})
}

// learnFromError carries out what a delivery error code tells about the
// contact (channels.ExplainError): an opt-out, a closed WhatsApp window, a
// number that cannot receive messages.
func (s *Service) learnFromError(ctx context.Context, a channels.Address, code int) error {
	_, action := channels.ExplainError(strconv.Itoa(code))
	now := s.now().UTC()
	switch action {
	case channels.ActionOptOut:
		return s.SetOptedOut(ctx, a, true)
	case channels.ActionCloseWindow:
		return s.updateContact(ctx, a, func(c *engine.Contact) bool { c.WindowClosedAt = now; return true })
	case channels.ActionUnreachable:
		return s.updateContact(ctx, a, func(c *engine.Contact) bool { c.UnreachableAt = now; return true })
	}
	return nil
}

const (
	StatusApplied store.StatusOutcome = "applied" // the message moved forward
	StatusStale   store.StatusOutcome = "stale"   // older than what is stored: ignored
	StatusEarly   store.StatusOutcome = "early"   // SID not recorded yet: kept for it
)

// ApplyStatus records a delivery callback. Statuses never go backwards; a
// failure keeps its error code, and what the code tells about the contact
// is recorded (learnFromError).
func (s *Service) ApplyStatus(ctx context.Context, u channels.StatusUpdate) (store.StatusOutcome, error) {
	ev := engine.Event{Type: engine.EventMessageStatus, Status: string(u.Status), At: s.now().UTC()}
	outcome, contact, err := s.store.ApplyStatus(ctx, u, ev)
	if err != nil {
		return "", err
	}
	if u.ErrorCode != 0 && contact != "" {
		return outcome, s.learnFromError(ctx, contact, u.ErrorCode)
	}
	return outcome, nil
}
