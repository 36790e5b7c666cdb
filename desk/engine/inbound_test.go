package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/config/configtest"
)

// The engine's rules, one row each, decided on in-memory worlds with a
// fixed clock: no Redis, no jobs.

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday

type scene struct {
	t     *testing.T
	w     *World
	rules *config.Engine
	bot   *config.Bot // the bot taking new conversations, if any
}

func newScene(t *testing.T) *scene {
	rules := configtest.Rules(t)
	w := NewWorld(t0, rules)
	w.Contact = &Contact{Address: "whatsapp:+27820000001", LastInbound: t0.Add(-time.Minute), Version: 1}
	w.ContactBefore = *w.Contact
	return &scene{t: t, w: w, rules: rules}
}

// agent adds an agent of the default department.
func (s *scene) agent(id string, load int, takes bool) *Agent {
	a := &Agent{ID: id, Name: id, Departments: []string{"general"}, Capacity: 2, Load: load, Version: 1}
	if takes {
		a.Presence, a.Accepting = Online, true
	} else {
		a.Presence = Offline
	}
	return s.w.TrackAgent(a)
}

func (s *scene) chat(state State, assignee string) *Conversation {
	c := &Conversation{ID: "chat1", Contact: s.w.Contact.Address, Channel: channels.WhatsApp, Department: "general",
		Kind: KindChat, State: state, Assignee: assignee, CreatedAt: t0.Add(-time.Hour), Version: 3}
	s.w.Contact.Chat = c.ID
	return s.w.Track(c)
}

func (s *scene) ticket(state State, session Session) *Conversation {
	c := &Conversation{ID: "ticket1", Contact: s.w.Contact.Address, Channel: channels.WhatsApp, Department: "general",
		Kind: KindTicket, State: state, Session: session, CreatedAt: t0.Add(-2 * time.Hour), Version: 5}
	s.w.Contact.Ticket = c.ID
	return s.w.Track(c)
}

// in delivers a customer message in business hours (open) or not.
func (s *scene) in(body string, open bool) Message {
	m := Message{ID: NewID(), Direction: DirIn, Body: body}
	s.w.OnInbound(m, "general", open, s.bot)
	return m
}

// at moves the clock and fires the conversation's due timers.
func (s *scene) at(d time.Duration, c *Conversation) {
	s.w.Now = t0.Add(d)
	s.w.OnTimers(c)
}

// sent lists the texts queued for the customer, in order.
func (s *scene) sent() []string {
	var out []string
	for _, m := range s.w.Messages {
		if m.Direction == DirOut {
			out = append(out, m.Body)
		}
	}
	return out
}

func (s *scene) conv(id string) *Conversation { return s.w.Conversation(id) }

// only returns the one conversation the world created or changed of a kind.
func (s *scene) onlyNew(kind Kind) *Conversation {
	s.t.Helper()
	var found []*Conversation
	for _, tr := range s.w.Convs {
		if tr.Before == nil && tr.Conv.Kind == kind {
			found = append(found, tr.Conv)
		}
	}
	if len(found) != 1 {
		s.t.Fatalf("want exactly one new %s, got %d", kind, len(found))
	}
	return found[0]
}

func (s *scene) holds(c *Conversation, msgID string) bool {
	for _, m := range s.w.Messages {
		if m.ID == msgID {
			return m.ConversationID == c.ID
		}
	}
	return false
}

func wantState(t *testing.T, c *Conversation, kind Kind, state State, session Session) {
	t.Helper()
	if c.Kind != kind || c.State != state || c.Session != session {
		t.Fatalf("conversation is %s/%s/%q, want %s/%s/%q", c.Kind, c.State, c.Session, kind, state, session)
	}
}

func wantSent(t *testing.T, s *scene, want ...string) {
	t.Helper()
	if got := s.sent(); !slices.Equal(got, want) {
		t.Fatalf("sent %q, want %q", got, want)
	}
}

func wantDeadline(t *testing.T, c *Conversation, timer Timer, at time.Time) {
	t.Helper()
	if got, ok := c.Deadlines[timer]; !ok || !got.Equal(at) {
		t.Fatalf("%s deadline = %v (set %v), want %v", timer, got, ok, at)
	}
}

func wantNoDeadline(t *testing.T, c *Conversation, timers ...Timer) {
	t.Helper()
	for _, timer := range timers {
		if at, ok := c.Deadlines[timer]; ok {
			t.Fatalf("%s deadline set at %v, want none", timer, at)
		}
	}
}

func TestEngineRules(t *testing.T) {
	rows := []struct {
		name string
		run  func(t *testing.T, s *scene)
	}{
		// Inbound, in business hours.
		{"new contact is routed at once to an available agent", func(t *testing.T, s *scene) {
			a := s.agent("ann", 0, true)
			m := s.in("hello", true)
			c := s.onlyNew(KindChat)
			wantState(t, c, KindChat, StateLive, SessionNone)
			if c.Assignee != "ann" || a.Load != 1 || !s.holds(c, m.ID) || s.w.Contact.Chat != c.ID {
				t.Fatalf("chat %+v, ann's load %d", c, a.Load)
			}
			wantDeadline(t, c, TimerAgentResponse, t0.Add(2*time.Minute))
			wantDeadline(t, c, TimerInactivity, t0.Add(10*time.Minute))
		}},
		{"routing prefers the agent with the fewest live chats", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true)
			s.agent("bob", 0, true)
			s.in("hello", true)
			if c := s.onlyNew(KindChat); c.Assignee != "bob" {
				t.Fatalf("assigned to %s, want bob", c.Assignee)
			}
		}},
		{"on a tie routing prefers the agent idle longest", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true).LastAssigned = t0.Add(-time.Minute)
			s.agent("bob", 1, true).LastAssigned = t0.Add(-time.Hour)
			s.in("hello", true)
			if c := s.onlyNew(KindChat); c.Assignee != "bob" {
				t.Fatalf("assigned to %s, want bob", c.Assignee)
			}
		}},
		{"agents at capacity: the chat waits in the queue", func(t *testing.T, s *scene) {
			s.agent("ann", 2, true)
			s.w.Queued["general"] = 2
			s.in("hello", true)
			c := s.onlyNew(KindChat)
			wantState(t, c, KindChat, StateQueued, SessionNone)
			wantDeadline(t, c, TimerQueue, t0.Add(5*time.Minute))
			wantSent(t, s, "Thanks for waiting: an agent will be with you shortly. You are number 3 in the queue.")
		}},
		{"queue timeout 0: agents at capacity means leave a message", func(t *testing.T, s *scene) {
			s.rules.Timeouts.Queue = 0
			s.agent("ann", 2, true)
			s.in("hello", true)
			c := s.onlyNew(KindTicket)
			wantState(t, c, KindTicket, StateUnassigned, SessionAsking)
			wantSent(t, s, s.rules.Texts.NoAgent, s.rules.Texts.LeaveMessage)
		}},
		{"no agent online: the no-agent text and the question", func(t *testing.T, s *scene) {
			s.agent("ann", 0, false)
			s.in("hello", true)
			wantState(t, s.onlyNew(KindTicket), KindTicket, StateUnassigned, SessionAsking)
			wantSent(t, s, s.rules.Texts.NoAgent, s.rules.Texts.LeaveMessage)
		}},
		{"a paused agent gets no chats", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true).Paused = true
			s.in("hello", true)
			s.onlyNew(KindTicket)
		}},
		{"out of hours: the out-of-hours text and the question", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true)
			s.in("hello", false)
			wantState(t, s.onlyNew(KindTicket), KindTicket, StateUnassigned, SessionAsking)
			wantSent(t, s, s.rules.Texts.OutOfHours, s.rules.Texts.LeaveMessage)
		}},
		{"a message in a live chat goes to that chat and starts the agent's clock", func(t *testing.T, s *scene) {
			c := s.chat(StateLive, "ann")
			m := s.in("one more thing", true)
			if !s.holds(c, m.ID) || !c.AwaitingAgent {
				t.Fatal("message not on the live chat, or not awaiting the agent")
			}
			wantDeadline(t, c, TimerAgentResponse, t0.Add(2*time.Minute))
		}},
		{"an unanswered customer keeps the earliest agent deadline", func(t *testing.T, s *scene) {
			c := s.chat(StateLive, "ann")
			s.in("one", true)
			s.w.Now = t0.Add(time.Minute)
			s.in("two", true)
			wantDeadline(t, c, TimerAgentResponse, t0.Add(2*time.Minute))
			wantDeadline(t, c, TimerInactivity, t0.Add(11*time.Minute))
		}},
		{"a reply to a pending chat makes it live with the same agent", func(t *testing.T, s *scene) {
			a := s.agent("ann", 0, true)
			c := s.chat(StatePending, "ann")
			s.w.arm(c, TimerPending, t0.Add(time.Hour))
			s.in("back again", true)
			wantState(t, c, KindChat, StateLive, SessionNone)
			if c.Assignee != "ann" || a.Load != 1 {
				t.Fatalf("assignee %s load %d", c.Assignee, a.Load)
			}
			wantNoDeadline(t, c, TimerPending)
		}},
		{"//end in a live chat ends it, by the customer", func(t *testing.T, s *scene) {
			a := s.agent("ann", 1, true)
			c := s.chat(StateLive, "ann")
			s.in(" //END ", true)
			wantState(t, c, KindChat, StateClosed, SessionNone)
			if c.Closed.By != "customer" || a.Load != 0 || s.w.Contact.Chat != "" {
				t.Fatalf("closure %+v, load %d, contact chat %q", c.Closed, a.Load, s.w.Contact.Chat)
			}
		}},

		// The leave-a-message flow.
		{"1: the first message makes an unassigned ticket holding it, then the texts", func(t *testing.T, s *scene) {
			m := s.in("my order is late", false)
			c := s.onlyNew(KindTicket)
			if !s.holds(c, m.ID) || s.w.Contact.Ticket != c.ID {
				t.Fatal("message not on the new ticket")
			}
			wantSent(t, s, s.rules.Texts.OutOfHours, s.rules.Texts.LeaveMessage)
		}},
		{"2: YES collects: later messages join the ticket", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionAsking)
			s.in("yes", false)
			wantState(t, c, KindTicket, StateUnassigned, SessionCollecting)
			wantSent(t, s, s.rules.Texts.Collecting)
			m := s.in("order 1234", false)
			if !s.holds(c, m.ID) {
				t.Fatal("message after YES not on the ticket")
			}
		}},
		{"3: NO ends the session at once", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionAsking)
			s.in(" No ", false)
			wantState(t, c, KindTicket, StateUnassigned, SessionEnded)
			wantNoDeadline(t, c, TimerSession)
			wantSent(t, s, s.rules.Texts.Declined)
		}},
		{"4: no answer: the session expires after the inactivity timeout", func(t *testing.T, s *scene) {
			s.in("hello", false)
			c := s.onlyNew(KindTicket)
			wantDeadline(t, c, TimerSession, t0.Add(10*time.Minute))
			s.at(10*time.Minute, c)
			wantState(t, c, KindTicket, StateUnassigned, SessionEnded)
		}},
		{"5: another reply: the question again, the reply kept", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionAsking)
			m := s.in("what?", false)
			wantState(t, c, KindTicket, StateUnassigned, SessionAsking)
			wantSent(t, s, s.rules.Texts.LeaveMessage)
			if !s.holds(c, m.ID) {
				t.Fatal("the reply was not kept")
			}
		}},
		{"6: NO after YES is an ordinary message", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionCollecting)
			m := s.in("no", false)
			wantState(t, c, KindTicket, StateUnassigned, SessionCollecting)
			wantSent(t, s)
			if !s.holds(c, m.ID) {
				t.Fatal("NO after YES not on the ticket")
			}
		}},
		{"7: //end ends the session; the next message starts from scratch", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionCollecting)
			s.in("//end", false)
			wantState(t, c, KindTicket, StateUnassigned, SessionEnded)
			wantSent(t, s, s.rules.Texts.Ended)
			s.w.Messages = nil
			s.in("hello again", false)
			wantState(t, c, KindTicket, StateUnassigned, SessionAsking)
			wantSent(t, s, s.rules.Texts.OutOfHours, s.rules.Texts.LeaveMessage)
		}},
		{"8: //end before YES or NO also ends the session", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionAsking)
			s.in("//end", false)
			wantState(t, c, KindTicket, StateUnassigned, SessionEnded)
		}},
		{"9: after YES the session expires after the last message", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionAsking)
			s.in("yes", false)
			s.w.Now = t0.Add(4 * time.Minute)
			s.in("detail", false)
			wantDeadline(t, c, TimerSession, t0.Add(14*time.Minute))
			s.at(13*time.Minute, c)
			wantState(t, c, KindTicket, StateUnassigned, SessionCollecting)
			s.at(14*time.Minute, c)
			wantState(t, c, KindTicket, StateUnassigned, SessionEnded)
		}},

		// Tickets.
		{"an open ticket takes the messages of a contact who again cannot reach anyone", func(t *testing.T, s *scene) {
			c := s.ticket(StateAssigned, SessionEnded)
			c.Assignee = "ann"
			m := s.in("still waiting", false)
			if !s.holds(c, m.ID) || len(s.w.Convs) != 1 {
				t.Fatalf("message on %d conversations, want the open ticket only", len(s.w.Convs))
			}
			wantState(t, c, KindTicket, StateAssigned, SessionAsking)
		}},
		{"a live chat closes the contact's open ticket", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true)
			tk := s.ticket(StateUnassigned, SessionEnded)
			s.in("hello", true)
			wantState(t, tk, KindTicket, StateClosed, SessionEnded)
			if tk.Closed.Reason != ReasonLiveChat || s.w.Contact.Ticket != "" {
				t.Fatalf("ticket closure %+v, contact ticket %q", tk.Closed, s.w.Contact.Ticket)
			}
		}},
		{"the customer answering an agent's ticket reply stays on the ticket", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true)
			tk := s.ticket(StateAssigned, SessionEnded)
			tk.Assignee, tk.AgentReplied = "ann", true
			m := s.in("thanks, and...", true)
			if !s.holds(tk, m.ID) || tk.State != StateAssigned || !tk.AwaitingAgent {
				t.Fatalf("ticket %+v", tk)
			}
		}},
		{"a quiet ticket is archived after ticket_archive_after", func(t *testing.T, s *scene) {
			s.in("hello", false)
			c := s.onlyNew(KindTicket)
			wantDeadline(t, c, TimerArchive, t0.Add(90*24*time.Hour))
			s.at(90*24*time.Hour, c)
			if c.State != StateArchived || s.w.Contact.Ticket != "" {
				t.Fatalf("state %s, contact ticket %q", c.State, s.w.Contact.Ticket)
			}
		}},

		// Live chat timers.
		{"queue timeout: the chat becomes a ticket and the customer is asked", func(t *testing.T, s *scene) {
			c := s.chat(StateQueued, "")
			s.w.arm(c, TimerQueue, t0.Add(5*time.Minute))
			s.at(5*time.Minute, c)
			wantState(t, c, KindTicket, StateUnassigned, SessionAsking)
			wantSent(t, s, s.rules.Texts.NoAgent, s.rules.Texts.LeaveMessage)
			if s.w.Contact.Chat != "" || s.w.Contact.Ticket != c.ID {
				t.Fatalf("contact %+v", s.w.Contact)
			}
		}},
		{"queue timeout with an open ticket: merged into it", func(t *testing.T, s *scene) {
			tk := s.ticket(StateUnassigned, SessionEnded)
			c := s.chat(StateQueued, "")
			s.w.arm(c, TimerQueue, t0.Add(5*time.Minute))
			s.at(5*time.Minute, c)
			if c.State != StateClosed || c.MergedInto != tk.ID || !slices.Contains(tk.Merged, c.ID) {
				t.Fatalf("chat %+v, ticket merged %v", c, tk.Merged)
			}
			wantState(t, tk, KindTicket, StateUnassigned, SessionAsking)
		}},
		{"agent response timeout: re-routed, the ignoring agent paused", func(t *testing.T, s *scene) {
			ann := s.agent("ann", 1, true)
			bob := s.agent("bob", 1, true)
			c := s.chat(StateLive, "ann")
			c.AwaitingAgent = true
			s.w.arm(c, TimerAgentResponse, t0.Add(2*time.Minute))
			s.at(2*time.Minute, c)
			if c.Assignee != "bob" || c.State != StateLive || ann.Load != 0 || bob.Load != 2 || !ann.Paused {
				t.Fatalf("chat on %s (%s); ann load %d paused %v; bob load %d", c.Assignee, c.State, ann.Load, ann.Paused, bob.Load)
			}
			wantDeadline(t, c, TimerAgentResponse, t0.Add(4*time.Minute))
		}},
		{"agent response timeout: never routed back to the agent who ignored it", func(t *testing.T, s *scene) {
			s.rules.PauseIgnoringAgent = false
			s.agent("ann", 1, true)
			c := s.chat(StateLive, "ann")
			c.AwaitingAgent = true
			s.w.arm(c, TimerAgentResponse, t0.Add(2*time.Minute))
			s.at(2*time.Minute, c)
			if c.State != StateQueued || c.Assignee != "" || s.w.Agent("ann").Paused {
				t.Fatalf("chat %s on %q", c.State, c.Assignee)
			}
			wantDeadline(t, c, TimerQueue, t0.Add(7*time.Minute))
		}},
		{"agent response timeout: a flagged chat stays", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true)
			s.agent("bob", 0, true)
			c := s.chat(StateLive, "ann")
			c.AwaitingAgent, c.Flagged = true, true
			s.w.arm(c, TimerAgentResponse, t0.Add(2*time.Minute))
			s.at(2*time.Minute, c)
			if c.Assignee != "ann" || c.State != StateLive {
				t.Fatalf("flagged chat moved to %s (%s)", c.Assignee, c.State)
			}
		}},
		{"inactivity with the customer unanswered: converted to a ticket", func(t *testing.T, s *scene) {
			a := s.agent("ann", 1, true)
			c := s.chat(StateLive, "ann")
			c.AwaitingAgent = true
			s.w.arm(c, TimerInactivity, t0.Add(10*time.Minute))
			s.at(10*time.Minute, c)
			wantState(t, c, KindTicket, StateUnassigned, SessionNone)
			if a.Load != 0 || c.Assignee != "" {
				t.Fatalf("load %d assignee %q", a.Load, c.Assignee)
			}
			wantSent(t, s)
		}},
		{"inactivity with nothing unanswered: closed by the system", func(t *testing.T, s *scene) {
			a := s.agent("ann", 1, true)
			c := s.chat(StateLive, "ann")
			s.w.arm(c, TimerInactivity, t0.Add(10*time.Minute))
			s.at(10*time.Minute, c)
			wantState(t, c, KindChat, StateClosed, SessionNone)
			if c.Closed.By != "system" || c.Closed.Reason != ReasonInactivity || a.Load != 0 {
				t.Fatalf("closure %+v load %d", c.Closed, a.Load)
			}
		}},
		{"inactivity: a flagged chat is neither closed nor converted", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true)
			c := s.chat(StateLive, "ann")
			c.Flagged, c.AwaitingAgent = true, true
			s.w.arm(c, TimerInactivity, t0.Add(10*time.Minute))
			s.at(10*time.Minute, c)
			wantState(t, c, KindChat, StateLive, SessionNone)
		}},
		{"pending timeout: closed by the system", func(t *testing.T, s *scene) {
			c := s.chat(StatePending, "ann")
			s.w.arm(c, TimerPending, t0.Add(time.Hour))
			s.at(time.Hour, c)
			wantState(t, c, KindChat, StateClosed, SessionNone)
			if c.Closed.Reason != ReasonPendingTimeout {
				t.Fatalf("closure %+v", c.Closed)
			}
		}},
		{"a deadline not yet due does nothing", func(t *testing.T, s *scene) {
			c := s.chat(StatePending, "ann")
			s.w.arm(c, TimerPending, t0.Add(time.Hour))
			s.at(59*time.Minute, c)
			wantState(t, c, KindChat, StatePending, SessionNone)
		}},
		// The post-chat survey.
		{"survey: a chat closed by its agent asks for a rating", func(t *testing.T, s *scene) {
			s.rules.Survey.Enabled = true
			s.agent("ann", 1, true)
			c := s.chat(StateLive, "ann")
			s.w.closeConversation(c, Closure{By: "ann", Reason: ReasonAgent})
			wantSent(t, s, s.rules.Survey.Question)
			if s.w.Contact.Survey != c.ID {
				t.Fatalf("contact survey %q, want %s", s.w.Contact.Survey, c.ID)
			}
		}},
		{"survey: no question after a system close, or when disabled", func(t *testing.T, s *scene) {
			s.rules.Survey.Enabled = true
			c := s.chat(StateLive, "ann")
			s.w.closeConversation(c, Closure{By: "system", Reason: ReasonInactivity})
			s.rules.Survey.Enabled = false
			d := s.chat(StateLive, "ann")
			s.w.closeConversation(d, Closure{By: "ann", Reason: ReasonAgent})
			wantSent(t, s)
		}},
		{"survey: a 1-5 answer is kept on the closed chat", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true)
			c := s.chat(StateClosed, "ann")
			s.w.Contact.Chat, s.w.Contact.Survey = "", c.ID
			m := s.in("4 - quick and friendly", true)
			if c.Rating == nil || c.Rating.Score != 4 || c.Rating.Comment != "quick and friendly" || !s.holds(c, m.ID) {
				t.Fatalf("rating %+v", c.Rating)
			}
			wantSent(t, s, s.rules.Survey.Thanks)
			if s.w.Contact.Survey != "" || len(s.w.Convs) != 1 {
				t.Fatal("the answer opened another conversation or left the survey pending")
			}
		}},
		{"survey: anything else is an ordinary new message", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true)
			c := s.chat(StateClosed, "ann")
			s.w.Contact.Chat, s.w.Contact.Survey = "", c.ID
			s.in("I have another question", true)
			if c.Rating != nil || s.w.Contact.Survey != "" {
				t.Fatalf("rating %+v", c.Rating)
			}
			wantState(t, s.onlyNew(KindChat), KindChat, StateLive, SessionNone)
		}},
		{"autoresponders are not sent to an opted-out contact", func(t *testing.T, s *scene) {
			s.w.Contact.OptedOut = true
			s.in("hello", false)
			wantSent(t, s)
		}},

		// What the desk's cards show.
		{"a ticket's preview is the customer's message, not Parley's question or a YES", func(t *testing.T, s *scene) {
			s.in("my order is late", false)
			c := s.onlyNew(KindTicket)
			if c.Preview != "my order is late" {
				t.Fatalf("preview after the question %q", c.Preview)
			}
			s.in("yes", false)
			if c.Preview != "my order is late" {
				t.Fatalf("preview after YES %q", c.Preview)
			}
			s.in("it is order 42", false)
			if c.Preview != "it is order 42" {
				t.Fatalf("preview after a message %q", c.Preview)
			}
		}},
		{"a ticket the customer declined with NO waits for nobody", func(t *testing.T, s *scene) {
			s.in("hello", false)
			c := s.onlyNew(KindTicket)
			s.in("no", false)
			if c.AwaitingAgent || c.Session != SessionEnded {
				t.Fatalf("declined ticket awaiting %v, session %q", c.AwaitingAgent, c.Session)
			}
		}},
		{"//end before answering leaves nothing waiting", func(t *testing.T, s *scene) {
			s.in("hello", false)
			c := s.onlyNew(KindTicket)
			s.in("//end", false)
			if c.AwaitingAgent {
				t.Fatal("a ticket ended before YES still awaits an agent")
			}
		}},
		{"//end after YES keeps the left message waiting", func(t *testing.T, s *scene) {
			c := s.ticket(StateUnassigned, SessionCollecting)
			s.in("please call me", false)
			s.in("//end", false)
			if !c.AwaitingAgent {
				t.Fatal("the message left after YES is not awaiting an agent")
			}
		}},
		{"the last responder is the agent who last wrote, not Parley or a bot", func(t *testing.T, s *scene) {
			c := s.chat(StateLive, "ann")
			s.w.add(c, Message{Direction: DirOut, Author: "ann", Body: "hi"})
			s.w.say(c, "an automatic text")
			s.w.add(c, Message{Direction: DirOut, Author: "bot:faq", Body: "a bot's text"})
			if c.LastResponder != "ann" {
				t.Fatalf("last responder %q, want ann", c.LastResponder)
			}
		}},
		{"a system line names the agent, not the user id", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true).Name = "Ann Agent"
			tk := s.ticket(StateUnassigned, SessionEnded)
			s.w.Route(s.chat(StateQueued, ""), tk)
			var lines []string
			for _, m := range s.w.Messages {
				if m.ConversationID == tk.ID && m.Direction == DirSystem {
					lines = append(lines, m.Body)
				}
			}
			if !slices.Contains(lines, "Closed: the customer is now in a live chat with Ann Agent") {
				t.Fatalf("the ticket's system lines %q", lines)
			}
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { row.run(t, newScene(t)) })
	}
}

func TestPickAgentIgnoresOtherDepartments(t *testing.T) {
	agents := []*Agent{
		{ID: "sales1", Departments: []string{"sales"}, Presence: Online, Accepting: true, Capacity: 1},
		{ID: "sup1", Departments: []string{"support"}, Presence: Online, Accepting: true, Capacity: 1, Load: 1},
	}
	if a := pickAgent(agents, "support", nil); a != nil {
		t.Fatalf("picked %s for support, whose only agent is full", a.ID)
	}
	if a := pickAgent(agents, "sales", nil); a == nil || a.ID != "sales1" {
		t.Fatalf("picked %v for sales", a)
	}
}

func TestParseRating(t *testing.T) {
	for _, tc := range []struct {
		in      string
		score   int
		comment string
		ok      bool
	}{
		{"5", 5, "", true},
		{" 1 terrible ", 1, "terrible", true},
		{"3. ok I guess", 3, "ok I guess", true},
		{"10", 0, "", false},
		{"0", 0, "", false},
		{"6", 0, "", false},
		{"great", 0, "", false},
		{"", 0, "", false},
	} {
		score, comment, ok := parseRating(tc.in)
		if score != tc.score || comment != tc.comment || ok != tc.ok {
			t.Errorf("parseRating(%q) = %d %q %v, want %d %q %v", tc.in, score, comment, ok, tc.score, tc.comment, tc.ok)
		}
	}
}
