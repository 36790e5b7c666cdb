package desk

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
)

// Each contact has an outbox: the ids of its outbound messages in the
// order their decisions committed (the commit that makes a message pushes
// it, in the same script). One send job at a time works a contact's
// outbox from its head: it claims the head (a token and a lease on the
// message) before calling the provider, records the answer and pops the
// head in one script, and goes on to the next. So a contact's texts reach
// the provider in commit order, one in flight at a time, and neither a
// second job, a retry nor the reconciler can send a message out of turn or
// twice: a job that finds the head claimed leaves it to its holder.
//
// The one send that can still go twice is a crash between the provider
// accepting a message and the answer being recorded, when no status
// callback has named the message either: once the claim's lease runs out,
// the message is sent again. Nothing on this side can tell that send from
// one that never left.

// DeliverOutbox is the body of a send job: it sends a contact's queued
// messages in order until the outbox is empty, its head waits for a retry,
// or another job holds it. A temporary provider error sets the head's next
// attempt (its back-off) and schedules a job for it; the contact's other
// messages wait behind it, other contacts' do not. A permanent error, or a
// temporary one past the last attempt, marks the head failed with the
// provider's code, and the next message goes. The error returned is
// Redis's: the job is retried.
func (s *Service) DeliverOutbox(ctx context.Context, a channels.Address) error {
	for {
		now := s.now()
		c, err := s.store.ClaimHead(ctx, a, engine.NewID(), now, s.sends.Lease)
		if err != nil || c == nil {
			return err
		}
		if c.Reclaimed {
			s.log.Warn().Str("message", c.Msg.ID).Msg("sending again a message whose earlier send was cut off; the provider may have had it")
		}
		if err := s.sendClaimed(ctx, c); err != nil {
			return err
		}
	}
}

// sendClaimed sends one claimed message and records the outcome.
func (s *Service) sendClaimed(ctx context.Context, c *store.Claimed) error {
	m := c.Msg
	// The rules are checked again: the window may have closed, or the
	// contact opted out, while the message waited.
	if err := engine.CheckSend(m.To, m.Template != nil, &c.Contact, s.now()); err != nil {
		code := "template_required"
		switch {
		case errors.Is(err, channels.ErrOptedOut):
			code = "opted_out"
		case errors.Is(err, channels.ErrUnreachable):
			code = "unreachable"
		}
		return s.settleFailed(ctx, c, code, err.Error())
	}
	// An approval withdrawn while the message waited stops it too.
	if err := engine.CheckTemplate(s.Rules(), m.Template); err != nil {
		return s.settleFailed(ctx, c, "template_not_approved", err.Error())
	}
	out := channels.Outbound{ID: m.ID, To: m.To, Body: m.Body, Template: m.Template}
	for _, md := range m.Media {
		out.MediaURLs = append(out.MediaURLs, md.URL)
	}
	s.withQuickReply(ctx, m, &out)
	// The call ends well inside the claim's lease, so no other job can take
	// the message over while the provider may still accept it.
	callCtx, cancel := context.WithTimeout(ctx, s.sends.Lease*2/3)
	receipt, err := s.provider.Send(callCtx, out)
	cancel()
	if err == nil {
		return s.settleSent(ctx, c, receipt)
	}
	if channels.IsTemporary(err) && c.Tries < s.sends.Retries {
		now := s.now()
		next := now.Add(Backoff(s.sends.RetryBase, c.Tries))
		if _, err := s.store.Settle(ctx, c, "retry", now, nil, next.UnixMilli(), c.Tries+1); err != nil {
			return err
		}
		key := "try" + strconv.Itoa(c.Tries+1) + ":" + m.ID
		if err := s.dispatch.DispatchSend(ctx, m.To, key, next); err != nil {
			s.log.Warn().Err(err).Str("message", m.ID).Msg("send retry not scheduled; the reconciler will")
		}
		return nil
	}
	code := "send_error"
	var se *channels.SendError
	if errors.As(err, &se) && se.Code != 0 {
		code = strconv.Itoa(se.Code)
		if err := s.learnFromError(ctx, m.To, se.Code); err != nil {
			return err
		}
	}
	return s.settleFailed(ctx, c, code, err.Error())
}

func (s *Service) settleFailed(ctx context.Context, c *store.Claimed, code, reason string) error {
	now := s.now()
	ev := &engine.Event{Type: engine.EventMessageStatus, ConversationID: c.Msg.ConversationID, MessageID: c.Msg.ID, Status: string(channels.StatusFailed), At: now}
	_, err := s.store.Settle(ctx, c, "failed", now, ev, code, reason)
	if err == nil {
		s.log.Warn().Str("message", c.Msg.ID).Str("code", code).Msg("send failed")
	}
	return err
}

// settleSent records a send the provider accepted. Redis failing just then
// would leave the message to be sent again once its claim lapses, so the
// write is tried a few times before the job gives up.
func (s *Service) settleSent(ctx context.Context, c *store.Claimed, r channels.Receipt) error {
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		now := s.now()
		ev := &engine.Event{Type: engine.EventMessageStatus, ConversationID: c.Msg.ConversationID, MessageID: c.Msg.ID, Status: string(r.Status), At: now}
		if _, err = s.store.Settle(ctx, c, "sent", now, ev, r.SID, string(r.Status), store.SIDTTL.Milliseconds()); err == nil {
			return nil
		}
	}
	return err
}

// Backoff is the wait before retry number retried+1 of a send: base,
// doubling each time, at most five minutes.
func Backoff(base time.Duration, retried int) time.Duration {
	d := base
	for range retried {
		d *= 2
		if d >= 5*time.Minute {
			return 5 * time.Minute
		}
	}
	return d
}
