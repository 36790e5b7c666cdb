package desk

import (
	"context"
	"fmt"
	"slices"

	"github.com/parleydesk/parley/desk/engine"
)

// The engine's operations for agents and supervisors. Every rule is checked
// here, whatever the desk page shows.

// run carries out one operation on a conversation: load what it needs
// (Op.needs) in two round trips, the conversation and then the rest,
// decide, commit, and on a concurrent change do it all again. One settings
// snapshot serves the whole decision. The first attempt starts from the
// request's view of the conversation (view.go) when it has one, in one
// round trip; a retry follows a concurrent change, and reads it again.
func (s *Service) run(ctx context.Context, op engine.Op) (engine.Outcome, error) {
	var out engine.Outcome
	var start *engine.Conversation // nil: read it
	if v := viewOf(ctx, op.Conv); v != nil {
		start = v.conv
	}
	err := s.retry(ctx, func() error {
		w, c, err := s.opWorld(ctx, op, start)
		start = nil
		if err != nil {
			return err
		}
		seen(ctx, w, op.Conv, false)
		if out, err = engine.Decide(w, op, c); err != nil {
			return err
		}
		if err := s.commit(ctx, s.store.NewCommit(), w); err != nil {
			return err
		}
		seen(ctx, w, op.Conv, true)
		return nil
	})
	return out, err
}

// opWorld loads the world op is decided on, starting from conv when it is
// given and reading it otherwise.
func (s *Service) opWorld(ctx context.Context, op engine.Op, conv *engine.Conversation) (*engine.World, *engine.Conversation, error) {
	if conv == nil {
		var err error
		if conv, err = s.store.Conversation(ctx, op.Conv); err != nil {
			return nil, nil, err
		}
	}
	w := engine.NewWorld(s.now().UTC(), s.Rules())
	agents, depts := op.Needs(conv)
	if err := s.store.LoadWorld(ctx, w, conv.Contact, agents, depts); err != nil {
		return nil, nil, err
	}
	// The contact's copy of the conversation, read second, may have moved
	// on (another assignee): whatever it needs besides is loaded too.
	c := w.Track(conv)
	more, moreDepts := op.Needs(c)
	for _, id := range more {
		if !slices.Contains(agents, id) {
			if err := s.store.LoadAgent(ctx, w, id); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, d := range moreDepts {
		if err := s.store.LoadDepartment(ctx, w, d); err != nil {
			return nil, nil, err
		}
	}
	return w, c, nil
}

// Reply sends an agent's message (decideReply).
func (s *Service) Reply(ctx context.Context, a engine.Actor, convID string, r engine.Reply) (engine.Message, error) {
	out, err := s.run(ctx, engine.Op{Kind: engine.OpReply, Actor: a, Conv: convID, Reply: r})
	return out.Message, err
}

// Flag marks a chat to follow up, or unmarks it (decideFlag).
func (s *Service) Flag(ctx context.Context, a engine.Actor, chatID string, flagged bool) error {
	_, err := s.run(ctx, engine.Op{Kind: engine.OpFlag, Actor: a, Conv: chatID, Flagged: flagged})
	return err
}

// MarkPending parks a live chat (decidePending).
func (s *Service) MarkPending(ctx context.Context, a engine.Actor, chatID string) error {
	_, err := s.run(ctx, engine.Op{Kind: engine.OpPending, Actor: a, Conv: chatID})
	return err
}

// Close closes a chat or a ticket, whichever the id names, with the closing
// form (decideCloseChat, decideCloseTicket).
func (s *Service) Close(ctx context.Context, a engine.Actor, convID string, f engine.CloseForm) error {
	c, err := s.Current(ctx, convID)
	if err != nil {
		return err
	}
	if c.Kind == engine.KindTicket {
		return s.CloseTicket(ctx, a, convID, f)
	}
	return s.CloseChat(ctx, a, convID, f)
}

// CloseChat ends a live or pending chat (decideCloseChat).
func (s *Service) CloseChat(ctx context.Context, a engine.Actor, chatID string, f engine.CloseForm) error {
	_, err := s.run(ctx, engine.Op{Kind: engine.OpCloseChat, Actor: a, Conv: chatID, Form: f})
	return err
}

// Reopen makes a closed chat live again with a first message
// (decideReopen); to names the agent who takes it when a supervisor asks.
func (s *Service) Reopen(ctx context.Context, a engine.Actor, chatID, to string, r engine.Reply) (engine.Message, error) {
	out, err := s.run(ctx, engine.Op{Kind: engine.OpReopen, Actor: a, Conv: chatID, To: to, Reply: r})
	return out.Message, err
}

// Transfer moves a chat to another agent (decideTransfer).
func (s *Service) Transfer(ctx context.Context, a engine.Actor, chatID string, to engine.Target) error {
	if to.Department == "" && to.Agent == "" {
		return fmt.Errorf("%w: name a department or an agent", engine.ErrInvalid)
	}
	_, err := s.run(ctx, engine.Op{Kind: engine.OpTransfer, Actor: a, Conv: chatID, Target: to})
	return err
}

// AcceptTicket assigns an unassigned ticket to the agent (decideAccept).
func (s *Service) AcceptTicket(ctx context.Context, a engine.Actor, ticketID string) error {
	_, err := s.run(ctx, engine.Op{Kind: engine.OpAccept, Actor: a, Conv: ticketID})
	return err
}

// QuickAccept assigns the agent the n oldest unassigned tickets of their
// departments, oldest first, whatever the desk's filters, in one atomic
// write: none is assigned twice. It returns the ids taken, fewer than n
// when fewer wait.
func (s *Service) QuickAccept(ctx context.Context, a engine.Actor, n int) ([]string, error) {
	if n < 1 || n > 100 {
		return nil, fmt.Errorf("%w: quick accept takes 1 to 100 tickets", engine.ErrInvalid)
	}
	var taken []string
	err := s.retry(ctx, func() error {
		agent, err := s.store.Agent(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("%w: unknown agent %s", engine.ErrNotAllowed, a.ID)
		}
		w := engine.NewWorld(s.now().UTC(), s.Rules())
		depts := agent.Departments
		if len(w.Rules.Departments) == 0 {
			depts = []string{w.Rules.DefaultDepartment}
		}
		ids, err := s.store.OldestUnassigned(ctx, depts, n)
		if err != nil {
			return err
		}
		w.Contact = &engine.Contact{} // tickets keep their contacts' pointers: no contact changes
		w.TrackAgent(agent)
		tickets := make([]*engine.Conversation, 0, len(ids))
		for _, id := range ids {
			c, err := s.store.Conversation(ctx, id)
			if err != nil {
				return err
			}
			tickets = append(tickets, w.Track(c))
		}
		if taken, err = engine.DecideQuickAccept(w, a, tickets); err != nil || len(taken) == 0 {
			return err
		}
		return s.commit(ctx, s.store.NewCommit(), w)
	})
	return taken, err
}

// CloseTicket closes an assigned ticket (decideCloseTicket).
func (s *Service) CloseTicket(ctx context.Context, a engine.Actor, ticketID string, f engine.CloseForm) error {
	_, err := s.run(ctx, engine.Op{Kind: engine.OpCloseTicket, Actor: a, Conv: ticketID, Form: f})
	return err
}

// ReachOut writes to the contact of a closed conversation again, in a new
// closed chat whose id it returns (decideReachOut).
func (s *Service) ReachOut(ctx context.Context, a engine.Actor, convID string, r engine.Reply) (string, error) {
	out, err := s.run(ctx, engine.Op{Kind: engine.OpReachOut, Actor: a, Conv: convID, Reply: r})
	return out.ID, err
}
