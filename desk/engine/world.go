package engine

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// World is the slice of state one decision reads, and what the decision
// changes in it. Decisions are plain Go on a world: no I/O, time from now,
// every effect recorded as data (messages to send, deadlines, events). The
// service loads a world, lets a decision run, and commits the result in one
// guarded write; on conflict it loads and decides again.
type World struct {
	Now   time.Time
	Rules *config.Engine

	Contact       *Contact
	ContactBefore Contact // as loaded; version 0 for a new contact
	ContactDirty  bool

	Convs  map[string]*Tracked
	Agents map[string]*TrackedAgent

	Messages []Message
	Events   []Event
	// Freed lists departments where an agent may have room for a queued chat.
	Freed map[string]bool
	// Queued is the number of chats waiting in each department's queue.
	Queued map[string]int
	// Loaded lists the departments whose agents are all tracked.
	Loaded map[string]bool
	// Remembered is set when the store gave the contact and its
	// conversations from its memory of its own last write, not from a
	// read: the commit then guards each of them, changed or not.
	Remembered bool
	// Routed counts the chats given to each agent by routing or transfer,
	// which must fit in the agent's capacity when committed.
	Routed map[string]int
	// Wakes are the wake-up jobs to schedule once the world is committed.
	Wakes []Wake
	// BotDeliveries are the customer messages to hand to a bot once committed.
	BotDeliveries []BotDelivery
	// Transcript holds the Transcript offers read and made (Transcript.go).
	Transcript *TranscriptState
	// Notices are the bell notifications the decision rings.
	Notices []Notice
	// Sought lists the agents the loaders looked for, found or not, and
	// unloaded the agents a decision changed without their being Sought:
	// a loading that drifted from the decision, which commit refuses.
	Sought   map[string]bool
	Unloaded []string
	// IDs makes the IDs of new conversations and messages (NewID; tests
	// inject their own).
	IDs func() string
}

type Notice struct {
	Agent        string
	Notification Notification
}

type BotDelivery struct{ Conv, Message string }

type Wake struct {
	Conv string
	At   time.Time
}

// ScheduleWakes decides which conversations need a new wake-up job: those
// with a deadline and no job scheduled at or before it (a job at or before
// now has fired or is firing, and serves nothing more).
func (w *World) ScheduleWakes() {
	for _, tr := range w.Convs {
		c := tr.Conv
		due := DueAt(c)
		if due.IsZero() || (c.WakeAt.After(w.Now) && !c.WakeAt.After(due)) {
			continue
		}
		c.WakeAt = due
		w.Wakes = append(w.Wakes, Wake{Conv: c.ID, At: due})
	}
}

type Tracked struct {
	Before *Conversation // as loaded; nil for a new conversation
	Conv   *Conversation
	// Loaded is Before's stored document as the store read it, so that the
	// store tells a changed conversation from an unchanged one without
	// encoding it twice; "" when the store did not track it itself. Only
	// the store sets and reads it.
	Loaded string
}

type TrackedAgent struct {
	Before Agent
	Agent  *Agent
}

// NewWorld starts a decision at now, to the millisecond: times are stored
// to the millisecond, so what is decided is what is stored and read back.
func NewWorld(now time.Time, rules *config.Engine) *World {
	return &World{Now: now.Truncate(time.Millisecond), Rules: rules, Convs: map[string]*Tracked{}, Agents: map[string]*TrackedAgent{}, Freed: map[string]bool{}, Queued: map[string]int{}, Loaded: map[string]bool{}, Routed: map[string]int{}, Sought: map[string]bool{}, IDs: NewID}
}

// Track registers a loaded conversation and returns the copy to change.
func (w *World) Track(c *Conversation) *Conversation {
	if c == nil {
		return nil
	}
	if t, ok := w.Convs[c.ID]; ok {
		return t.Conv
	}
	before := *c
	cp := c.Clone()
	w.Convs[c.ID] = &Tracked{Before: &before, Conv: cp}
	return cp
}

// Clone is a copy of c that shares nothing with it.
func (c *Conversation) Clone() *Conversation {
	cp := *c
	cp.Ignored = slices.Clone(c.Ignored)
	cp.Merged = slices.Clone(c.Merged)
	cp.Mentions = slices.Clone(c.Mentions)
	cp.Tags = slices.Clone(c.Tags)
	cp.BotPending = slices.Clone(c.BotPending)
	if c.Attributes != nil {
		cp.Attributes = make(map[string]string, len(c.Attributes))
		for k, v := range c.Attributes {
			cp.Attributes[k] = v
		}
	}
	if c.Deadlines != nil {
		cp.Deadlines = make(map[Timer]time.Time, len(c.Deadlines))
		for k, v := range c.Deadlines {
			cp.Deadlines[k] = v
		}
	}
	if c.Closed != nil {
		cl := *c.Closed
		cp.Closed = &cl
	}
	if c.DeletedAt != nil {
		at := *c.DeletedAt
		cp.DeletedAt = &at
	}
	if c.Rating != nil {
		r := *c.Rating
		cp.Rating = &r
	}
	return &cp
}

// TrackAgent registers a loaded agent and returns the copy to change.
func (w *World) TrackAgent(a *Agent) *Agent {
	if t, ok := w.Agents[a.ID]; ok {
		return t.Agent
	}
	w.Sought[a.ID] = true
	cp := *a
	cp.Departments = slices.Clone(a.Departments)
	w.Agents[a.ID] = &TrackedAgent{Before: *a, Agent: &cp}
	return &cp
}

func (w *World) Agent(id string) *Agent {
	if t, ok := w.Agents[id]; ok {
		return t.Agent
	}
	return nil
}

// held returns the agent whose record (load, pause) a decision changes.
// One that was never looked for is noted: the decision's loading missed it,
// and committing would lose the change silently.
func (w *World) held(id string) *Agent {
	a := w.Agent(id)
	if a == nil && id != "" && !w.Sought[id] {
		w.Unloaded = append(w.Unloaded, id)
	}
	return a
}

// agentName is an agent's name for a system line, the id when the agent
// is not loaded or has no name.
func (w *World) agentName(id string) string {
	if a := w.Agent(id); a != nil && a.Name != "" {
		return a.Name
	}
	return id
}

// Conversation returns the tracked Conversation with id, or nil.
func (w *World) Conversation(id string) *Conversation {
	if t, ok := w.Convs[id]; ok && id != "" {
		return t.Conv
	}
	return nil
}

func (w *World) NewConversation(kind Kind, state State, dept string) *Conversation {
	c := &Conversation{
		ID: w.IDs(), Contact: w.Contact.Address, Channel: w.Contact.Address.Channel(), Department: dept,
		Kind: kind, State: state, CreatedAt: w.Now, UpdatedAt: w.Now, ContactName: w.Contact.Name,
	}
	w.Convs[c.ID] = &Tracked{Conv: c}
	return c
}

func (w *World) TouchContact() { w.ContactDirty = true }

// add appends a message to a conversation.
func (w *World) add(c *Conversation, m Message) {
	m.ConversationID = c.ID
	if m.ID == "" {
		m.ID = w.IDs()
	}
	if m.At.IsZero() {
		m.At = w.Now
	}
	c.UpdatedAt = w.Now
	if m.Direction == DirIn || m.Direction == DirOut {
		c.LastActivityAt = w.Now
		// Parley's own texts (the YES/NO question, the queue position) would
		// hide what the customer or the agent said: the preview skips them.
		if m.Author != SystemAuthor {
			c.Preview = preview(m)
		}
	}
	if m.Direction == DirOut && m.Author != "" && m.Author != SystemAuthor && !strings.HasPrefix(m.Author, "bot:") {
		c.LastResponder = m.Author
	}
	w.Messages = append(w.Messages, m)
	kind := EventMessageOut
	switch m.Direction {
	case DirIn:
		kind = EventMessageIn
	case DirSystem, DirNote:
		kind = EventNote
	}
	w.Emit(kind, c, m.ID)
}

// say queues a text from Parley to the contact. Nothing is queued for an
// empty text (a text switched off) or a contact who opted out.
func (w *World) say(c *Conversation, text string) {
	if text == "" || w.Contact.OptedOut {
		return
	}
	w.add(c, Message{Direction: DirOut, Author: SystemAuthor, To: c.Contact, Body: text, Status: channels.StatusQueued})
}

// note records an event in the conversation's history.
func (w *World) note(c *Conversation, text string) {
	w.add(c, Message{Direction: DirSystem, Author: SystemAuthor, Body: text})
}

// Emit notes an event; Store.write describes the conversation as committed.
func (w *World) Emit(kind string, c *Conversation, messageID string) {
	w.Events = append(w.Events, Event{Type: kind, ConversationID: c.ID, MessageID: messageID, At: w.Now})
}

func (w *World) arm(c *Conversation, t Timer, at time.Time) {
	if c.Deadlines == nil {
		c.Deadlines = map[Timer]time.Time{}
	}
	c.Deadlines[t] = at
}

func (w *World) disarm(c *Conversation, timers ...Timer) {
	for _, t := range timers {
		delete(c.Deadlines, t)
	}
}

// armChatTimers sets a live chat's inactivity deadline and, while the
// customer waits for an answer, the agent's response deadline (unless one
// already runs from an earlier unanswered message). Flagged chats have none.
func (w *World) armChatTimers(c *Conversation) {
	if c.Flagged || c.State != StateLive {
		w.disarm(c, TimerAgentResponse, TimerInactivity)
		return
	}
	w.arm(c, TimerInactivity, w.Now.Add(w.Rules.Timeouts.Inactivity))
	if !c.AwaitingAgent {
		w.disarm(c, TimerAgentResponse)
	} else if _, running := c.Deadlines[TimerAgentResponse]; !running {
		w.arm(c, TimerAgentResponse, w.Now.Add(w.Rules.Timeouts.AgentResponse))
	}
}

// assign gives a chat to an agent and makes it live. Routing and transfers
// count it against the agent's capacity at commit (fit); an agent reopening
// a chat takes it whatever their load.
func (w *World) assign(c *Conversation, a *Agent, fit bool) {
	if fit {
		w.Routed[a.ID]++
	}
	c.Assignee, c.AssignedAt, c.State = a.ID, w.Now, StateLive
	a.Load++
	a.LastAssigned = w.Now
	w.disarm(c, TimerQueue, TimerAgentResponse)
	w.armChatTimers(c)
	w.note(c, "Chat assigned to "+a.Name)
	w.Emit(EventAssigned, c, "")
}

// release takes a live chat off its agent's load.
func (w *World) release(c *Conversation) {
	if c.State != StateLive || c.Assignee == "" {
		return
	}
	if a := w.held(c.Assignee); a != nil && a.Load > 0 {
		a.Load--
		for _, d := range a.Departments {
			w.Freed[d] = true
		}
	}
}

// closeConversation ends a chat or a ticket.
func (w *World) closeConversation(c *Conversation, cl Closure) {
	w.release(c)
	cl.At = w.Now
	c.State, c.Closed, c.AwaitingAgent = StateClosed, &cl, false
	if c.Session == SessionAsking || c.Session == SessionCollecting {
		c.Session = SessionEnded
	}
	w.disarm(c, TimerQueue, TimerAgentResponse, TimerInactivity, TimerPending, TimerSession)
	if c.Kind == KindTicket {
		w.arm(c, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
	}
	w.unlink(c)
	w.Emit(EventClosed, c, "")
	if cl.Reason == ReasonCustomer {
		w.offerTranscript(c)
	}
	if c.Kind == KindChat && w.Rules.Survey.Enabled && (cl.Reason == ReasonAgent || cl.Reason == ReasonCustomer) {
		w.say(c, w.Rules.Survey.Question)
		w.Contact.Survey = c.ID
		w.TouchContact()
	}
}

// unlink clears the contact's pointer to a conversation that is no longer open.
func (w *World) unlink(c *Conversation) {
	if w.Contact.Chat == c.ID {
		w.Contact.Chat = ""
		w.TouchContact()
	}
	if w.Contact.Ticket == c.ID {
		w.Contact.Ticket = ""
		w.TouchContact()
	}
}

// pickAgent chooses who gets a chat: among the available agents of the
// department not in exclude, the one with the fewest live chats; on a tie,
// the one whose last chat was assigned longest ago; then by id, so the
// choice is the same on every run.
func pickAgent(agents []*Agent, dept string, exclude []string) *Agent {
	var best *Agent
	for _, a := range agents {
		if !a.Available() || !a.InDepartment(dept) || slices.Contains(exclude, a.ID) {
			continue
		}
		if best == nil || a.Load < best.Load ||
			(a.Load == best.Load && a.LastAssigned.Before(best.LastAssigned)) ||
			(a.Load == best.Load && a.LastAssigned.Equal(best.LastAssigned) && a.ID < best.ID) {
			best = a
		}
	}
	return best
}

// deptAgents lists the tracked agents of a department, in id order.
func (w *World) deptAgents(dept string) []*Agent {
	var out []*Agent
	for _, t := range w.Agents {
		if t.Agent.InDepartment(dept) {
			out = append(out, t.Agent)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// anyTakesChats reports whether some agent of the department is online and
// accepting chats, whatever their load.
func (w *World) anyTakesChats(dept string) bool {
	for _, a := range w.deptAgents(dept) {
		if a.TakesChats() {
			return true
		}
	}
	return false
}

// Word is a customer message reduced for keyword matching: trimmed, upper case.
func Word(body string) string { return strings.ToUpper(strings.TrimSpace(body)) }

const (
	wordYes = "YES"
	wordNo  = "NO"
	wordEnd = "//END"
)

// preview shortens a message for lists.
func preview(m Message) string {
	text := m.Body
	switch {
	case text == "" && m.Template != nil:
		text = "[template]"
	case text == "" && len(m.Media) > 0:
		text = mediaLabel(m.Media, m.Files)
	case text == "" && m.Location != nil:
		text = "Location"
		if m.Location.Label != "" {
			text += ": " + m.Location.Label
		}
	}
	if r := []rune(text); len(r) > 120 {
		text = string(r[:119]) + "…"
	}
	return text
}
