package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/settings"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// Operations and races on a real Redis, through the Service.

func seed(t *testing.T, f fixture, agents ...config.Agent) {
	t.Helper()
	if err := f.svc.SeedAgents(context.Background(), agents); err != nil {
		t.Fatal(err)
	}
}

func online(id string, capacity int) config.Agent {
	return config.Agent{ID: id, Name: id, Capacity: capacity, Online: true}
}

// liveChat opens a chat from a new contact, routed to an online agent.
func liveChat(t *testing.T, f fixture, from string) *engine.Conversation {
	t.Helper()
	r, err := f.svc.Receive(context.Background(), inbound("SM"+from, from, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.store.Conversation(context.Background(), r.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tickets makes n unassigned tickets, one per contact, a second apart.
func tickets(t *testing.T, f fixture, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		r, err := f.svc.Receive(context.Background(), inbound(fmt.Sprintf("SMt%d", i), fmt.Sprintf("whatsapp:+2783%07d", i), "help"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ConversationID)
		f.clock.Add(time.Second)
	}
	return ids
}

func TestAcceptRaceHasOneWinner(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var agents []config.Agent
	for i := range 20 {
		agents = append(agents, config.Agent{ID: fmt.Sprintf("a%02d", i)})
	}
	seed(t, f, agents...)
	id := tickets(t, f, 1)[0]
	var wins, lost int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			err := f.svc.AcceptTicket(ctx, engine.Actor{ID: fmt.Sprintf("a%02d", i), Role: "agent"}, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, engine.ErrWrongState):
				lost++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || lost != 19 {
		t.Fatalf("%d won, %d lost; want 1 and 19", wins, lost)
	}
	c, _ := f.store.Conversation(ctx, id)
	if c.State != engine.StateAssigned || c.Assignee == "" {
		t.Fatalf("ticket %s assigned to %q", c.State, c.Assignee)
	}
}

func TestQuickAcceptRaceTakesEachTicketOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var agents []config.Agent
	for i := range 10 {
		agents = append(agents, config.Agent{ID: fmt.Sprintf("a%d", i)})
	}
	seed(t, f, agents...)
	ids := tickets(t, f, 30)
	taken := make([][]string, 10)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			got, err := f.svc.QuickAccept(ctx, engine.Actor{ID: fmt.Sprintf("a%d", i), Role: "agent"}, 5)
			if err != nil {
				t.Error(err)
			}
			taken[i] = got
		})
	}
	wg.Wait()
	seen := map[string]string{}
	for i, got := range taken {
		if !slices.IsSortedFunc(got, func(a, b string) int { return slices.Index(ids, a) - slices.Index(ids, b) }) {
			t.Fatalf("agent a%d took %v, not oldest first", i, got)
		}
		for _, id := range got {
			if other, dup := seen[id]; dup {
				t.Fatalf("ticket %s taken by a%d and %s", id, i, other)
			}
			seen[id] = fmt.Sprintf("a%d", i)
			c, _ := f.store.Conversation(ctx, id)
			if c.Assignee != fmt.Sprintf("a%d", i) {
				t.Fatalf("ticket %s assigned to %s, reported taken by a%d", id, c.Assignee, i)
			}
		}
	}
	if len(seen) != 30 {
		t.Fatalf("%d tickets taken, want all 30", len(seen))
	}
}

func TestQuickAcceptTakesTheOldest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, config.Agent{ID: "ann"})
	ids := tickets(t, f, 8)
	// One of the oldest is taken by hand first.
	if err := f.svc.AcceptTicket(ctx, engine.Actor{ID: "ann"}, ids[1]); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.QuickAccept(ctx, engine.Actor{ID: "ann"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[0], ids[2], ids[3]}; !slices.Equal(got, want) {
		t.Fatalf("quick accept took %v, want %v", got, want)
	}
}

func TestTicketRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, config.Agent{ID: "ann"}, config.Agent{ID: "bob"})
	id := tickets(t, f, 1)[0]
	ann, bob := engine.Actor{ID: "ann", Role: "agent"}, engine.Actor{ID: "bob", Role: "agent"}
	if _, err := f.svc.Reply(ctx, ann, id, engine.Reply{Body: "hi"}); !errors.Is(err, engine.ErrWrongState) {
		t.Fatalf("reply to an unassigned ticket: %v, want ErrWrongState", err)
	}
	if err := f.svc.AcceptTicket(ctx, ann, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reply(ctx, bob, id, engine.Reply{Body: "hi"}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("reply to someone else's ticket: %v, want ErrNotAllowed", err)
	}
	if err := f.svc.CloseTicket(ctx, ann, id, engine.CloseForm{}); !errors.Is(err, engine.ErrReplyFirst) {
		t.Fatalf("close before replying: %v, want ErrReplyFirst", err)
	}
	if err := f.svc.Transfer(ctx, ann, id, engine.Target{Agent: "bob"}); !errors.Is(err, engine.ErrTicketTransfer) {
		t.Fatalf("transfer a ticket: %v, want ErrTicketTransfer", err)
	}
	if _, err := f.svc.Reply(ctx, ann, id, engine.Reply{Body: "We are on it"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CloseTicket(ctx, bob, id, engine.CloseForm{}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("close someone else's ticket: %v, want ErrNotAllowed", err)
	}
	if err := f.svc.CloseTicket(ctx, ann, id, engine.CloseForm{Sentiment: "positive", Notes: "sorted"}); err != nil {
		t.Fatal(err)
	}
	c, _ := f.store.Conversation(ctx, id)
	if c.State != engine.StateClosed || c.Closed.By != "ann" || c.Closed.Notes != "sorted" {
		t.Fatalf("ticket %s closed %+v", c.State, c.Closed)
	}
	contact, _ := f.store.Contact(ctx, c.Contact)
	if contact.Ticket != "" {
		t.Fatalf("contact still points at closed ticket %s", contact.Ticket)
	}
}

func TestTicketReplyOutsideWindowNeedsTemplate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, config.Agent{ID: "ann"})
	id := tickets(t, f, 1)[0]
	ann := engine.Actor{ID: "ann"}
	if err := f.svc.AcceptTicket(ctx, ann, id); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(25 * time.Hour)
	if _, err := f.svc.Reply(ctx, ann, id, engine.Reply{Body: "sorry for the wait"}); !errors.Is(err, channels.ErrTemplateRequired) {
		t.Fatalf("free text after 24 h: %v, want ErrTemplateRequired", err)
	}
	if _, err := f.svc.Reply(ctx, ann, id, engine.Reply{Template: &channels.Template{ContentSID: "HX1"}}); err != nil {
		t.Fatalf("template after 24 h: %v", err)
	}
}

func TestChatOperations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	annAgent := online("ann", 2)
	annAgent.Name = "Ann Agent"
	seed(t, f, annAgent, online("bob", 2), config.Agent{ID: "sue", Role: "supervisor"})
	ann, bob, sue := engine.Actor{ID: "ann", Role: "agent"}, engine.Actor{ID: "bob", Role: "agent"}, engine.Actor{ID: "sue", Role: "supervisor"}
	c := liveChat(t, f, "whatsapp:+27820000100")
	if c.State != engine.StateLive || c.Assignee != "ann" {
		t.Fatalf("chat %s on %q, want live on ann", c.State, c.Assignee)
	}
	if _, err := f.svc.Reply(ctx, sue, c.ID, engine.Reply{Body: "hi"}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("supervisor writing in a live chat: %v, want ErrNotAllowed", err)
	}
	if _, err := f.svc.Reply(ctx, bob, c.ID, engine.Reply{Body: "hi"}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("another agent writing: %v, want ErrNotAllowed", err)
	}
	if _, err := f.svc.Reply(ctx, ann, c.ID, engine.Reply{Body: "How can I help?"}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Conversation(ctx, c.ID)
	if got.AwaitingAgent || !got.Deadlines[engine.TimerAgentResponse].IsZero() {
		t.Fatalf("after the agent's reply: awaiting %v, agent deadline %v", got.AwaitingAgent, got.Deadlines[engine.TimerAgentResponse])
	}

	if err := f.svc.Flag(ctx, ann, c.ID, true); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.Conversation(ctx, c.ID)
	if !got.Flagged || len(got.Deadlines) != 0 {
		t.Fatalf("flagged chat deadlines %v", got.Deadlines)
	}
	if err := f.svc.Flag(ctx, ann, c.ID, false); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.Conversation(ctx, c.ID)
	if got.Flagged || got.Deadlines[engine.TimerInactivity].IsZero() {
		t.Fatalf("unflagged chat deadlines %v", got.Deadlines)
	}

	if err := f.svc.Transfer(ctx, bob, c.ID, engine.Target{Agent: "bob"}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("transfer by a stranger: %v, want ErrNotAllowed", err)
	}
	if err := f.svc.Transfer(ctx, ann, c.ID, engine.Target{Department: "nobody-here"}); !errors.Is(err, engine.ErrNoAgentAvailable) {
		t.Fatalf("transfer to an empty department: %v, want ErrNoAgentAvailable", err)
	}
	if err := f.svc.SetPresence(ctx, "bob", engine.Away, true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Transfer(ctx, sue, c.ID, engine.Target{Agent: "bob"}); !errors.Is(err, engine.ErrNoAgentAvailable) {
		t.Fatalf("transfer to an agent who is away: %v, want ErrNoAgentAvailable", err)
	}
	if err := f.svc.SetPresence(ctx, "bob", engine.Online, true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Transfer(ctx, sue, c.ID, engine.Target{Department: "general"}); err != nil {
		t.Fatalf("supervisor transfer to the department: %v", err)
	}
	got, _ = f.store.Conversation(ctx, c.ID)
	a, _ := f.store.Agent(ctx, "ann")
	b, _ := f.store.Agent(ctx, "bob")
	if got.Assignee != "bob" || a.Load != 0 || b.Load != 1 {
		t.Fatalf("after transfer: on %s, ann load %d, bob load %d", got.Assignee, a.Load, b.Load)
	}
	hist, _ := f.store.History(ctx, c.ID)
	if last := hist[len(hist)-1]; last.Body != "Transferred from Ann Agent" {
		t.Fatalf("transfer line %q, want the agent's name", last.Body)
	}

	if err := f.svc.MarkPending(ctx, bob, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.Conversation(ctx, c.ID)
	b, _ = f.store.Agent(ctx, "bob")
	if got.State != engine.StatePending || b.Load != 0 || got.Deadlines[engine.TimerPending].IsZero() {
		t.Fatalf("pending: %s, bob load %d, deadlines %v", got.State, b.Load, got.Deadlines)
	}

	if err := f.svc.CloseChat(ctx, bob, c.ID, engine.CloseForm{Sentiment: "great"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("close with an unknown sentiment: %v, want ErrInvalid", err)
	}
	if err := f.svc.CloseChat(ctx, bob, c.ID, engine.CloseForm{Sentiment: "neutral", Tag: "not-a-tag"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("close with an unknown tag: %v, want ErrInvalid", err)
	}
	form := engine.CloseForm{Sentiment: "positive", Notes: "refund issued", Tag: "billing", Refs: []string{"JIRA-12"}}
	if err := f.svc.CloseChat(ctx, bob, c.ID, form); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.Conversation(ctx, c.ID)
	if got.State != engine.StateClosed || got.Closed.Tag != "billing" || got.Closed.Refs[0] != "JIRA-12" || got.Closed.By != "bob" {
		t.Fatalf("closed chat %+v", got.Closed)
	}

	// Reopen: outside the window a template is required.
	f.clock.Add(25 * time.Hour)
	if _, err := f.svc.Reopen(ctx, bob, c.ID, "", engine.Reply{Body: "hello again"}); !errors.Is(err, channels.ErrTemplateRequired) {
		t.Fatalf("reopen with free text after 24 h: %v, want ErrTemplateRequired", err)
	}
	if _, err := f.svc.Reopen(ctx, bob, c.ID, "", engine.Reply{Template: &channels.Template{ContentSID: "HX9"}}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.Conversation(ctx, c.ID)
	if got.State != engine.StateLive || got.Assignee != "bob" {
		t.Fatalf("reopened chat %s on %s", got.State, got.Assignee)
	}
}

// A queued chat is routed the moment an agent frees up.
func TestQueuedChatRoutedWhenAgentFreesUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 1))
	first := liveChat(t, f, "whatsapp:+27820000200")
	second := liveChat(t, f, "whatsapp:+27820000201")
	if first.State != engine.StateLive || second.State != engine.StateQueued {
		t.Fatalf("first %s, second %s; want live and queued", first.State, second.State)
	}
	if err := f.svc.CloseChat(ctx, engine.Actor{ID: "ann"}, first.ID, engine.CloseForm{Sentiment: "neutral"}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Conversation(ctx, second.ID)
	if got.State != engine.StateLive || got.Assignee != "ann" {
		t.Fatalf("queued chat after ann freed up: %s on %q", got.State, got.Assignee)
	}
}

func TestQueuedChatRoutedWhenAgentComesOnline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 1), config.Agent{ID: "bob", Capacity: 1})
	liveChat(t, f, "whatsapp:+27820000300")
	waiting := liveChat(t, f, "whatsapp:+27820000301")
	if waiting.State != engine.StateQueued {
		t.Fatalf("second chat %s, want queued", waiting.State)
	}
	if err := f.svc.SetPresence(ctx, "bob", engine.Online, true); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Conversation(ctx, waiting.ID)
	if got.State != engine.StateLive || got.Assignee != "bob" {
		t.Fatalf("queued chat after bob came online: %s on %q", got.State, got.Assignee)
	}
}

// Timers through the service: the wake-up applies what is due, and a wake-up
// that comes early or twice does nothing more.
func TestWakeAppliesDueDeadlinesOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 2), online("bob", 2))
	c := liveChat(t, f, "whatsapp:+27820000400")
	if err := f.svc.Wake(ctx, c.ID); err != nil { // early: nothing due
		t.Fatal(err)
	}
	got, _ := f.store.Conversation(ctx, c.ID)
	if got.Assignee != "ann" || got.Version != c.Version {
		t.Fatalf("early wake changed the chat: %+v", got)
	}
	f.clock.Add(2 * time.Minute)
	for range 2 {
		if err := f.svc.Wake(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = f.store.Conversation(ctx, c.ID)
	ann, _ := f.store.Agent(ctx, "ann")
	if got.Assignee != "bob" || !ann.Paused || ann.Load != 0 {
		t.Fatalf("after the agent timeout: on %s, ann paused %v load %d", got.Assignee, ann.Paused, ann.Load)
	}
	// ann going online again clears the pause.
	if err := f.svc.SetPresence(ctx, "ann", engine.Offline, false); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetPresence(ctx, "ann", engine.Online, true); err != nil {
		t.Fatal(err)
	}
	ann, _ = f.store.Agent(ctx, "ann")
	if ann.Paused {
		t.Fatal("ann still paused after going online again")
	}
}

// A settings change made through one process reaches another.
func TestSettingsReachOtherProcesses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: configtest.Rules(t), Now: f.clock.Now, Log: zerolog.Nop()})
	if _, err := f.svc.LoadSettings(ctx); err != nil {
		t.Fatal(err)
	}
	known, err := other.LoadSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc := "default_department: general\ntags: [zebra, apple]\ntimeouts: {queue_timeout: 1m, agent_response_timeout: 1m, inactivity_timeout: 1m, pending_timeout: 1m, ticket_session_timeout: 1m, ticket_archive_after: 1h}\n"
	if err := f.svc.UpdateSettings(ctx, engine.Actor{ID: "ann", Role: "agent"}, doc); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("an agent changing settings: %v, want ErrNotAllowed", err)
	}
	if err := f.svc.UpdateSettings(ctx, engine.Actor{ID: "ada", Role: "admin"}, doc); err != nil {
		t.Fatal(err)
	}
	if !f.svc.Rules().HasTag("zebra") {
		t.Fatal("the changing process did not apply its own change")
	}
	if other.Rules().HasTag("zebra") {
		t.Fatal("the other process changed before reloading")
	}
	if _, err := other.reloadSettings(ctx, known); err != nil {
		t.Fatal(err)
	}
	if !other.Rules().HasTag("zebra") || other.Rules().Timeouts.Queue != time.Minute {
		t.Fatalf("the other process has tags %v, queue timeout %s", other.Rules().Tags, other.Rules().Timeouts.Queue)
	}
}

// One wake-up job serves a deadline that only moves later: a live chat's
// messages schedule no new job, and an early job schedules the next.
func TestWakeJobsFollowTheEarliestDeadline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 3))
	c := liveChat(t, f, "whatsapp:+27820000800") // 10:00: agent response due 10:02
	if want := []string{c.ID + "@10:02:00"}; !slices.Equal(f.dispatch.wakes, want) {
		t.Fatalf("wakes %v, want %v", f.dispatch.wakes, want)
	}
	if _, err := f.svc.Reply(ctx, engine.Actor{ID: "ann"}, c.ID, engine.Reply{Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	for i := range 3 { // inactivity moves to 10:11, 10:11, 10:11: later than the 10:02 job
		if _, err := f.svc.Receive(ctx, inbound(fmt.Sprintf("SMlazy%d", i), "whatsapp:+27820000800", "more")); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.dispatch.wakes) != 1 {
		t.Fatalf("wakes %v, want still the one job", f.dispatch.wakes)
	}
	f.clock.Add(time.Minute) // 10:02: the job fires; the agent deadline (10:03) is not yet due
	if err := f.svc.Wake(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if want := c.ID + "@10:03:00"; f.dispatch.wakes[len(f.dispatch.wakes)-1] != want {
		t.Fatalf("wakes %v, want the next at %s", f.dispatch.wakes, want)
	}
	got, _ := f.store.Conversation(ctx, c.ID)
	if got.Assignee != "ann" || got.State != engine.StateLive {
		t.Fatalf("early wake changed the chat: %s on %s", got.State, got.Assignee)
	}
}

// The customer's own messages change the agent's load through the webhook
// path, which must load the assigned agent to do it: an answer to a pending
// chat makes it live again (one more chat), //end closes it (one less).
func TestCustomerMessagesMoveTheAgentsLoad(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 2))
	ann := engine.Actor{ID: "ann", Role: "agent"}
	const from = "whatsapp:+27820000150"
	c := liveChat(t, f, from)
	load := func(want int, after string) {
		t.Helper()
		a, err := f.store.Agent(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		if a.Load != want {
			t.Fatalf("after %s: ann's load %d, want %d", after, a.Load, want)
		}
	}
	load(1, "the chat was routed")
	if err := f.svc.MarkPending(ctx, ann, c.ID); err != nil {
		t.Fatal(err)
	}
	load(0, "marking it pending")
	if _, err := f.svc.Receive(ctx, inbound("SMpend1", from, "here is the photo")); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Conversation(ctx, c.ID); got.State != engine.StateLive {
		t.Fatalf("after the customer's answer: %s, want live", got.State)
	}
	load(1, "the customer's answer to the pending chat")
	if _, err := f.svc.Receive(ctx, inbound("SMpend2", from, " //END ")); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Conversation(ctx, c.ID); got.State != engine.StateClosed {
		t.Fatalf("after //end: %s, want closed", got.State)
	}
	load(0, "the customer's //end")
}

// A settings change and its audit entry commit together, and the entry
// names what changed.
func TestSettingsChangeIsAuditedWithWhatChanged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.LoadSettings(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := settings.Parse(mustDoc(t, f.svc))
	if err != nil {
		t.Fatal(err)
	}
	e.Tags = append(e.Tags, "zebra")
	doc, err := settings.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UpdateSettings(ctx, engine.Actor{ID: "ada", Role: "admin"}, doc); err != nil {
		t.Fatal(err)
	}
	log, err := f.svc.AuditLog(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "settings.update" || log[0].Actor != "ada" || log[0].Detail != "changed: tags" {
		t.Fatalf("audit log %+v, want one settings.update by ada that changed tags", log)
	}
}

func mustDoc(t *testing.T, s *Service) string {
	t.Helper()
	doc, err := s.SettingsDocument()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
