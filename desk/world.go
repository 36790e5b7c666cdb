package desk

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// world is the slice of state one decision reads, and what the decision
// changes in it. Decisions are plain Go on a world: no I/O, time from now,
// every effect recorded as data (messages to send, deadlines, events). The
// service loads a world, lets a decision run, and commits the result in one
// guarded write; on conflict it loads and decides again.
type world struct {
	now   time.Time
	rules *config.Engine

	contact       *engine.Contact
	contactBefore engine.Contact // as loaded; version 0 for a new contact
	contactDirty  bool

	convs  map[string]*tracked
	agents map[string]*trackedAgent

	messages []engine.Message
	events   []Event
	// freed lists departments where an agent may have room for a queued chat.
	freed map[string]bool
	// queued is the number of chats waiting in each department's queue.
	queued map[string]int
	// loaded lists the departments whose agents are all tracked.
	loaded map[string]bool
	// routed counts the chats given to each agent by routing or transfer,
	// which must fit in the agent's capacity when committed.
	routed map[string]int
	// wakes are the wake-up jobs to schedule once the world is committed.
	wakes []wake
	// botEvents are the customer messages to hand to a bot once committed.
	botEvents []botEvent
	// transcript holds the transcript offers read and made (transcript.go).
	transcript *transcriptState
	// notices are the bell notifications the decision rings.
	notices []notice
	// sought lists the agents the loaders looked for, found or not, and
	// unloaded the agents a decision changed without their being sought:
	// a loading that drifted from the decision, which commit refuses.
	sought   map[string]bool
	unloaded []string
	// ids makes the ids of new conversations and messages (newID; tests
	// inject their own).
	ids func() string
}

type notice struct {
	agent string
	n     Notification
}

type botEvent struct{ conv, message string }

type wake struct {
	conv string
	at   time.Time
}

// scheduleWakes decides which conversations need a new wake-up job: those
// with a deadline and no job scheduled at or before it (a job at or before
// now has fired or is firing, and serves nothing more).
func (w *world) scheduleWakes() {
	for _, tr := range w.convs {
		c := tr.c
		due := dueAt(c)
		if due.IsZero() || (c.WakeAt.After(w.now) && !c.WakeAt.After(due)) {
			continue
		}
		c.WakeAt = due
		w.wakes = append(w.wakes, wake{conv: c.ID, at: due})
	}
}

type tracked struct {
	before *engine.Conversation // as loaded; nil for a new conversation
	c      *engine.Conversation
}

type trackedAgent struct {
	before engine.Agent
	a      *engine.Agent
}

// newWorld starts a decision at now, to the millisecond: times are stored
// to the millisecond, so what is decided is what is stored and read back.
func newWorld(now time.Time, rules *config.Engine) *world {
	return &world{now: now.Truncate(time.Millisecond), rules: rules, convs: map[string]*tracked{}, agents: map[string]*trackedAgent{}, freed: map[string]bool{}, queued: map[string]int{}, loaded: map[string]bool{}, routed: map[string]int{}, sought: map[string]bool{}, ids: newID}
}

// track registers a loaded conversation and returns the copy to change.
func (w *world) track(c *engine.Conversation) *engine.Conversation {
	if c == nil {
		return nil
	}
	if t, ok := w.convs[c.ID]; ok {
		return t.c
	}
	before := *c
	cp := cloneConversation(c)
	w.convs[c.ID] = &tracked{before: &before, c: cp}
	return cp
}

func cloneConversation(c *engine.Conversation) *engine.Conversation {
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
		cp.Deadlines = make(map[engine.Timer]time.Time, len(c.Deadlines))
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

// trackAgent registers a loaded agent and returns the copy to change.
func (w *world) trackAgent(a *engine.Agent) *engine.Agent {
	if t, ok := w.agents[a.ID]; ok {
		return t.a
	}
	w.sought[a.ID] = true
	cp := *a
	cp.Departments = slices.Clone(a.Departments)
	w.agents[a.ID] = &trackedAgent{before: *a, a: &cp}
	return &cp
}

func (w *world) agent(id string) *engine.Agent {
	if t, ok := w.agents[id]; ok {
		return t.a
	}
	return nil
}

// held returns the agent whose record (load, pause) a decision changes.
// One that was never looked for is noted: the decision's loading missed it,
// and committing would lose the change silently.
func (w *world) held(id string) *engine.Agent {
	a := w.agent(id)
	if a == nil && id != "" && !w.sought[id] {
		w.unloaded = append(w.unloaded, id)
	}
	return a
}

// agentName is an agent's name for a system line, the id when the agent
// is not loaded or has no name.
func (w *world) agentName(id string) string {
	if a := w.agent(id); a != nil && a.Name != "" {
		return a.Name
	}
	return id
}

// conversation returns the tracked conversation with id, or nil.
func (w *world) conversation(id string) *engine.Conversation {
	if t, ok := w.convs[id]; ok && id != "" {
		return t.c
	}
	return nil
}

func (w *world) newConversation(kind engine.Kind, state engine.State, dept string) *engine.Conversation {
	c := &engine.Conversation{
		ID: w.ids(), Contact: w.contact.Address, Channel: w.contact.Address.Channel(), Department: dept,
		Kind: kind, State: state, CreatedAt: w.now, UpdatedAt: w.now, ContactName: w.contact.Name,
	}
	w.convs[c.ID] = &tracked{c: c}
	return c
}

func (w *world) touchContact() { w.contactDirty = true }

// add appends a message to a conversation.
func (w *world) add(c *engine.Conversation, m engine.Message) {
	m.ConversationID = c.ID
	if m.ID == "" {
		m.ID = w.ids()
	}
	if m.At.IsZero() {
		m.At = w.now
	}
	c.UpdatedAt = w.now
	if m.Direction == engine.DirIn || m.Direction == engine.DirOut {
		c.LastActivityAt = w.now
		// Parley's own texts (the YES/NO question, the queue position) would
		// hide what the customer or the agent said: the preview skips them.
		if m.Author != engine.SystemAuthor {
			c.Preview = preview(m)
		}
	}
	if m.Direction == engine.DirOut && m.Author != "" && m.Author != engine.SystemAuthor && !strings.HasPrefix(m.Author, "bot:") {
		c.LastResponder = m.Author
	}
	w.messages = append(w.messages, m)
	kind := EventMessageOut
	switch m.Direction {
	case engine.DirIn:
		kind = EventMessageIn
	case engine.DirSystem, engine.DirNote:
		kind = EventNote
	}
	w.emit(kind, c, m.ID)
}

// say queues a text from Parley to the contact. Nothing is queued for an
// empty text (a text switched off) or a contact who opted out.
func (w *world) say(c *engine.Conversation, text string) {
	if text == "" || w.contact.OptedOut {
		return
	}
	w.add(c, engine.Message{Direction: engine.DirOut, Author: engine.SystemAuthor, To: c.Contact, Body: text, Status: channels.StatusQueued})
}

// note records an event in the conversation's history.
func (w *world) note(c *engine.Conversation, text string) {
	w.add(c, engine.Message{Direction: engine.DirSystem, Author: engine.SystemAuthor, Body: text})
}

// emit notes an event; Store.write describes the conversation as committed.
func (w *world) emit(kind string, c *engine.Conversation, messageID string) {
	w.events = append(w.events, Event{Type: kind, ConversationID: c.ID, MessageID: messageID, At: w.now})
}

func (w *world) arm(c *engine.Conversation, t engine.Timer, at time.Time) {
	if c.Deadlines == nil {
		c.Deadlines = map[engine.Timer]time.Time{}
	}
	c.Deadlines[t] = at
}

func (w *world) disarm(c *engine.Conversation, timers ...engine.Timer) {
	for _, t := range timers {
		delete(c.Deadlines, t)
	}
}

// armChatTimers sets a live chat's inactivity deadline and, while the
// customer waits for an answer, the agent's response deadline (unless one
// already runs from an earlier unanswered message). Flagged chats have none.
func (w *world) armChatTimers(c *engine.Conversation) {
	if c.Flagged || c.State != engine.StateLive {
		w.disarm(c, engine.TimerAgentResponse, engine.TimerInactivity)
		return
	}
	w.arm(c, engine.TimerInactivity, w.now.Add(w.rules.Timeouts.Inactivity))
	if !c.AwaitingAgent {
		w.disarm(c, engine.TimerAgentResponse)
	} else if _, running := c.Deadlines[engine.TimerAgentResponse]; !running {
		w.arm(c, engine.TimerAgentResponse, w.now.Add(w.rules.Timeouts.AgentResponse))
	}
}

// assign gives a chat to an agent and makes it live. Routing and transfers
// count it against the agent's capacity at commit (fit); an agent reopening
// a chat takes it whatever their load.
func (w *world) assign(c *engine.Conversation, a *engine.Agent, fit bool) {
	if fit {
		w.routed[a.ID]++
	}
	c.Assignee, c.AssignedAt, c.State = a.ID, w.now, engine.StateLive
	a.Load++
	a.LastAssigned = w.now
	w.disarm(c, engine.TimerQueue, engine.TimerAgentResponse)
	w.armChatTimers(c)
	w.note(c, "Chat assigned to "+a.Name)
	w.emit(EventAssigned, c, "")
}

// release takes a live chat off its agent's load.
func (w *world) release(c *engine.Conversation) {
	if c.State != engine.StateLive || c.Assignee == "" {
		return
	}
	if a := w.held(c.Assignee); a != nil && a.Load > 0 {
		a.Load--
		for _, d := range a.Departments {
			w.freed[d] = true
		}
	}
}

// closeConversation ends a chat or a ticket.
func (w *world) closeConversation(c *engine.Conversation, cl engine.Closure) {
	w.release(c)
	cl.At = w.now
	c.State, c.Closed, c.AwaitingAgent = engine.StateClosed, &cl, false
	if c.Session == engine.SessionAsking || c.Session == engine.SessionCollecting {
		c.Session = engine.SessionEnded
	}
	w.disarm(c, engine.TimerQueue, engine.TimerAgentResponse, engine.TimerInactivity, engine.TimerPending, engine.TimerSession)
	if c.Kind == engine.KindTicket {
		w.arm(c, engine.TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
	}
	w.unlink(c)
	w.emit(EventClosed, c, "")
	if cl.Reason == engine.ReasonCustomer {
		w.offerTranscript(c)
	}
	if c.Kind == engine.KindChat && w.rules.Survey.Enabled && (cl.Reason == engine.ReasonAgent || cl.Reason == engine.ReasonCustomer) {
		w.say(c, w.rules.Survey.Question)
		w.contact.Survey = c.ID
		w.touchContact()
	}
}

// unlink clears the contact's pointer to a conversation that is no longer open.
func (w *world) unlink(c *engine.Conversation) {
	if w.contact.Chat == c.ID {
		w.contact.Chat = ""
		w.touchContact()
	}
	if w.contact.Ticket == c.ID {
		w.contact.Ticket = ""
		w.touchContact()
	}
}

// pickAgent chooses who gets a chat: among the available agents of the
// department not in exclude, the one with the fewest live chats; on a tie,
// the one whose last chat was assigned longest ago; then by id, so the
// choice is the same on every run.
func pickAgent(agents []*engine.Agent, dept string, exclude []string) *engine.Agent {
	var best *engine.Agent
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
func (w *world) deptAgents(dept string) []*engine.Agent {
	var out []*engine.Agent
	for _, t := range w.agents {
		if t.a.InDepartment(dept) {
			out = append(out, t.a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// anyTakesChats reports whether some agent of the department is online and
// accepting chats, whatever their load.
func (w *world) anyTakesChats(dept string) bool {
	for _, a := range w.deptAgents(dept) {
		if a.TakesChats() {
			return true
		}
	}
	return false
}

// word is a customer message reduced for keyword matching: trimmed, upper case.
func word(body string) string { return strings.ToUpper(strings.TrimSpace(body)) }

const (
	wordYes = "YES"
	wordNo  = "NO"
	wordEnd = "//END"
)

// preview shortens a message for lists.
func preview(m engine.Message) string {
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
