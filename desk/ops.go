package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/parleydesk/parley/desk/engine"
)

// The engine's operations for agents and supervisors. Every rule is checked
// here, whatever the desk page shows.

var (
	// ErrNotAllowed: the actor may not do this to this conversation.
	ErrNotAllowed = errors.New("not allowed")
	// ErrWrongState: the conversation is not in a state this applies to.
	ErrWrongState = errors.New("not possible in the conversation's current state")
	// ErrNoAgentAvailable: no agent of the target can take a chat now.
	ErrNoAgentAvailable = errors.New("no agent is online and available")
	// ErrTicketTransfer: tickets stay with the agent who accepted them.
	ErrTicketTransfer = errors.New("tickets cannot be transferred between agents")
	// ErrReplyFirst: a ticket is closed only after an agent answered it.
	ErrReplyFirst = errors.New("reply to the customer before closing the ticket")
)

// Actor is who asks for an operation.
type Actor struct {
	ID   string
	Role string
}

// Supervises reports whether the actor is a supervisor or an admin.
func (a Actor) Supervises() bool { return a.Role == "supervisor" || a.Role == "admin" }

// run carries out one operation on a conversation: load what it needs
// (Op.needs) in two round trips, the conversation and then the rest,
// decide, commit, and on a concurrent change do it all again. One settings
// snapshot serves the whole decision. The first attempt starts from the
// request's view of the conversation (view.go) when it has one, in one
// round trip; a retry follows a concurrent change, and reads it again.
func (s *Service) run(ctx context.Context, op Op) (Outcome, error) {
	var out Outcome
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
		if out, err = decide(w, op, c); err != nil {
			return err
		}
		if err := s.commit(ctx, newTx(), w); err != nil {
			return err
		}
		seen(ctx, w, op.Conv, true)
		return nil
	})
	return out, err
}

// opWorld loads the world op is decided on, starting from conv when it is
// given and reading it otherwise.
func (s *Service) opWorld(ctx context.Context, op Op, conv *engine.Conversation) (*world, *engine.Conversation, error) {
	if conv == nil {
		var err error
		if conv, err = s.store.Conversation(ctx, op.Conv); err != nil {
			return nil, nil, err
		}
	}
	w := newWorld(s.now().UTC(), s.Rules())
	agents, depts := op.needs(conv)
	if err := s.store.loadWorld(ctx, w, conv.Contact, agents, depts); err != nil {
		return nil, nil, err
	}
	// The contact's copy of the conversation, read second, may have moved
	// on (another assignee): whatever it needs besides is loaded too.
	c := w.track(conv)
	more, moreDepts := op.needs(c)
	for _, id := range more {
		if !slices.Contains(agents, id) {
			if err := s.store.loadAgent(ctx, w, id); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, d := range moreDepts {
		if err := s.store.loadDepartment(ctx, w, d); err != nil {
			return nil, nil, err
		}
	}
	return w, c, nil
}

// Reply sends an agent's message (decideReply).
func (s *Service) Reply(ctx context.Context, a Actor, convID string, r Reply) (engine.Message, error) {
	out, err := s.run(ctx, Op{Kind: OpReply, Actor: a, Conv: convID, Reply: r})
	return out.Message, err
}

// Flag marks a chat to follow up, or unmarks it (decideFlag).
func (s *Service) Flag(ctx context.Context, a Actor, chatID string, flagged bool) error {
	_, err := s.run(ctx, Op{Kind: OpFlag, Actor: a, Conv: chatID, Flagged: flagged})
	return err
}

// MarkPending parks a live chat (decidePending).
func (s *Service) MarkPending(ctx context.Context, a Actor, chatID string) error {
	_, err := s.run(ctx, Op{Kind: OpPending, Actor: a, Conv: chatID})
	return err
}

// Sentiments an agent records on closing a chat.
var Sentiments = []string{"positive", "neutral", "negative"}

// CloseForm is what an agent records when closing a chat.
type CloseForm struct {
	Sentiment string   `json:"sentiment"`
	Notes     string   `json:"notes"`
	Tag       string   `json:"tag"`
	Refs      []string `json:"refs"`
}

// closure is an agent's close, as recorded.
func (f CloseForm) closure(agent string) engine.Closure {
	return engine.Closure{By: agent, Reason: engine.ReasonAgent, Sentiment: f.Sentiment, Notes: f.Notes, Tag: f.Tag, Refs: f.Refs}
}

// Close closes a chat or a ticket, whichever the id names, with the closing
// form (decideCloseChat, decideCloseTicket).
func (s *Service) Close(ctx context.Context, a Actor, convID string, f CloseForm) error {
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
func (s *Service) CloseChat(ctx context.Context, a Actor, chatID string, f CloseForm) error {
	_, err := s.run(ctx, Op{Kind: OpCloseChat, Actor: a, Conv: chatID, Form: f})
	return err
}

// Reopen makes a closed chat live again with a first message
// (decideReopen); to names the agent who takes it when a supervisor asks.
func (s *Service) Reopen(ctx context.Context, a Actor, chatID, to string, r Reply) (engine.Message, error) {
	out, err := s.run(ctx, Op{Kind: OpReopen, Actor: a, Conv: chatID, To: to, Reply: r})
	return out.Message, err
}

// Target is where a chat is transferred: a department (its best available
// agent), an agent within a department, or any agent.
type Target struct {
	Department string `json:"department"`
	Agent      string `json:"agent"`
}

// Transfer moves a chat to another agent (decideTransfer).
func (s *Service) Transfer(ctx context.Context, a Actor, chatID string, to Target) error {
	if to.Department == "" && to.Agent == "" {
		return fmt.Errorf("%w: name a department or an agent", ErrInvalid)
	}
	_, err := s.run(ctx, Op{Kind: OpTransfer, Actor: a, Conv: chatID, Target: to})
	return err
}

// AcceptTicket assigns an unassigned ticket to the agent (decideAccept).
func (s *Service) AcceptTicket(ctx context.Context, a Actor, ticketID string) error {
	_, err := s.run(ctx, Op{Kind: OpAccept, Actor: a, Conv: ticketID})
	return err
}

// QuickAccept assigns the agent the n oldest unassigned tickets of their
// departments, oldest first, whatever the desk's filters, in one atomic
// write: none is assigned twice. It returns the ids taken, fewer than n
// when fewer wait.
func (s *Service) QuickAccept(ctx context.Context, a Actor, n int) ([]string, error) {
	if n < 1 || n > 100 {
		return nil, fmt.Errorf("%w: quick accept takes 1 to 100 tickets", ErrInvalid)
	}
	var taken []string
	err := s.retry(ctx, func() error {
		agent, err := s.store.Agent(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("%w: unknown agent %s", ErrNotAllowed, a.ID)
		}
		w := newWorld(s.now().UTC(), s.Rules())
		depts := agent.Departments
		if len(w.rules.Departments) == 0 {
			depts = []string{w.rules.DefaultDepartment}
		}
		ids, err := s.store.oldestUnassigned(ctx, depts, n)
		if err != nil {
			return err
		}
		w.contact = &engine.Contact{} // tickets keep their contacts' pointers: no contact changes
		w.trackAgent(agent)
		tickets := make([]*engine.Conversation, 0, len(ids))
		for _, id := range ids {
			c, err := s.store.Conversation(ctx, id)
			if err != nil {
				return err
			}
			tickets = append(tickets, w.track(c))
		}
		if taken, err = decideQuickAccept(w, a, tickets); err != nil || len(taken) == 0 {
			return err
		}
		return s.commit(ctx, newTx(), w)
	})
	return taken, err
}

// oldestUnassigned lists the ids of the n oldest unassigned tickets of the
// departments, oldest first (by id on a tie).
func (s *Store) oldestUnassigned(ctx context.Context, depts []string, n int) ([]string, error) {
	type cand struct {
		id    string
		score float64
	}
	var cands []cand
	for _, d := range depts {
		zs, err := s.rdb.ZRangeWithScores(ctx, s.keys.index("tickets:unassigned:"+d), 0, int64(n-1)).Result()
		if err != nil {
			return nil, err
		}
		for _, z := range zs {
			cands = append(cands, cand{z.Member.(string), z.Score})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score < cands[j].score
		}
		return cands[i].id < cands[j].id
	})
	ids := make([]string, 0, min(n, len(cands)))
	for i := 0; i < len(cands) && i < n; i++ {
		ids = append(ids, cands[i].id)
	}
	return ids, nil
}

// CloseTicket closes an assigned ticket (decideCloseTicket).
func (s *Service) CloseTicket(ctx context.Context, a Actor, ticketID string, f CloseForm) error {
	_, err := s.run(ctx, Op{Kind: OpCloseTicket, Actor: a, Conv: ticketID, Form: f})
	return err
}

// ReachOut writes to the contact of a closed conversation again, in a new
// closed chat whose id it returns (decideReachOut).
func (s *Service) ReachOut(ctx context.Context, a Actor, convID string, r Reply) (string, error) {
	out, err := s.run(ctx, Op{Kind: OpReachOut, Actor: a, Conv: convID, Reply: r})
	return out.ID, err
}
