package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
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

// op runs one operation on a conversation: load its world (with the
// conversation's agent and the actor's own record), decide, commit, and
// retry on a concurrent change.
func (s *Service) op(ctx context.Context, a Actor, convID string, decide func(w *world, c *Conversation) error) error {
	return s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, convID)
		if err != nil {
			return err
		}
		for _, id := range []string{c.Assignee, a.ID} {
			if err := s.store.loadAgent(ctx, w, id); err != nil {
				return err
			}
		}
		if err := decide(w, c); err != nil {
			return err
		}
		return s.commit(ctx, newTx(), w)
	})
}

// mustHold checks that the actor is the conversation's assignee.
func mustHold(a Actor, c *Conversation) error {
	if c.Assignee != a.ID {
		return fmt.Errorf("%w: %s is assigned to someone else", ErrNotAllowed, c.Kind)
	}
	return nil
}

// Reply sends an agent's message. Only the assigned agent writes in a live
// or pending chat (a supervisor comments instead) or in an assigned ticket;
// on WhatsApp outside the 24-hour window only a template goes.
func (s *Service) Reply(ctx context.Context, a Actor, convID string, r Reply) (Message, error) {
	var m Message
	err := s.op(ctx, a, convID, func(w *world, c *Conversation) error {
		switch {
		case c.Kind == KindChat && (c.State == StateLive || c.State == StatePending):
		case c.Kind == KindTicket && c.State == StateAssigned:
		default:
			return fmt.Errorf("%w: %s %s", ErrWrongState, c.State, c.Kind)
		}
		if err := mustHold(a, c); err != nil {
			return err
		}
		r.Author = a.ID
		var err error
		if m, err = w.reply(c, r); err != nil {
			return err
		}
		c.AwaitingAgent, c.LastAgentAt = false, w.now
		if c.FirstAgentAt.IsZero() {
			c.FirstAgentAt = w.now
		}
		if c.Kind == KindTicket {
			c.AgentReplied = true
			w.arm(c, TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
		} else {
			w.armChatTimers(c)
		}
		return nil
	})
	return m, err
}

// Flag marks a chat to follow up: a flagged chat is neither closed nor
// converted for inactivity, nor re-routed when its agent is slow.
func (s *Service) Flag(ctx context.Context, a Actor, chatID string, flagged bool) error {
	return s.op(ctx, a, chatID, func(w *world, c *Conversation) error {
		if c.Kind != KindChat || (c.State != StateLive && c.State != StatePending) {
			return fmt.Errorf("%w: only a live or pending chat is flagged", ErrWrongState)
		}
		if err := mustHold(a, c); err != nil {
			return err
		}
		c.Flagged = flagged
		w.armChatTimers(c)
		w.emit(EventChanged, c, "")
		return nil
	})
}

// MarkPending parks a live chat while the agent waits on the customer; a
// customer reply makes it live again, silence closes it after the pending
// timeout.
func (s *Service) MarkPending(ctx context.Context, a Actor, chatID string) error {
	return s.op(ctx, a, chatID, func(w *world, c *Conversation) error {
		if c.Kind != KindChat || c.State != StateLive {
			return fmt.Errorf("%w: only a live chat can be marked pending", ErrWrongState)
		}
		if err := mustHold(a, c); err != nil {
			return err
		}
		w.release(c)
		c.State = StatePending
		w.disarm(c, TimerAgentResponse, TimerInactivity)
		w.arm(c, TimerPending, w.now.Add(w.rules.Timeouts.Pending))
		w.note(c, "Marked pending")
		w.emit(EventChanged, c, "")
		return nil
	})
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
func (f CloseForm) closure(agent string) Closure {
	return Closure{By: agent, Reason: ReasonAgent, Sentiment: f.Sentiment, Notes: f.Notes, Tag: f.Tag, Refs: f.Refs}
}

func (s *Service) checkCloseForm(f CloseForm) error {
	if !slices.Contains(Sentiments, f.Sentiment) {
		return fmt.Errorf("%w: sentiment must be one of %s", ErrInvalid, strings.Join(Sentiments, ", "))
	}
	if f.Tag != "" && !s.Rules().HasTag(f.Tag) {
		return fmt.Errorf("%w: tag %q is not one of the configured tags", ErrInvalid, f.Tag)
	}
	if len(f.Notes) > 10000 || len(f.Refs) > 20 {
		return fmt.Errorf("%w: notes up to 10000 characters and up to 20 references", ErrInvalid)
	}
	return nil
}

// Close closes a chat or a ticket, whichever the id names, with the closing
// form.
func (s *Service) Close(ctx context.Context, a Actor, convID string, f CloseForm) error {
	c, err := s.store.Conversation(ctx, convID)
	if err != nil {
		return err
	}
	if c.Kind == KindTicket {
		return s.CloseTicket(ctx, a, convID, f)
	}
	return s.CloseChat(ctx, a, convID, f)
}

// CloseChat ends a live or pending chat with the agent's sentiment, notes,
// tag and references; they stay in the contact's history.
func (s *Service) CloseChat(ctx context.Context, a Actor, chatID string, f CloseForm) error {
	if err := s.checkCloseForm(f); err != nil {
		return err
	}
	return s.op(ctx, a, chatID, func(w *world, c *Conversation) error {
		if c.Kind != KindChat || (c.State != StateLive && c.State != StatePending) {
			return fmt.Errorf("%w: only a live or pending chat is closed", ErrWrongState)
		}
		if err := mustHold(a, c); err != nil {
			return err
		}
		w.closeConversation(c, f.closure(a.ID))
		return nil
	})
}

// Reopen makes a closed chat live again, with a first message (a template
// on WhatsApp outside the 24-hour window). Only the chat's last agent
// reopens it for themselves; a supervisor reopens it for another agent who
// is available now (to), never for themselves, so nobody takes over a
// customer they never held. The contact must not be in another open chat;
// an open ticket of theirs is closed, as for any live chat.
func (s *Service) Reopen(ctx context.Context, a Actor, chatID, to string, r Reply) (Message, error) {
	var m Message
	err := s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, chatID)
		if err != nil {
			return err
		}
		if c.Kind != KindChat || c.State != StateClosed || c.MergedInto != "" {
			return fmt.Errorf("%w: only a closed chat is reopened", ErrWrongState)
		}
		if w.contact.Chat != "" {
			return fmt.Errorf("%w: the contact is in another open chat", ErrWrongState)
		}
		holder := a.ID
		switch {
		case to == "" || to == a.ID:
			if c.Assignee != a.ID {
				return fmt.Errorf("%w: only the chat's last agent reopens it; a supervisor assigns it to an available agent", ErrNotAllowed)
			}
		case !a.Supervises():
			return fmt.Errorf("%w: only a supervisor reopens a chat for someone else", ErrNotAllowed)
		default:
			holder = to
		}
		if err := s.store.loadAgent(ctx, w, holder); err != nil {
			return err
		}
		agent := w.agent(holder)
		if agent == nil {
			return fmt.Errorf("agent %s: %w", holder, ErrNotFound)
		}
		if holder != a.ID && !agent.Available() {
			return fmt.Errorf("%w: %s cannot take the chat", ErrNoAgentAvailable, holder)
		}
		c.Closed = nil
		w.contact.Chat = c.ID
		w.touchContact()
		w.assign(c, agent, false)
		if t := w.conversation(w.contact.Ticket); t != nil {
			w.closeConversation(t, Closure{By: "system", Reason: ReasonLiveChat})
		}
		r.Author = a.ID
		if m, err = w.reply(c, r); err != nil {
			return err
		}
		c.AwaitingAgent, c.LastAgentAt = false, w.now
		w.armChatTimers(c)
		return s.commit(ctx, newTx(), w)
	})
	return m, err
}

// Target is where a chat is transferred: a department (its best available
// agent), an agent within a department, or any agent.
type Target struct {
	Department string `json:"department"`
	Agent      string `json:"agent"`
}

// Transfer moves a live chat to another agent. The target must be online
// and available; a department with nobody available is refused. Tickets
// are never transferred.
func (s *Service) Transfer(ctx context.Context, a Actor, chatID string, to Target) error {
	if to.Department == "" && to.Agent == "" {
		return fmt.Errorf("%w: name a department or an agent", ErrInvalid)
	}
	return s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, chatID)
		if err != nil {
			return err
		}
		if c.Kind == KindTicket {
			return ErrTicketTransfer
		}
		if c.State != StateLive && c.State != StateQueued && c.State != StateBot {
			return fmt.Errorf("%w: only a live, queued or bot chat is transferred", ErrWrongState)
		}
		if c.Assignee != a.ID && !a.Supervises() {
			return fmt.Errorf("%w: only the chat's agent or a supervisor transfers it", ErrNotAllowed)
		}
		if err := s.store.loadAgent(ctx, w, c.Assignee); err != nil {
			return err
		}
		dept := to.Department
		var target *Agent
		if to.Agent != "" {
			if err := s.store.loadAgent(ctx, w, to.Agent); err != nil {
				return err
			}
			if target = w.agent(to.Agent); target == nil {
				return fmt.Errorf("agent %s: %w", to.Agent, ErrNotFound)
			}
			if dept != "" && !target.InDepartment(dept) {
				return fmt.Errorf("%w: %s is not in department %s", ErrInvalid, to.Agent, dept)
			}
			if !target.Available() || target.ID == c.Assignee {
				return fmt.Errorf("%w: %s cannot take the chat", ErrNoAgentAvailable, to.Agent)
			}
			if dept == "" {
				dept = c.Department
				if !target.InDepartment(dept) && len(target.Departments) > 0 {
					dept = target.Departments[0]
				}
			}
		} else {
			if err := s.store.loadDepartment(ctx, w, dept); err != nil {
				return err
			}
			if target = pickAgent(w.deptAgents(dept), dept, []string{c.Assignee}); target == nil {
				return fmt.Errorf("%w in department %s", ErrNoAgentAvailable, dept)
			}
		}
		if c.State == StateBot {
			// A supervisor takes the chat from its bot: the bot is told.
			w.leaveBot(c, BotTakenOver)
			w.note(c, "Taken from the bot by "+a.ID)
		}
		from := c.Assignee
		w.release(c)
		c.Department = dept
		w.disarm(c, TimerAgentResponse)
		w.assign(c, target, true)
		if from != "" {
			w.note(c, "Transferred from "+w.agentName(from))
		}
		return s.commit(ctx, newTx(), w)
	})
}

// AcceptTicket assigns an unassigned ticket of one of the agent's
// departments to the agent. Of two agents racing, exactly one wins; the
// other gets ErrWrongState.
func (s *Service) AcceptTicket(ctx context.Context, a Actor, ticketID string) error {
	return s.op(ctx, a, ticketID, func(w *world, c *Conversation) error {
		return s.accept(w, a, c)
	})
}

func (s *Service) accept(w *world, a Actor, c *Conversation) error {
	if c.Kind != KindTicket || c.State != StateUnassigned {
		return fmt.Errorf("%w: the ticket is not unassigned", ErrWrongState)
	}
	if !s.inDepartment(w, a, c.Department) {
		return fmt.Errorf("%w: the ticket belongs to department %s", ErrNotAllowed, c.Department)
	}
	c.State, c.Assignee, c.AssignedAt = StateAssigned, a.ID, w.now
	w.note(c, "Ticket accepted by "+w.agentName(a.ID))
	w.emit(EventAssigned, c, "")
	return nil
}

// inDepartment reports whether the actor works in dept. Without
// departments configured, every agent sees every ticket.
func (s *Service) inDepartment(w *world, a Actor, dept string) bool {
	if len(s.Rules().Departments) == 0 || a.Supervises() {
		return true
	}
	ag := w.agent(a.ID)
	return ag != nil && ag.InDepartment(dept)
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
		taken = nil
		agent, err := s.store.Agent(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("%w: unknown agent %s", ErrNotAllowed, a.ID)
		}
		depts := agent.Departments
		if len(s.Rules().Departments) == 0 {
			depts = []string{s.Rules().DefaultDepartment}
		}
		type cand struct {
			id    string
			score float64
		}
		var cands []cand
		for _, d := range depts {
			zs, err := s.store.rdb.ZRangeWithScores(ctx, s.store.keys.index("tickets:unassigned:"+d), 0, int64(n-1)).Result()
			if err != nil {
				return err
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
		if len(cands) > n {
			cands = cands[:n]
		}
		w := newWorld(s.now().UTC(), s.Rules())
		w.contact = &Contact{} // tickets keep their contacts' pointers: no contact changes
		w.trackAgent(agent)
		for _, cd := range cands {
			c, err := s.store.Conversation(ctx, cd.id)
			if err != nil {
				return err
			}
			if err := s.accept(w, a, w.track(c)); err != nil {
				return errConflict // taken meanwhile: decide again
			}
			taken = append(taken, cd.id)
		}
		if len(taken) == 0 {
			return nil
		}
		return s.commit(ctx, newTx(), w)
	})
	return taken, err
}

// CloseTicket closes an assigned ticket; only its agent, and only after
// answering the customer.
func (s *Service) CloseTicket(ctx context.Context, a Actor, ticketID string, f CloseForm) error {
	if f.Sentiment == "" {
		f.Sentiment = "neutral"
	}
	if err := s.checkCloseForm(f); err != nil {
		return err
	}
	return s.op(ctx, a, ticketID, func(w *world, c *Conversation) error {
		if c.Kind != KindTicket || c.State != StateAssigned {
			return fmt.Errorf("%w: only an assigned ticket is closed", ErrWrongState)
		}
		if err := mustHold(a, c); err != nil {
			return err
		}
		if !c.AgentReplied {
			return ErrReplyFirst
		}
		w.closeConversation(c, f.closure(a.ID))
		return nil
	})
}

// ReachOut writes to the contact of a closed conversation again, on the
// channel they used: on WhatsApp outside the 24-hour window only a template.
// Each reach-out starts a new closed chat, so earlier history stays where it
// was; when the customer answers, that chat becomes live and is routed as
// usual. Its agent or a supervisor may reach out; not while the contact is
// in an open chat.
func (s *Service) ReachOut(ctx context.Context, a Actor, convID string, r Reply) (string, error) {
	var id string
	err := s.op(ctx, a, convID, func(w *world, c *Conversation) error {
		if c.State != StateClosed && c.State != StateArchived {
			return fmt.Errorf("%w: reach out from a closed conversation", ErrWrongState)
		}
		if c.Assignee != a.ID && !a.Supervises() {
			return fmt.Errorf("%w: only its agent or a supervisor reaches out", ErrNotAllowed)
		}
		if w.contact.Chat != "" {
			return fmt.Errorf("%w: the contact is in an open chat", ErrWrongState)
		}
		chat := w.newConversation(KindChat, StateClosed, c.Department)
		chat.Assignee = a.ID
		r.Author = a.ID
		if _, err := w.reply(chat, r); err != nil {
			return err
		}
		chat.LastAgentAt = w.now
		chat.Closed = &Closure{By: a.ID, Reason: ReasonReachOut, At: w.now}
		w.contact.ReachOut = chat.ID
		w.touchContact()
		w.emit(EventChanged, chat, "")
		id = chat.ID
		return nil
	})
	return id, err
}
