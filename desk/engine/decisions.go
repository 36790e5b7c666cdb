package engine

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The decisions of the operations agents, supervisors and admins ask for on
// one conversation. Each is plain Go on a world: it reads the world (loaded
// beforehand, as the operation's needs say), the operation, the world's
// clock and its one settings snapshot, and records every change and effect
// in the world. None does I/O, so each rule is a row in a table test.

// OpKind names an operation.
type OpKind string

// The operations on one conversation.
const (
	OpReply       OpKind = "reply"
	OpComment     OpKind = "comment"
	OpFlag        OpKind = "flag"
	OpPending     OpKind = "pending"
	OpCloseChat   OpKind = "close_chat"
	OpCloseTicket OpKind = "close_ticket"
	OpReopen      OpKind = "reopen"
	OpTransfer    OpKind = "transfer"
	OpAccept      OpKind = "accept"
	OpReachOut    OpKind = "reach_out"
	OpDelete      OpKind = "delete"
	OpRestore     OpKind = "restore"
	OpConvert     OpKind = "convert"
)

// Op is one operation, as data: who asks, on which conversation, and what
// the kind of operation takes.
type Op struct {
	Kind  OpKind
	Actor Actor
	Conv  string

	Reply   Reply     // reply, reopen, reach out
	Body    string    // comment
	Flagged bool      // flag
	Form    CloseForm // close a chat or a ticket
	To      string    // reopen: the agent who takes the chat ("" for the actor)
	Target  Target    // transfer
	Subject string    // convert a closed chat into a ticket
}

// Outcome is what a decision answers besides its changes: the message it
// wrote, or the id of the conversation it made.
type Outcome struct {
	Message Message
	ID      string
}

// Needs says what a decision on c reads besides the conversation and its
// contact's: the agents, and the departments with all their agents and
// queue length. It is the one place that chooses what to load, so loading
// cannot drift from deciding: the service loads it, then checks that the
// conversation it decided on Needs nothing more.
func (op Op) Needs(c *Conversation) (agents, depts []string) {
	agents = []string{op.Actor.ID, c.Assignee}
	switch op.Kind {
	case OpReopen:
		agents = append(agents, op.To)
	case OpTransfer:
		if op.Target.Agent != "" {
			agents = append(agents, op.Target.Agent)
		} else {
			depts = append(depts, op.Target.Department)
		}
	case OpComment:
		agents = append(agents, mentionsIn(op.Body)...)
	}
	return agents, depts
}

// mentionsIn lists the @agent-ids a comment names, once each.
func mentionsIn(body string) []string {
	var ids []string
	for _, m := range mentionPattern.FindAllStringSubmatch(body, -1) {
		if !slices.Contains(ids, m[1]) {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// Decide carries out op on c, which w tracks. Whether the actor may see c
// at all is checked before (Service.Open), so that a conversation they may
// not see answers as unknown; here, what they may do to it.
func Decide(w *World, op Op, c *Conversation) (Outcome, error) {
	a := op.Actor
	switch op.Kind {
	case OpReply:
		m, err := decideReply(w, a, c, op.Reply)
		return Outcome{Message: m}, err
	case OpComment:
		m, err := decideComment(w, a, c, op.Body)
		return Outcome{Message: m}, err
	case OpFlag:
		return Outcome{}, decideFlag(w, a, c, op.Flagged)
	case OpPending:
		return Outcome{}, decidePending(w, a, c)
	case OpCloseChat:
		return Outcome{}, decideCloseChat(w, a, c, op.Form)
	case OpCloseTicket:
		return Outcome{}, decideCloseTicket(w, a, c, op.Form)
	case OpReopen:
		m, err := decideReopen(w, a, c, op.To, op.Reply)
		return Outcome{Message: m}, err
	case OpTransfer:
		return Outcome{}, decideTransfer(w, a, c, op.Target)
	case OpAccept:
		return Outcome{}, decideAccept(w, a, c)
	case OpReachOut:
		id, err := decideReachOut(w, a, c, op.Reply)
		return Outcome{ID: id}, err
	case OpDelete:
		return Outcome{}, decideDelete(w, a, c)
	case OpRestore:
		return Outcome{}, decideRestore(w, a, c)
	case OpConvert:
		id, err := decideConvert(w, a, c, op.Subject)
		return Outcome{ID: id}, err
	}
	return Outcome{}, fmt.Errorf("%w: unknown operation %q", ErrInvalid, op.Kind)
}

// MustHold checks that the actor is the conversation's assignee.
func MustHold(a Actor, c *Conversation) error {
	if c.Assignee != a.ID {
		return fmt.Errorf("%w: %s is assigned to someone else", ErrNotAllowed, c.Kind)
	}
	return nil
}

// mayManage checks that the actor is the conversation's agent or a supervisor.
func mayManage(a Actor, c *Conversation) error {
	if c.Assignee != a.ID && !a.Supervises() {
		return fmt.Errorf("%w: only the conversation's agent or a supervisor", ErrNotAllowed)
	}
	return nil
}

// inDepartment reports whether the actor works in dept. Without
// departments configured, every agent works in every one.
func inDepartment(w *World, a Actor, dept string) bool {
	if len(w.Rules.Departments) == 0 || a.Supervises() {
		return true
	}
	ag := w.Agent(a.ID)
	return ag != nil && ag.InDepartment(dept)
}

// decideReply sends an agent's message. Only the assigned agent writes in a
// live or pending chat (a supervisor comments instead) or in an assigned
// ticket; on WhatsApp outside the 24-hour window only a template goes.
func decideReply(w *World, a Actor, c *Conversation, r Reply) (Message, error) {
	switch {
	case c.Kind == KindChat && (c.State == StateLive || c.State == StatePending):
	case c.Kind == KindTicket && c.State == StateAssigned:
	default:
		return Message{}, fmt.Errorf("%w: %s %s", ErrWrongState, c.State, c.Kind)
	}
	if err := MustHold(a, c); err != nil {
		return Message{}, err
	}
	r.Author = a.ID
	m, err := w.Reply(c, r)
	if err != nil {
		return Message{}, err
	}
	c.AwaitingAgent, c.LastAgentAt = false, w.Now
	if c.FirstAgentAt.IsZero() {
		c.FirstAgentAt = w.Now
	}
	if c.Kind == KindTicket {
		c.AgentReplied = true
		w.arm(c, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
	} else {
		w.armChatTimers(c)
	}
	return m, nil
}

// decideComment adds an internal note. Each @agent-id that names an agent
// (other than the author: a mention gives access, and naming oneself must
// not keep it) puts the conversation in that agent's Tagged tab while it is
// open, and rings their bell.
func decideComment(w *World, a Actor, c *Conversation, body string) (Message, error) {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > 4000 {
		return Message{}, fmt.Errorf("%w: a comment has 1 to 4000 characters", ErrInvalid)
	}
	if !MayView(a, c, func(dept string) bool { return inDepartment(w, a, dept) }) {
		return Message{}, ErrNotFound // only who may see it comments on it
	}
	var mentioned []string
	for _, id := range mentionsIn(body) {
		if id != a.ID && w.Agent(id) != nil {
			mentioned = append(mentioned, id)
		}
	}
	w.add(c, Message{Direction: DirNote, Author: a.ID, Body: body})
	note := w.Messages[len(w.Messages)-1] // as stored: its id, conversation and time filled in
	for _, id := range mentioned {
		if !slices.Contains(c.Mentions, id) {
			c.Mentions = append(c.Mentions, id)
		}
		w.Notices = append(w.Notices, Notice{Agent: id, Notification: Notification{
			ConversationID: c.ID, MessageID: note.ID, By: a.ID, Text: body, At: w.Now}})
	}
	w.Events = append(w.Events, Event{Type: EventComment, ConversationID: c.ID, MessageID: note.ID, Agent: a.ID,
		Mentions: mentioned, Assignee: c.Assignee, Kind: string(c.Kind), Department: c.Department, At: w.Now})
	return note, nil
}

// decideFlag marks a chat to follow up: a flagged chat is neither closed
// nor converted for inactivity, nor re-routed when its agent is slow.
func decideFlag(w *World, a Actor, c *Conversation, flagged bool) error {
	if c.Kind != KindChat || (c.State != StateLive && c.State != StatePending) {
		return fmt.Errorf("%w: only a live or pending chat is flagged", ErrWrongState)
	}
	if err := MustHold(a, c); err != nil {
		return err
	}
	c.Flagged = flagged
	w.armChatTimers(c)
	w.Emit(EventChanged, c, "")
	return nil
}

// decidePending parks a live chat while the agent waits on the customer; a
// customer reply makes it live again, silence closes it after the pending
// timeout.
func decidePending(w *World, a Actor, c *Conversation) error {
	if c.Kind != KindChat || c.State != StateLive {
		return fmt.Errorf("%w: only a live chat can be marked pending", ErrWrongState)
	}
	if err := MustHold(a, c); err != nil {
		return err
	}
	w.release(c)
	c.State = StatePending
	w.disarm(c, TimerAgentResponse, TimerInactivity)
	w.arm(c, TimerPending, w.Now.Add(w.Rules.Timeouts.Pending))
	w.note(c, "Marked pending")
	w.Emit(EventChanged, c, "")
	return nil
}

// checkCloseForm checks a closing form against the settings.
func checkCloseForm(w *World, f CloseForm) error {
	if !slices.Contains(Sentiments, f.Sentiment) {
		return fmt.Errorf("%w: sentiment must be one of %s", ErrInvalid, strings.Join(Sentiments, ", "))
	}
	if f.Tag != "" && !w.Rules.HasTag(f.Tag) {
		return fmt.Errorf("%w: tag %q is not one of the configured tags", ErrInvalid, f.Tag)
	}
	if len(f.Notes) > 10000 || len(f.Refs) > 20 {
		return fmt.Errorf("%w: notes up to 10000 characters and up to 20 references", ErrInvalid)
	}
	return nil
}

// decideCloseChat ends a live or pending chat with the agent's sentiment,
// notes, tag and references; they stay in the contact's history.
func decideCloseChat(w *World, a Actor, c *Conversation, f CloseForm) error {
	if err := checkCloseForm(w, f); err != nil {
		return err
	}
	if c.Kind != KindChat || (c.State != StateLive && c.State != StatePending) {
		return fmt.Errorf("%w: only a live or pending chat is closed", ErrWrongState)
	}
	if err := MustHold(a, c); err != nil {
		return err
	}
	w.closeConversation(c, f.closure(a.ID))
	return nil
}

// decideCloseTicket closes an assigned ticket; only its agent, and only
// after answering the customer. The sentiment is optional for a ticket.
func decideCloseTicket(w *World, a Actor, c *Conversation, f CloseForm) error {
	if f.Sentiment == "" {
		f.Sentiment = "neutral"
	}
	if err := checkCloseForm(w, f); err != nil {
		return err
	}
	if c.Kind != KindTicket || c.State != StateAssigned {
		return fmt.Errorf("%w: only an assigned ticket is closed", ErrWrongState)
	}
	if err := MustHold(a, c); err != nil {
		return err
	}
	if !c.AgentReplied {
		return ErrReplyFirst
	}
	w.closeConversation(c, f.closure(a.ID))
	return nil
}

// decideReopen makes a closed chat live again, with a first message (a
// template on WhatsApp outside the 24-hour window). Only the chat's last
// agent reopens it for themselves; a supervisor reopens it for another agent
// who is available now (to), never for themselves, so nobody takes over a
// customer they never held. The contact must not be in another open chat;
// an open ticket of theirs is closed, as for any live chat.
func decideReopen(w *World, a Actor, c *Conversation, to string, r Reply) (Message, error) {
	if c.Kind != KindChat || c.State != StateClosed || c.MergedInto != "" {
		return Message{}, fmt.Errorf("%w: only a closed chat is reopened", ErrWrongState)
	}
	if w.Contact.Chat != "" {
		return Message{}, fmt.Errorf("%w: the contact is in another open chat", ErrWrongState)
	}
	holder := a.ID
	switch {
	case to == "" || to == a.ID:
		if c.Assignee != a.ID {
			return Message{}, fmt.Errorf("%w: only the chat's last agent reopens it; a supervisor assigns it to an available agent", ErrNotAllowed)
		}
	case !a.Supervises():
		return Message{}, fmt.Errorf("%w: only a supervisor reopens a chat for someone else", ErrNotAllowed)
	default:
		holder = to
	}
	agent := w.Agent(holder)
	if agent == nil {
		return Message{}, fmt.Errorf("agent %s: %w", holder, ErrNotFound)
	}
	if holder != a.ID && !agent.Available() {
		return Message{}, fmt.Errorf("%w: %s cannot take the chat", ErrNoAgentAvailable, holder)
	}
	c.Closed = nil
	w.Contact.Chat = c.ID
	w.TouchContact()
	w.assign(c, agent, false)
	if t := w.Conversation(w.Contact.Ticket); t != nil {
		w.closeConversation(t, Closure{By: "system", Reason: ReasonLiveChat})
	}
	r.Author = a.ID
	m, err := w.Reply(c, r)
	if err != nil {
		return Message{}, err
	}
	c.AwaitingAgent, c.LastAgentAt = false, w.Now
	w.armChatTimers(c)
	return m, nil
}

// decideTransfer moves a live, queued or bot chat to another agent: one
// named (who must be available, and in the department if one is named too),
// or a department's best available agent. Only the chat's agent or a
// supervisor transfers it; tickets are never transferred.
func decideTransfer(w *World, a Actor, c *Conversation, to Target) error {
	if to.Department == "" && to.Agent == "" {
		return fmt.Errorf("%w: name a department or an agent", ErrInvalid)
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
	dept := to.Department
	var target *Agent
	if to.Agent != "" {
		if target = w.Agent(to.Agent); target == nil {
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
	} else if target = pickAgent(w.deptAgents(dept), dept, []string{c.Assignee}); target == nil {
		return fmt.Errorf("%w in department %s", ErrNoAgentAvailable, dept)
	}
	if c.State == StateBot {
		// A supervisor takes the chat from its bot: the bot is told.
		w.leaveBot(c, BotTakenOver)
		w.note(c, "Taken from the bot by "+w.agentName(a.ID))
	}
	from := c.Assignee
	w.release(c)
	c.Department = dept
	w.disarm(c, TimerAgentResponse)
	w.assign(c, target, true)
	if from != "" {
		w.note(c, "Transferred from "+w.agentName(from))
	}
	return nil
}

// decideAccept assigns an unassigned ticket of one of the agent's
// departments to the agent. Of two agents racing, exactly one commits; the
// other decides again and finds the ticket taken.
func decideAccept(w *World, a Actor, c *Conversation) error {
	if c.Kind != KindTicket || c.State != StateUnassigned {
		return fmt.Errorf("%w: the ticket is not unassigned", ErrWrongState)
	}
	if !inDepartment(w, a, c.Department) {
		return fmt.Errorf("%w: the ticket belongs to department %s", ErrNotAllowed, c.Department)
	}
	c.State, c.Assignee, c.AssignedAt = StateAssigned, a.ID, w.Now
	w.note(c, "Ticket accepted by "+w.agentName(a.ID))
	w.Emit(EventAssigned, c, "")
	return nil
}

// DecideQuickAccept assigns the agent the tickets given (the oldest
// unassigned of their departments, oldest first) in one decision: if any
// of them is no longer unassigned, the whole decision is taken again on
// fresh state, so none is assigned twice and none is skipped.
func DecideQuickAccept(w *World, a Actor, tickets []*Conversation) ([]string, error) {
	var taken []string
	for _, c := range tickets {
		if err := decideAccept(w, a, c); err != nil {
			return nil, ErrConflict // taken meanwhile: decide again
		}
		taken = append(taken, c.ID)
	}
	return taken, nil
}

// decideReachOut writes to the contact of a closed conversation again, on
// the channel they used: on WhatsApp outside the 24-hour window only a
// template. Each reach-out starts a new closed chat, so earlier history
// stays where it was; when the customer answers, that chat becomes live and
// is routed as usual. Its agent or a supervisor may reach out; not while the
// contact is in an open chat.
func decideReachOut(w *World, a Actor, c *Conversation, r Reply) (string, error) {
	if c.State != StateClosed && c.State != StateArchived {
		return "", fmt.Errorf("%w: reach out from a closed conversation", ErrWrongState)
	}
	if c.Assignee != a.ID && !a.Supervises() {
		return "", fmt.Errorf("%w: only its agent or a supervisor reaches out", ErrNotAllowed)
	}
	if w.Contact.Chat != "" {
		return "", fmt.Errorf("%w: the contact is in an open chat", ErrWrongState)
	}
	chat := w.NewConversation(KindChat, StateClosed, c.Department)
	chat.Assignee = a.ID
	r.Author = a.ID
	if _, err := w.Reply(chat, r); err != nil {
		return "", err
	}
	chat.LastAgentAt = w.Now
	chat.Closed = &Closure{By: a.ID, Reason: ReasonReachOut, At: w.Now}
	w.Contact.ReachOut = chat.ID
	w.TouchContact()
	w.Emit(EventChanged, chat, "")
	return chat.ID, nil
}

// decideDelete moves a closed conversation to the trash: out of every
// list, kept for TrashKeep, then purged.
func decideDelete(w *World, a Actor, c *Conversation) error {
	if c.State != StateClosed || c.DeletedAt != nil {
		return fmt.Errorf("%w: only a closed conversation goes to the trash", ErrWrongState)
	}
	if err := mayManage(a, c); err != nil {
		return err
	}
	at := w.Now
	c.DeletedAt, c.DeletedBy = &at, a.ID
	w.disarm(c, TimerArchive)
	w.arm(c, TimerPurge, w.Now.Add(TrashKeep))
	w.Emit(EventChanged, c, "")
	return nil
}

// decideRestore takes a conversation out of the trash; who deleted it or a
// supervisor.
func decideRestore(w *World, a Actor, c *Conversation) error {
	if c.DeletedAt == nil {
		return fmt.Errorf("%w: the conversation is not in the trash", ErrWrongState)
	}
	if c.DeletedBy != a.ID && !a.Supervises() {
		return fmt.Errorf("%w: only who deleted it or a supervisor", ErrNotAllowed)
	}
	c.DeletedAt, c.DeletedBy = nil, ""
	w.disarm(c, TimerPurge)
	if c.Kind == KindTicket {
		w.arm(c, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
	}
	w.Emit(EventChanged, c, "")
	return nil
}

// decideConvert turns a closed chat into a ticket with a subject, assigned
// to the agent converting it, for follow-up work. The chat stays closed and
// names the ticket; the ticket carries the chat's history. A contact with
// an open ticket has the chat added to it instead: never two open tickets.
func decideConvert(w *World, a Actor, c *Conversation, subject string) (string, error) {
	subject = strings.TrimSpace(subject)
	if subject == "" || len(subject) > 200 {
		return "", fmt.Errorf("%w: a subject of 1 to 200 characters", ErrInvalid)
	}
	if c.Kind != KindChat || c.State != StateClosed || c.ConvertedTo != "" || c.MergedInto != "" {
		return "", fmt.Errorf("%w: only a closed chat not yet converted", ErrWrongState)
	}
	if err := mayManage(a, c); err != nil {
		return "", err
	}
	ticket := w.Conversation(w.Contact.Ticket)
	if ticket == nil {
		ticket = w.newTicket(c.Department)
		ticket.State, ticket.Assignee, ticket.AssignedAt = StateAssigned, a.ID, w.Now
		ticket.Subject = subject
	}
	ticket.Merged = append(ticket.Merged, c.ID)
	w.arm(ticket, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
	w.note(ticket, "Ticket made from a closed chat: "+subject)
	c.ConvertedTo = ticket.ID
	w.Emit(EventChanged, c, "")
	return ticket.ID, nil
}

// DecidePresence sets an agent's presence. Going online clears a pause for
// an ignored chat, even when the agent was online already.
func DecidePresence(w *World, agent *Agent, p Presence, accepting bool) error {
	switch p {
	case Online, Away, Offline:
	default:
		return fmt.Errorf("%w: presence %q", ErrInvalid, p)
	}
	if p == Online {
		agent.Paused = false
	}
	agent.Presence, agent.Accepting = p, accepting
	return nil
}

// MayView is who may see a conversation: supervisors everything; an agent
// what they hold or are mentioned in, what they deleted, closed tickets,
// and the unassigned tickets of a department they work in (inDept).
func MayView(a Actor, c *Conversation, inDept func(dept string) bool) bool {
	switch {
	case a.Supervises(), c.Assignee == a.ID, slices.Contains(c.Mentions, a.ID):
		return true
	case c.DeletedAt != nil:
		return c.DeletedBy == a.ID
	case c.Kind == KindTicket && c.State == StateClosed:
		return true
	case c.Kind == KindTicket && c.State == StateUnassigned:
		return inDept(c.Department)
	}
	return false
}

// mentionPattern finds @agent-id in a comment.
var mentionPattern = regexp.MustCompile(`@([a-z0-9][a-z0-9._-]{0,39})`)
