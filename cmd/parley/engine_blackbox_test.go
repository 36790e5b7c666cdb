package main

// Black-box tests of the conversation engine: the real binary, with its
// timeouts shortened to seconds, decides on signed webhooks, and the tests
// check what it sent to (fake) Twilio and what it stored in Redis. Each rule
// of the README's "Conversations: chats and tickets" section is proved by a
// test or subtest named after it. `parley agent` plays the agents.

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// The texts Parley sends by itself, short and distinct so every assertion
// on what Twilio received is exact.
const (
	txtOutOfHours = "T-out-of-hours"
	txtNoAgent    = "T-no-agent"
	txtAsk        = "T-leave-a-message? YES/NO"
	txtCollecting = "T-collecting"
	txtDeclined   = "T-declined"
	txtEnded      = "T-ended"
	txtQueued     = "T-queued #{position}"
	// txtTranscript is the transcript offer to a customer who ends a chat.
	txtTranscript = "T-transcript"
)

// queued is txtQueued as sent to the chat at position n.
func queued(n int) string { return strings.ReplaceAll(txtQueued, "{position}", fmt.Sprint(n)) }

// engineSetup is one process's engine configuration.
type engineSetup struct {
	// closed makes today a holiday (in UTC, with the days either side, so
	// a run across midnight stays closed): out of business hours all day.
	// Otherwise business_hours is left out: always open.
	closed bool
	// agents are YAML flow mappings, e.g. {id: ann, capacity: 1, online: true}.
	agents []string
	// The timeouts; zero means one minute (never reached in a test),
	// except queue, where zero means a chat does not wait.
	queue, agentResponse, inactivity, pending, ticketSession time.Duration
}

func (s engineSetup) yaml() string {
	var b strings.Builder
	if s.closed {
		now := time.Now().UTC()
		b.WriteString("business_hours:\n  timezone: UTC\n  holidays:\n")
		for _, d := range []int{-1, 0, 1} {
			fmt.Fprintf(&b, "    - %q\n", now.AddDate(0, 0, d).Format(time.DateOnly))
		}
	}
	if len(s.agents) > 0 {
		b.WriteString("agents:\n")
		for _, a := range s.agents {
			fmt.Fprintf(&b, "  - %s\n", a)
		}
	}
	b.WriteString("texts:\n")
	for _, kv := range [][2]string{
		{"out_of_hours", txtOutOfHours}, {"no_agent", txtNoAgent}, {"leave_message", txtAsk},
		{"collecting", txtCollecting}, {"declined", txtDeclined}, {"ended", txtEnded}, {"queued", txtQueued},
	} {
		fmt.Fprintf(&b, "  %s: %q\n", kv[0], kv[1])
	}
	fmt.Fprintf(&b, "transcript:\n  offer: %q\n", txtTranscript)
	return b.String()
}

// env sets the timeouts through the environment, as an operator would.
func (s engineSetup) env() []string {
	orMinute := func(d time.Duration) string {
		if d == 0 {
			d = time.Minute
		}
		return d.String()
	}
	return []string{
		"PARLEY_QUEUE_TIMEOUT=" + s.queue.String(),
		"PARLEY_AGENT_RESPONSE_TIMEOUT=" + orMinute(s.agentResponse),
		"PARLEY_INACTIVITY_TIMEOUT=" + orMinute(s.inactivity),
		"PARLEY_PENDING_TIMEOUT=" + orMinute(s.pending),
		"PARLEY_TICKET_SESSION_TIMEOUT=" + orMinute(s.ticketSession),
	}
}

// engineRun is a running Parley with an engine setup, and the texts each
// recipient must have received, checked once more when the test ends.
type engineRun struct {
	*parley
	setup engineSetup

	mu        sync.Mutex
	wantTexts map[string][]string // by Twilio To
}

func startEngine(t *testing.T, s engineSetup) *engineRun {
	t.Helper()
	e := &engineRun{
		parley:    startParleyWith(t, parleyOptions{config: s.yaml(), env: s.env()}),
		setup:     s,
		wantTexts: map[string][]string{},
	}
	// Registered after startParleyWith's cleanup, so it runs first, while
	// the process still runs.
	t.Cleanup(func() { e.checkAtEnd(t, nil) })
	return e
}

// checkAtEnd waits until every queued send has gone, then checks that
// nothing more than expected reached Twilio; each is also handed to each,
// if given.
func (e *engineRun) checkAtEnd(t *testing.T, each func(to string)) {
	if t.Failed() {
		return
	}
	deadline := time.Now().Add(bbWait)
	for {
		sends, err := e.dueSends()
		if err == nil && len(sends) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("at the end: sends still due after %s: %v, %v", bbWait, sends, err)
			return
		}
		time.Sleep(bbPoll)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for to, want := range e.wantTexts {
		if got := e.fake.texts(to); !slices.Equal(got, want) {
			t.Errorf("at the end: Twilio got %q for %s, want %q", got, to, want)
		}
		if each != nil {
			each(to)
		}
	}
}

// texts are the Bodies (or ContentSids) of the Messages create calls to
// `to`, in the order they reached the fake.
func (f *fakeTwilio) texts(to string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if r.get("To") == to {
			out = append(out, r.text())
		}
	}
	return out
}

// dueSends lists the outbound messages not yet handed to Twilio.
func (e *engineRun) dueSends() ([]string, error) {
	due, err := e.store.Due(context.Background(), time.Now().Add(time.Hour), 1000)
	var sends []string
	for _, d := range due {
		if strings.HasPrefix(d, "outbox:") {
			sends = append(sends, d)
		}
	}
	return sends, err
}

// expectTexts waits until Twilio has received exactly want for `to`, in
// this order; it fails at once on a text out of order or too many.
func (e *engineRun) expectTexts(t *testing.T, to channels.Address, want ...string) {
	t.Helper()
	e.mu.Lock()
	e.wantTexts[string(to)] = want
	e.mu.Unlock()
	deadline := time.Now().Add(bbWait)
	for {
		got := e.fake.texts(string(to))
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("Twilio got %q for %s, want %q", got, to, want)
		}
		if len(got) == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: Twilio got %q for %s, want %q", bbWait, got, to, want)
		}
		time.Sleep(bbPoll)
	}
}

// say posts a customer's WhatsApp message, which must be answered 200.
func (e *engineRun) say(t *testing.T, to channels.Address, body string) {
	t.Helper()
	e.mustAccept(t, e.whatsAppIn(strings.TrimPrefix(string(to), "whatsapp:"), body))
}

// expectSessionEnded checks that the customer's message session ended on
// a ticket that stays open and unassigned, with no session deadline left.
func (e *engineRun) expectSessionEnded(t *testing.T, id, when string) {
	t.Helper()
	got := e.conv(t, id)
	if got.Session != engine.SessionEnded || got.State != engine.StateUnassigned {
		t.Errorf("%s: %s, want the session ended on an open ticket", when, describe(got))
	}
	if _, armed := got.Deadlines[engine.TimerSession]; armed {
		t.Errorf("%s: session deadline still set: %s", when, describe(got))
	}
}

func (e *engineRun) conv(t *testing.T, id string) *engine.Conversation {
	t.Helper()
	if id == "" {
		t.Fatal("conversation: empty id")
	}
	c, err := e.store.Conversation(context.Background(), id)
	if err != nil {
		t.Fatalf("conversation %s: %v", id, err)
	}
	return c
}

func describe(c *engine.Conversation) string {
	closed := ""
	if c.Closed != nil {
		closed = fmt.Sprintf(" closed by %q (%q)", c.Closed.By, c.Closed.Reason)
	}
	return fmt.Sprintf("%s %s %s session %q assignee %q awaiting %v deadlines %v ignored %v merged %v into %q%s",
		c.ID, c.Kind, c.State, c.Session, c.Assignee, c.AwaitingAgent, c.Deadlines, c.Ignored, c.Merged, c.MergedInto, closed)
}

// waitConv polls conversation id until cond holds.
func (e *engineRun) waitConv(t *testing.T, id, what string, cond func(c *engine.Conversation) bool) *engine.Conversation {
	t.Helper()
	var c *engine.Conversation
	eventually(t, what, func() (bool, string) {
		c = e.conv(t, id)
		return cond(c), describe(c)
	})
	return c
}

func (e *engineRun) agent(t *testing.T, id string) *engine.Agent {
	t.Helper()
	a, err := e.store.Agent(context.Background(), id)
	if err != nil {
		t.Fatalf("agent %s: %v", id, err)
	}
	return a
}

// expectAgent checks an agent's load and pause.
func (e *engineRun) expectAgent(t *testing.T, id string, load int, paused bool) {
	t.Helper()
	if a := e.agent(t, id); a.Load != load || a.Paused != paused {
		t.Errorf("agent %s: load %d paused %v, want load %d paused %v", id, a.Load, a.Paused, load, paused)
	}
}

// act runs `parley agent ARGS...`, which must succeed, and returns what it
// printed.
func (e *engineRun) act(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := e.actErr(t, args...)
	if err != nil {
		t.Fatalf("parley agent %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(stdout)
}

func (e *engineRun) actErr(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"agent"}, args...)...)
	cmd.Env = e.env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if strings.Contains(errOut.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector reported a data race in parley agent:\n%s", errOut.String())
	}
	return out.String(), errOut.String(), err
}

// conversationsOf lists every conversation stored for a contact, open or
// not, oldest first.
func (e *engineRun) conversationsOf(t *testing.T, addr channels.Address) []*engine.Conversation {
	t.Helper()
	var out []*engine.Conversation
	for _, c := range e.conversations(t) {
		if c.Contact == addr {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *engine.Conversation) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// expectOneOpenTicket checks that the contact has exactly one open ticket,
// id, and that it is the one the contact points at.
func (e *engineRun) expectOneOpenTicket(t *testing.T, addr channels.Address, id string) {
	t.Helper()
	var open []string
	for _, c := range e.conversationsOf(t, addr) {
		if c.Kind == engine.KindTicket && c.Open() {
			open = append(open, c.ID)
		}
	}
	if len(open) != 1 || open[0] != id {
		t.Errorf("open tickets of %s: %v, want only %s", addr, open, id)
	}
	if c := e.contact(t, addr); c.Ticket != id {
		t.Errorf("contact %s points at ticket %q, want %s", addr, c.Ticket, id)
	}
}

func (e *engineRun) historyOf(t *testing.T, id string) []engine.Message {
	t.Helper()
	msgs, err := e.store.History(context.Background(), id)
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	return msgs
}

// bodies lists the bodies of msgs.
func bodies(msgs []engine.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Body)
	}
	return out
}

// expectHistory checks a conversation's customer messages and Parley's
// texts (outbound, written by Parley itself), each in order.
func (e *engineRun) expectHistory(t *testing.T, id string, in, out []string) []engine.Message {
	t.Helper()
	msgs := e.historyOf(t, id)
	var auto []engine.Message
	for _, m := range only(engine.DirOut, msgs) {
		if m.Author == engine.SystemAuthor {
			auto = append(auto, m)
		}
	}
	if got := bodies(only(engine.DirIn, msgs)); !slices.Equal(got, in) {
		t.Errorf("customer messages on %s: %q, want %q", id, got, in)
	}
	if got := bodies(auto); !slices.Equal(got, out) {
		t.Errorf("Parley's texts on %s: %q, want %q", id, got, out)
	}
	return msgs
}

// note returns the system notes of msgs whose body starts with prefix.
func notes(msgs []engine.Message, prefix string) []engine.Message {
	var out []engine.Message
	for _, m := range only(engine.DirSystem, msgs) {
		if strings.HasPrefix(m.Body, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// onlyNote returns the one system note starting with prefix.
func onlyNote(t *testing.T, msgs []engine.Message, prefix string) engine.Message {
	t.Helper()
	n := notes(msgs, prefix)
	if len(n) != 1 {
		t.Fatalf("notes %q: %d, want exactly 1; history %q", prefix, len(n), bodies(msgs))
	}
	return n[0]
}

// timerSlack bounds how late a timer's effect may come: Asynq checks for
// due jobs every second, and a busy race-enabled run adds some more.
const timerSlack = 4 * time.Second

// firedWithin checks that a timer's effect (recorded at `at`) came no
// earlier than its deadline, timeout after from, and at most timerSlack
// after it.
func firedWithin(t *testing.T, what string, from time.Time, timeout time.Duration, at time.Time) {
	t.Helper()
	firedBetween(t, what, from.Add(timeout), from.Add(timeout), at)
}

// firedBetween checks that a timer's effect (recorded at `at`) came no
// earlier than its deadline, and at most timerSlack after `since` (the
// deadline, or when the process could first run it).
func firedBetween(t *testing.T, what string, deadline, since, at time.Time) {
	t.Helper()
	t.Logf("%s: %s after its deadline", what, at.Sub(deadline))
	if at.Before(deadline) || at.Sub(since) > timerSlack {
		t.Errorf("%s at %s: deadline %s, want it no earlier, and at most %s after %s",
			what, at.Format(time.StampMilli), deadline.Format(time.StampMilli), timerSlack, since.Format(time.StampMilli))
	}
}

// subtest is one named case of a group run concurrently.
type subtest struct {
	name string
	fn   func(t *testing.T)
}

// concurrently runs independent subtests at once, each in its own
// goroutine. They mostly wait for timers, so they share one process
// without each holding one of the few -parallel slots (GOMAXPROCS).
func concurrently(t *testing.T, tests ...subtest) {
	var wg sync.WaitGroup
	for _, st := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(st.name, st.fn)
		}()
	}
	wg.Wait()
}

// TestBlackboxEngineLeaveMessage proves the numbered rules of the
// leave-a-message flow, out of business hours (with an agent online, who
// must not matter), one contact per rule.
func TestBlackboxEngineLeaveMessage(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{
		closed: true,
		agents: []string{"{id: ann, capacity: 3, online: true}"},
		// Long enough for a customer to see the question and answer it
		// before it expires, however busy the machine.
		inactivity:    5 * time.Second,
		ticketSession: 5 * time.Second,
	})

	// begin sends the contact's first message, which must open an
	// unassigned ticket asking the question (rule 1), and returns it.
	begin := func(t *testing.T, to channels.Address) *engine.Conversation {
		t.Helper()
		e.say(t, to, "Hello, anyone there?")
		c := e.contact(t, to)
		if c.Chat != "" || c.Ticket == "" {
			t.Fatalf("contact %+v: want an open ticket and no chat", c)
		}
		e.expectTexts(t, to, txtOutOfHours, txtAsk)
		return e.conv(t, c.Ticket)
	}
	sessionIs := func(s engine.Session) func(*engine.Conversation) bool {
		return func(c *engine.Conversation) bool { return c.Session == s }
	}

	concurrently(t,
		subtest{"1_first_message_opens_unassigned_ticket", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000001")
			c := begin(t, to)
			if c.Kind != engine.KindTicket || c.State != engine.StateUnassigned || c.Assignee != "" || c.Session != engine.SessionAsking {
				t.Errorf("ticket %s: want an unassigned ticket asking the question", describe(c))
			}
			msgs := e.expectHistory(t, c.ID, []string{"Hello, anyone there?"}, []string{txtOutOfHours, txtAsk})
			if in := only(engine.DirIn, msgs); len(in) == 1 && in[0].SID == "" {
				t.Errorf("the customer's message %+v has no MessageSid", in[0])
			}
			// The unanswered question expires after inactivity_timeout.
			if at := c.Deadlines[engine.TimerSession]; !at.Equal(c.LastCustomerAt.Add(e.setup.inactivity)) {
				t.Errorf("session deadline %s, want the message's time %s + %s", at, c.LastCustomerAt, e.setup.inactivity)
			}
			e.expectAgent(t, "ann", 0, false)
			if all := e.conversationsOf(t, to); len(all) != 1 {
				t.Errorf("%d conversations for %s, want 1", len(all), to)
			}
		}},

		subtest{"2_yes_collects_later_messages", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000002")
			c := begin(t, to)
			e.say(t, to, "  yes ")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting)
			if got := e.conv(t, c.ID); got.Session != engine.SessionCollecting {
				t.Fatalf("after YES: %s, want session collecting", describe(got))
			}
			e.say(t, to, "My order 1234 is late")
			e.say(t, to, "And the box was damaged")
			got := e.conv(t, c.ID)
			if got.Session != engine.SessionCollecting || got.State != engine.StateUnassigned {
				t.Errorf("after two more messages: %s, want an unassigned ticket still collecting", describe(got))
			}
			e.expectHistory(t, c.ID, []string{"Hello, anyone there?", "  yes ", "My order 1234 is late", "And the box was damaged"},
				[]string{txtOutOfHours, txtAsk, txtCollecting})
			e.expectOneOpenTicket(t, to, c.ID)
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting)
		}},

		subtest{"3_no_ends_the_session", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000003")
			c := begin(t, to)
			e.say(t, to, " No")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtDeclined)
			e.expectSessionEnded(t, c.ID, "after NO")
			msgs := e.expectHistory(t, c.ID, []string{"Hello, anyone there?", " No"}, []string{txtOutOfHours, txtAsk, txtDeclined})
			onlyNote(t, msgs, "Message session ended")
			e.expectOneOpenTicket(t, to, c.ID)
		}},

		subtest{"4_no_answer_expires_after_inactivity_timeout", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000004")
			c := begin(t, to)
			got := e.waitConv(t, c.ID, "session expired", sessionIs(engine.SessionEnded))
			if got.State != engine.StateUnassigned {
				t.Errorf("after expiry: %s, want the ticket still open", describe(got))
			}
			msgs := e.expectHistory(t, c.ID, []string{"Hello, anyone there?"}, []string{txtOutOfHours, txtAsk})
			expired := onlyNote(t, msgs, "Message session expired")
			firedWithin(t, "the session expired", c.LastCustomerAt, e.setup.inactivity, expired.At)
			e.expectTexts(t, to, txtOutOfHours, txtAsk) // expiry says nothing
		}},

		subtest{"5_other_answer_asks_again", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000005")
			c := begin(t, to)
			e.say(t, to, "What are your opening hours?")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtAsk)
			got := e.conv(t, c.ID)
			if got.Session != engine.SessionAsking {
				t.Errorf("after another answer: %s, want still asking", describe(got))
			}
			if at := got.Deadlines[engine.TimerSession]; !at.Equal(got.LastCustomerAt.Add(e.setup.inactivity)) || !got.LastCustomerAt.After(c.LastCustomerAt) {
				t.Errorf("session deadline %s, want the second message's time %s + %s", at, got.LastCustomerAt, e.setup.inactivity)
			}
			e.expectHistory(t, c.ID, []string{"Hello, anyone there?", "What are your opening hours?"}, []string{txtOutOfHours, txtAsk, txtAsk})
			e.expectOneOpenTicket(t, to, c.ID)
		}},

		subtest{"6_no_after_yes_is_an_ordinary_message", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000006")
			c := begin(t, to)
			e.say(t, to, "YES")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting)
			e.say(t, to, "NO")
			got := e.conv(t, c.ID)
			if got.Session != engine.SessionCollecting {
				t.Errorf("after NO following YES: %s, want still collecting", describe(got))
			}
			msgs := e.expectHistory(t, c.ID, []string{"Hello, anyone there?", "YES", "NO"}, []string{txtOutOfHours, txtAsk, txtCollecting})
			if n := notes(msgs, "Message session ended"); len(n) != 0 {
				t.Errorf("NO after YES ended the session: %q", bodies(n))
			}
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting)
		}},

		subtest{"7_end_then_next_message_starts_over", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000007")
			c := begin(t, to)
			e.say(t, to, "yes")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting)
			e.say(t, to, "It is about invoice 42")
			e.say(t, to, "//end")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting, txtEnded)
			if got := e.conv(t, c.ID); got.Session != engine.SessionEnded || got.State != engine.StateUnassigned {
				t.Fatalf("after //end: %s, want the session ended on an open ticket", describe(got))
			}
			// The next message starts a new session on the same ticket.
			e.say(t, to, "One more thing")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting, txtEnded, txtOutOfHours, txtAsk)
			if got := e.conv(t, c.ID); got.Session != engine.SessionAsking {
				t.Fatalf("after a new message: %s, want a new session asking", describe(got))
			}
			e.say(t, to, "Yes")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting, txtEnded, txtOutOfHours, txtAsk, txtCollecting)
			if got := e.conv(t, c.ID); got.Session != engine.SessionCollecting {
				t.Errorf("after YES in the new session: %s, want collecting", describe(got))
			}
			e.expectHistory(t, c.ID,
				[]string{"Hello, anyone there?", "yes", "It is about invoice 42", "//end", "One more thing", "Yes"},
				[]string{txtOutOfHours, txtAsk, txtCollecting, txtEnded, txtOutOfHours, txtAsk, txtCollecting})
			e.expectOneOpenTicket(t, to, c.ID)
			if all := e.conversationsOf(t, to); len(all) != 1 {
				t.Errorf("%d conversations for %s, want 1", len(all), to)
			}
		}},

		subtest{"8_end_before_yes_or_no", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000008")
			c := begin(t, to)
			e.say(t, to, " //End ")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtEnded)
			e.expectSessionEnded(t, c.ID, "after //end")
			e.expectHistory(t, c.ID, []string{"Hello, anyone there?", " //End "}, []string{txtOutOfHours, txtAsk, txtEnded})
		}},

		subtest{"9_collecting_expires_after_last_message", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000009")
			c := begin(t, to)
			e.say(t, to, "yes")
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting)
			afterYes := e.conv(t, c.ID)
			first := afterYes.Deadlines[engine.TimerSession]
			if !first.Equal(afterYes.LastCustomerAt.Add(e.setup.ticketSession)) {
				t.Fatalf("after YES: session deadline %s, want %s + %s", first, afterYes.LastCustomerAt, e.setup.ticketSession)
			}
			// Shortly before it expires, one more message moves the deadline.
			time.Sleep(time.Until(first.Add(-2 * time.Second)))
			e.say(t, to, "Still typing, one more detail")
			extended := e.conv(t, c.ID)
			second := extended.Deadlines[engine.TimerSession]
			if extended.Session != engine.SessionCollecting || !second.Equal(extended.LastCustomerAt.Add(e.setup.ticketSession)) || !second.After(first) {
				t.Fatalf("after another message: %s, want still collecting until its time %s + %s", describe(extended), extended.LastCustomerAt, e.setup.ticketSession)
			}
			// Past the first deadline (and its wake-up), still collecting.
			time.Sleep(time.Until(first.Add(1500 * time.Millisecond)))
			mid := e.conv(t, c.ID)
			if time.Now().Before(second) {
				if mid.Session != engine.SessionCollecting {
					t.Errorf("after the first deadline, before the second: %s, want still collecting", describe(mid))
				}
			} else {
				t.Logf("too slow to look between the deadlines (now %s, second deadline %s)", time.Now().Format(time.StampMilli), second.Format(time.StampMilli))
			}
			e.waitConv(t, c.ID, "session expired", sessionIs(engine.SessionEnded))
			msgs := e.expectHistory(t, c.ID, []string{"Hello, anyone there?", "yes", "Still typing, one more detail"},
				[]string{txtOutOfHours, txtAsk, txtCollecting})
			expired := onlyNote(t, msgs, "Message session expired")
			firedWithin(t, "the session expired", extended.LastCustomerAt, e.setup.ticketSession, expired.At)
			if n := notes(msgs, "Message session ended"); len(n) != 0 {
				t.Errorf("the session ended otherwise too: %q", bodies(n))
			}
			e.expectTexts(t, to, txtOutOfHours, txtAsk, txtCollecting)
		}},
	)
}

// TestBlackboxEngineNoAgent: in business hours with nobody online, the
// customer is told so and asked to leave a message; and a contact with an
// open ticket never gets a second one.
func TestBlackboxEngineNoAgent(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{agents: []string{"{id: bob, capacity: 3, online: false}"}})

	concurrently(t,
		subtest{"no_agent_online_leave_a_message", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000101")
			e.say(t, to, "Hi, can I talk to someone?")
			e.expectTexts(t, to, txtNoAgent, txtAsk)
			c := e.contact(t, to)
			if c.Chat != "" {
				t.Errorf("contact %+v: a chat was opened with nobody online", c)
			}
			tk := e.conv(t, c.Ticket)
			if tk.Kind != engine.KindTicket || tk.State != engine.StateUnassigned || tk.Session != engine.SessionAsking || tk.Assignee != "" {
				t.Errorf("ticket %s: want unassigned, asking", describe(tk))
			}
			e.expectHistory(t, tk.ID, []string{"Hi, can I talk to someone?"}, []string{txtNoAgent, txtAsk})
			e.expectAgent(t, "bob", 0, false)
		}},

		subtest{"open_unassigned_ticket_takes_new_messages", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000102")
			e.say(t, to, "Hello")
			e.expectTexts(t, to, txtNoAgent, txtAsk)
			id := e.contact(t, to).Ticket
			e.say(t, to, "no")
			e.expectTexts(t, to, txtNoAgent, txtAsk, txtDeclined)
			// Again nobody can take the chat: the same ticket, a new session.
			e.say(t, to, "Actually, I changed my mind")
			e.expectTexts(t, to, txtNoAgent, txtAsk, txtDeclined, txtNoAgent, txtAsk)
			e.expectOneOpenTicket(t, to, id)
			e.say(t, to, "yes")
			e.expectTexts(t, to, txtNoAgent, txtAsk, txtDeclined, txtNoAgent, txtAsk, txtCollecting)
			e.say(t, to, "My meter reads 00731")
			e.say(t, to, "//end")
			e.expectTexts(t, to, txtNoAgent, txtAsk, txtDeclined, txtNoAgent, txtAsk, txtCollecting, txtEnded)
			e.say(t, to, "Forgot to say: account 55")
			e.expectTexts(t, to, txtNoAgent, txtAsk, txtDeclined, txtNoAgent, txtAsk, txtCollecting, txtEnded, txtNoAgent, txtAsk)
			e.expectOneOpenTicket(t, to, id)
			if all := e.conversationsOf(t, to); len(all) != 1 {
				t.Errorf("%d conversations for %s, want 1 ticket", len(all), to)
			}
			e.expectHistory(t, id,
				[]string{"Hello", "no", "Actually, I changed my mind", "yes", "My meter reads 00731", "//end", "Forgot to say: account 55"},
				[]string{txtNoAgent, txtAsk, txtDeclined, txtNoAgent, txtAsk, txtCollecting, txtEnded, txtNoAgent, txtAsk})
		}},

		subtest{"open_assigned_ticket_takes_new_messages", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27830000103")
			e.say(t, to, "Hello")
			e.expectTexts(t, to, txtNoAgent, txtAsk)
			id := e.contact(t, to).Ticket
			e.say(t, to, "//end")
			e.expectTexts(t, to, txtNoAgent, txtAsk, txtEnded)
			e.act(t, "accept", "-id", "bob", "-conversation", id)
			if tk := e.conv(t, id); tk.State != engine.StateAssigned || tk.Assignee != "bob" {
				t.Fatalf("after bob accepted: %s, want assigned to bob", describe(tk))
			}
			e.say(t, to, "Is anyone looking at this?")
			e.expectTexts(t, to, txtNoAgent, txtAsk, txtEnded, txtNoAgent, txtAsk)
			tk := e.conv(t, id)
			if tk.State != engine.StateAssigned || tk.Assignee != "bob" || tk.Session != engine.SessionAsking {
				t.Errorf("after a new message: %s, want still assigned to bob, asking again", describe(tk))
			}
			e.expectOneOpenTicket(t, to, id)
			if all := e.conversationsOf(t, to); len(all) != 1 {
				t.Errorf("%d conversations for %s, want 1 ticket", len(all), to)
			}
			e.expectHistory(t, id, []string{"Hello", "//end", "Is anyone looking at this?"},
				[]string{txtNoAgent, txtAsk, txtEnded, txtNoAgent, txtAsk})
		}},
	)
}

// TestBlackboxEngineTicketClosedByLiveChat: a contact with an open ticket
// who gets a live chat has the ticket closed ("customer started a live
// chat").
func TestBlackboxEngineTicketClosedByLiveChat(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{agents: []string{"{id: ann, capacity: 1, online: true}"}})
	const a, b = channels.Address("whatsapp:+27830000201"), channels.Address("whatsapp:+27830000202")

	e.say(t, a, "Hi, I need help with my bill")
	chatA := e.contact(t, a).Chat
	if c := e.conv(t, chatA); c.Kind != engine.KindChat || c.State != engine.StateLive || c.Assignee != "ann" {
		t.Fatalf("A's chat %s: want live with ann", describe(c))
	}
	e.expectAgent(t, "ann", 1, false)

	// ann is full and chats do not wait: B leaves a message.
	e.say(t, b, "Hello?")
	e.expectTexts(t, b, txtNoAgent, txtAsk)
	cb := e.contact(t, b)
	ticketB := cb.Ticket
	if cb.Chat != "" || ticketB == "" {
		t.Fatalf("contact B %+v: want a ticket and no chat", cb)
	}

	e.say(t, a, "//end")
	if c := e.conv(t, chatA); c.State != engine.StateClosed || c.Closed == nil || c.Closed.By != "customer" || c.Closed.Reason != engine.ReasonCustomer {
		t.Errorf("A's chat after //end: %s, want closed by the customer", describe(c))
	}
	e.expectAgent(t, "ann", 0, false)

	e.say(t, b, "//end")
	e.expectTexts(t, b, txtNoAgent, txtAsk, txtEnded)
	e.say(t, b, "I'm back, can someone help now?")
	cb = e.contact(t, b)
	if cb.Chat == "" || cb.Chat == ticketB || cb.Ticket != "" {
		t.Fatalf("contact B %+v: want a new chat and no open ticket", cb)
	}
	chat := e.conv(t, cb.Chat)
	if chat.Kind != engine.KindChat || chat.State != engine.StateLive || chat.Assignee != "ann" {
		t.Errorf("B's chat %s: want live with ann", describe(chat))
	}
	tk := e.conv(t, ticketB)
	if tk.State != engine.StateClosed || tk.Closed == nil || tk.Closed.By != "system" || tk.Closed.Reason != "customer started a live chat" {
		t.Errorf("B's ticket %s: want closed by the system, \"customer started a live chat\"", describe(tk))
	}
	onlyNote(t, e.historyOf(t, ticketB), "Closed: the customer is now in a live chat with ann")
	e.expectHistory(t, chat.ID, []string{"I'm back, can someone help now?"}, nil)
	e.expectAgent(t, "ann", 1, false)
	e.expectTexts(t, b, txtNoAgent, txtAsk, txtEnded)
	e.expectTexts(t, a, txtTranscript) // A ended the chat: offered a transcript
}

// TestBlackboxEngineInactivity: a live chat nobody writes in is closed, or,
// with the customer unanswered, becomes an unassigned ticket.
func TestBlackboxEngineInactivity(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{
		agents:     []string{"{id: ann, capacity: 2, online: true}"},
		inactivity: 4 * time.Second, // room for `parley agent reply` first
	})

	t.Run("unanswered_customer_becomes_ticket", func(t *testing.T) {
		const to = channels.Address("whatsapp:+27830000301")
		e.say(t, to, "Is anyone there?")
		id := e.contact(t, to).Chat
		chat := e.conv(t, id)
		if chat.State != engine.StateLive || chat.Assignee != "ann" || !chat.AwaitingAgent {
			t.Fatalf("chat %s: want live with ann, awaiting her", describe(chat))
		}
		tk := e.waitConv(t, id, "converted to a ticket", func(c *engine.Conversation) bool { return c.Kind == engine.KindTicket })
		if tk.State != engine.StateUnassigned || tk.Assignee != "" || tk.Session != engine.SessionNone || tk.Closed != nil {
			t.Errorf("after inactivity: %s, want an unassigned ticket, no session", describe(tk))
		}
		if c := e.contact(t, to); c.Chat != "" || c.Ticket != id {
			t.Errorf("contact %+v: want no chat and the ticket %s", c, id)
		}
		msgs := e.expectHistory(t, id, []string{"Is anyone there?"}, nil)
		firedWithin(t, "the conversion", chat.LastCustomerAt, e.setup.inactivity, onlyNote(t, msgs, "Converted to a ticket").At)
		e.expectAgent(t, "ann", 0, false)
		e.expectTexts(t, to)
	})

	t.Run("answered_chat_closed_by_system", func(t *testing.T) {
		const to = channels.Address("whatsapp:+27830000302")
		e.say(t, to, "Hello")
		id := e.contact(t, to).Chat
		if c := e.conv(t, id); c.State != engine.StateLive || c.Assignee != "ann" {
			t.Fatalf("chat %s: want live with ann", describe(c))
		}
		e.expectAgent(t, "ann", 1, false)
		msgID := e.act(t, "reply", "-id", "ann", "-conversation", id, "-body", "Hi, how can I help?")
		e.expectTexts(t, to, "Hi, how can I help?")
		if m := e.message(t, msgID); m.Author != "ann" || m.ConversationID != id {
			t.Errorf("reply %+v: want ann's, on %s", m, id)
		}
		replied := e.conv(t, id)
		if replied.AwaitingAgent || replied.State != engine.StateLive {
			t.Fatalf("after ann's reply: %s, want live, not awaiting the agent", describe(replied))
		}
		closed := e.waitConv(t, id, "closed", func(c *engine.Conversation) bool { return c.State != engine.StateLive })
		if closed.State != engine.StateClosed || closed.Kind != engine.KindChat || closed.Closed == nil ||
			closed.Closed.By != "system" || closed.Closed.Reason != "inactivity" {
			t.Fatalf("after inactivity: %s, want a chat closed by the system for inactivity", describe(closed))
		}
		firedWithin(t, "the closing", replied.LastAgentAt, e.setup.inactivity, closed.Closed.At)
		if c := e.contact(t, to); c.Chat != "" || c.Ticket != "" {
			t.Errorf("contact %+v: want no open conversation", c)
		}
		e.expectAgent(t, "ann", 0, false)
		e.expectTexts(t, to, "Hi, how can I help?")
	})
}

// TestBlackboxEnginePending: a chat the agent marks pending closes after
// pending_timeout of silence, and goes live again when the customer answers.
func TestBlackboxEnginePending(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{
		agents:  []string{"{id: ann, capacity: 3, online: true}"},
		pending: 3 * time.Second,
	})
	// pend starts a chat with ann, has her answer and mark it pending.
	pend := func(t *testing.T, to channels.Address) *engine.Conversation {
		t.Helper()
		e.say(t, to, "Can you check my order?")
		id := e.contact(t, to).Chat
		if c := e.conv(t, id); c.State != engine.StateLive || c.Assignee != "ann" {
			t.Fatalf("chat %s: want live with ann", describe(c))
		}
		e.act(t, "reply", "-id", "ann", "-conversation", id, "-body", "Let me check and come back to you")
		e.expectTexts(t, to, "Let me check and come back to you")
		e.act(t, "pending", "-id", "ann", "-conversation", id)
		c := e.conv(t, id)
		if c.State != engine.StatePending || c.Assignee != "ann" {
			t.Fatalf("after pending: %s, want pending with ann", describe(c))
		}
		if _, ok := c.Deadlines[engine.TimerPending]; !ok {
			t.Fatalf("after pending: %s, want a pending deadline", describe(c))
		}
		e.expectAgent(t, "ann", 0, false)
		return c
	}

	t.Run("silence_closes", func(t *testing.T) {
		const to = channels.Address("whatsapp:+27830000401")
		c := pend(t, to)
		marked := onlyNote(t, e.historyOf(t, c.ID), "Marked pending")
		closed := e.waitConv(t, c.ID, "closed", func(c *engine.Conversation) bool { return c.State != engine.StatePending })
		if closed.State != engine.StateClosed || closed.Closed == nil || closed.Closed.By != "system" || closed.Closed.Reason != engine.ReasonPendingTimeout {
			t.Fatalf("after the pending timeout: %s, want closed by the system (%q)", describe(closed), engine.ReasonPendingTimeout)
		}
		firedWithin(t, "the closing", marked.At, e.setup.pending, closed.Closed.At)
		if ct := e.contact(t, to); ct.Chat != "" || ct.Ticket != "" {
			t.Errorf("contact %+v: want no open conversation", ct)
		}
		e.expectAgent(t, "ann", 0, false)
	})

	t.Run("customer_reply_makes_it_live_again", func(t *testing.T) {
		const to = channels.Address("whatsapp:+27830000402")
		c := pend(t, to)
		e.say(t, to, "Any news?")
		live := e.conv(t, c.ID)
		if live.State != engine.StateLive || live.Assignee != "ann" || !live.AwaitingAgent {
			t.Fatalf("after the customer's reply: %s, want live again with ann, awaiting her", describe(live))
		}
		if _, ok := live.Deadlines[engine.TimerPending]; ok {
			t.Errorf("after the customer's reply: %s, pending deadline still set", describe(live))
		}
		e.expectAgent(t, "ann", 1, false)
		// Past the old pending deadline it is still live.
		time.Sleep(time.Until(c.Deadlines[engine.TimerPending].Add(1500 * time.Millisecond)))
		if got := e.conv(t, c.ID); got.State != engine.StateLive || got.Assignee != "ann" {
			t.Errorf("after the old pending deadline: %s, want still live with ann", describe(got))
		}
		e.act(t, "reply", "-id", "ann", "-conversation", c.ID, "-body", "Yes: it ships today")
		e.expectTexts(t, to, "Let me check and come back to you", "Yes: it ships today")
		e.expectHistory(t, c.ID, []string{"Can you check my order?", "Any news?"}, nil)
	})
}

// TestBlackboxEngineAgentTimeout: a chat its agent does not answer within
// agent_response_timeout goes to another agent; the first is paused.
func TestBlackboxEngineAgentTimeout(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{
		agents: []string{
			"{id: ann, capacity: 2, online: true}",
			"{id: bob, capacity: 2, online: true}",
		},
		agentResponse: 4 * time.Second,
	})
	const to, next = channels.Address("whatsapp:+27830000501"), channels.Address("whatsapp:+27830000502")

	e.say(t, to, "Hello, I have a question")
	id := e.contact(t, to).Chat
	chat := e.conv(t, id)
	first := chat.Assignee
	if chat.State != engine.StateLive || (first != "ann" && first != "bob") {
		t.Fatalf("chat %s: want live with ann or bob", describe(chat))
	}
	second := map[string]string{"ann": "bob", "bob": "ann"}[first]
	e.expectAgent(t, first, 1, false)

	moved := e.waitConv(t, id, "re-routed to "+second, func(c *engine.Conversation) bool { return c.Assignee != first })
	if moved.State != engine.StateLive || moved.Assignee != second || !slices.Equal(moved.Ignored, []string{first}) || !moved.AwaitingAgent {
		t.Fatalf("after the agent timeout: %s, want live with %s, %s ignored", describe(moved), second, first)
	}
	msgs := e.historyOf(t, id)
	firedWithin(t, "the re-routing", chat.AssignedAt, e.setup.agentResponse, onlyNote(t, msgs, "No answer from the agent in time").At)
	e.expectAgent(t, first, 0, true)
	e.expectAgent(t, second, 1, false)

	// The new agent answers in time; the one who let it time out may not
	// write in it any more.
	e.act(t, "reply", "-id", second, "-conversation", id, "-body", "Hi, I can help")
	if c := e.conv(t, id); c.AwaitingAgent || c.Assignee != second {
		t.Errorf("after %s's reply: %s", second, describe(c))
	} else if _, ok := c.Deadlines[engine.TimerAgentResponse]; ok {
		t.Errorf("after %s's reply: agent response deadline still set: %s", second, describe(c))
	}
	if _, stderr, err := e.actErr(t, "reply", "-id", first, "-conversation", id, "-body", "Sorry, here now"); err == nil {
		t.Errorf("%s replied in a chat that was taken from them (stderr %q)", first, stderr)
	}
	e.expectTexts(t, to, "Hi, I can help")

	// Paused, the first agent gets no new chat, though their load is lower.
	e.say(t, next, "Hi there")
	if c := e.conv(t, e.contact(t, next).Chat); c.State != engine.StateLive || c.Assignee != second {
		t.Errorf("next chat %s: want live with %s, %s being paused", describe(c), second, first)
	}
	e.expectAgent(t, first, 0, true)
	e.expectAgent(t, second, 2, false)
}

// TestBlackboxEngineQueue: with every agent busy a chat waits in the queue;
// after queue_timeout it becomes a ticket (or joins the contact's open
// ticket); an agent who frees up takes the oldest waiting chat.
func TestBlackboxEngineQueue(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{
		agents: []string{"{id: ann, capacity: 1, online: true}"},
		queue:  3 * time.Second,
	})
	const a = channels.Address("whatsapp:+27830000600")
	e.say(t, a, "Hi, I'm first")
	chatA := e.contact(t, a).Chat
	if c := e.conv(t, chatA); c.State != engine.StateLive || c.Assignee != "ann" {
		t.Fatalf("A's chat %s: want live with ann", describe(c))
	}
	const b = channels.Address("whatsapp:+27830000601")
	var ticketB string

	t.Run("queued_chat_times_out_into_ticket", func(t *testing.T) {
		e.say(t, b, "Hello, anyone?")
		id := e.contact(t, b).Chat
		chat := e.conv(t, id)
		if chat.Kind != engine.KindChat || chat.State != engine.StateQueued || chat.Assignee != "" {
			t.Fatalf("B's chat %s: want queued", describe(chat))
		}
		e.expectTexts(t, b, queued(1))
		tk := e.waitConv(t, id, "a ticket", func(c *engine.Conversation) bool { return c.Kind == engine.KindTicket })
		if tk.State != engine.StateUnassigned || tk.Session != engine.SessionAsking || tk.Assignee != "" {
			t.Fatalf("after the queue timeout: %s, want an unassigned ticket asking", describe(tk))
		}
		e.expectTexts(t, b, queued(1), txtNoAgent, txtAsk)
		msgs := e.expectHistory(t, id, []string{"Hello, anyone?"}, []string{queued(1), txtNoAgent, txtAsk})
		firedWithin(t, "the conversion", chat.CreatedAt, e.setup.queue, onlyNote(t, msgs, "Converted to a ticket").At)
		if c := e.contact(t, b); c.Chat != "" || c.Ticket != id {
			t.Errorf("contact B %+v: want no chat, ticket %s", c, id)
		}
		ticketB = id
		e.expectAgent(t, "ann", 1, false)
	})

	t.Run("timed_out_chat_joins_open_ticket", func(t *testing.T) {
		if ticketB == "" {
			t.Skip("needs the ticket of the previous subtest")
		}
		e.say(t, b, "no")
		e.expectTexts(t, b, queued(1), txtNoAgent, txtAsk, txtDeclined)
		// The ticket is open but its session over: the next message is a
		// new chat, which waits, then is merged into the ticket.
		e.say(t, b, "Still waiting for someone")
		id := e.contact(t, b).Chat
		if id == "" || id == ticketB {
			t.Fatalf("contact B %+v: want a new chat", e.contact(t, b))
		}
		if c := e.conv(t, id); c.State != engine.StateQueued {
			t.Fatalf("B's new chat %s: want queued", describe(c))
		}
		e.expectTexts(t, b, queued(1), txtNoAgent, txtAsk, txtDeclined, queued(1))
		chat := e.waitConv(t, id, "merged", func(c *engine.Conversation) bool { return c.State != engine.StateQueued })
		if chat.State != engine.StateClosed || chat.MergedInto != ticketB || chat.Closed == nil || chat.Closed.Reason != engine.ReasonMerged {
			t.Fatalf("after the queue timeout: %s, want closed, merged into %s", describe(chat), ticketB)
		}
		tk := e.conv(t, ticketB)
		if !slices.Equal(tk.Merged, []string{id}) || tk.State != engine.StateUnassigned || tk.Session != engine.SessionAsking {
			t.Errorf("ticket %s: want unassigned, asking, with %s merged", describe(tk), id)
		}
		e.expectTexts(t, b, queued(1), txtNoAgent, txtAsk, txtDeclined, queued(1), txtNoAgent, txtAsk)
		// The ticket's history includes the merged chat's.
		e.expectHistory(t, ticketB, []string{"Hello, anyone?", "no", "Still waiting for someone"},
			[]string{queued(1), txtNoAgent, txtAsk, txtDeclined, queued(1), txtNoAgent, txtAsk})
		e.expectOneOpenTicket(t, b, ticketB)
		if c := e.contact(t, b); c.Chat != "" {
			t.Errorf("contact B %+v: want no chat", c)
		}
	})

	t.Run("freed_agent_takes_oldest_queued_chat", func(t *testing.T) {
		const c, d = channels.Address("whatsapp:+27830000602"), channels.Address("whatsapp:+27830000603")
		e.say(t, c, "Hi from C")
		e.say(t, d, "Hi from D")
		chatC, chatD := e.contact(t, c).Chat, e.contact(t, d).Chat
		queuedC, queuedD := e.conv(t, chatC), e.conv(t, chatD)
		if queuedC.State != engine.StateQueued || queuedD.State != engine.StateQueued {
			t.Fatalf("chats %s and %s: want both queued", describe(queuedC), describe(queuedD))
		}
		// A ends their chat before C's queue timeout: ann takes C, the
		// oldest waiting.
		e.say(t, a, "//end")
		if time.Now().After(queuedC.Deadlines[engine.TimerQueue]) {
			t.Fatalf("too slow: A's //end came after C's queue deadline %s", queuedC.Deadlines[engine.TimerQueue])
		}
		e.expectTexts(t, c, queued(1))
		e.expectTexts(t, d, queued(2))
		live := e.waitConv(t, chatC, "routed to ann", func(c *engine.Conversation) bool { return c.State != engine.StateQueued })
		if live.State != engine.StateLive || live.Assignee != "ann" || live.Kind != engine.KindChat {
			t.Fatalf("C's chat %s: want live with ann", describe(live))
		}
		if _, ok := live.Deadlines[engine.TimerQueue]; ok {
			t.Errorf("C's chat %s: queue deadline still set", describe(live))
		}
		if dq := e.conv(t, chatD); dq.State != engine.StateQueued {
			t.Errorf("D's chat %s: want still queued", describe(dq))
		}
		e.expectAgent(t, "ann", 1, false)
		// D, behind C, times out; C, routed, does not.
		e.waitConv(t, chatD, "a ticket", func(c *engine.Conversation) bool { return c.Kind == engine.KindTicket })
		e.expectTexts(t, d, queued(2), txtNoAgent, txtAsk)
		if got := e.conv(t, chatC); got.State != engine.StateLive || got.Assignee != "ann" {
			t.Errorf("C's chat after its old queue deadline: %s, want still live with ann", describe(got))
		}
		e.expectTexts(t, c, queued(1))
		e.expectHistory(t, chatC, []string{"Hi from C"}, []string{queued(1)})
		e.expectTexts(t, a, txtTranscript) // A ended the chat: offered a transcript
	})
}

// TestBlackboxEngineCrash: a timer survives kill -9 of the process, whether
// it restarts before the deadline or after it, and fires exactly once.
func TestBlackboxEngineCrash(t *testing.T) {
	t.Parallel()
	e := startEngine(t, engineSetup{
		agents: []string{"{id: ann, capacity: 1, online: true}"},
		queue:  4 * time.Second,
	})
	ctx := context.Background()
	const a = channels.Address("whatsapp:+27830000700")
	e.say(t, a, "Hi, I keep ann busy")
	chatA := e.contact(t, a).Chat

	// queue has `to` wait in the queue; its queued text must be at Twilio
	// and recorded (so the kill cannot make it go twice).
	queue := func(t *testing.T, to channels.Address) *engine.Conversation {
		t.Helper()
		e.say(t, to, "Hello from "+string(to))
		c := e.conv(t, e.contact(t, to).Chat)
		if c.State != engine.StateQueued {
			t.Fatalf("chat %s: want queued", describe(c))
		}
		e.expectTexts(t, to, queued(1))
		eventually(t, "the queued text recorded as sent", func() (bool, string) {
			sends, err := e.dueSends()
			return err == nil && len(sends) == 0, fmt.Sprintf("due sends %v, %v", sends, err)
		})
		return c
	}
	// converted checks that the queue timer fired once, on time: not
	// before its deadline, and soon after the deadline or the restart.
	converted := func(t *testing.T, to channels.Address, chat *engine.Conversation, restarted time.Time) {
		t.Helper()
		tk := e.waitConv(t, chat.ID, "a ticket", func(c *engine.Conversation) bool { return c.Kind == engine.KindTicket })
		if tk.State != engine.StateUnassigned || tk.Session != engine.SessionAsking {
			t.Errorf("after the queue timeout: %s, want an unassigned ticket asking", describe(tk))
		}
		e.expectTexts(t, to, queued(1), txtNoAgent, txtAsk)
		msgs := e.expectHistory(t, chat.ID, []string{"Hello from " + string(to)}, []string{queued(1), txtNoAgent, txtAsk})
		due := chat.Deadlines[engine.TimerQueue]
		if !due.Equal(chat.CreatedAt.Add(e.setup.queue)) {
			t.Errorf("queue deadline %s, want the chat's start %s + %s", due, chat.CreatedAt, e.setup.queue)
		}
		since := due
		if restarted.After(due) {
			since = restarted
		}
		firedBetween(t, "the conversion", due, since, onlyNote(t, msgs, "Converted to a ticket").At)
	}

	const b, c = channels.Address("whatsapp:+27830000701"), channels.Address("whatsapp:+27830000702")
	var chatB, chatC *engine.Conversation
	t.Run("restart_before_the_deadline", func(t *testing.T) {
		chatB = queue(t, b)
		e.crash(t)
		e.restart(t)
		restarted := time.Now()
		if restarted.After(chatB.Deadlines[engine.TimerQueue]) {
			t.Logf("the restart took until after the deadline %s", chatB.Deadlines[engine.TimerQueue].Format(time.StampMilli))
		}
		converted(t, b, chatB, restarted)
	})
	t.Run("down_across_the_deadline", func(t *testing.T) {
		chatC = queue(t, c)
		e.crash(t)
		due := chatC.Deadlines[engine.TimerQueue]
		if time.Now().After(due) {
			t.Fatalf("too slow: killed after the deadline %s", due)
		}
		time.Sleep(time.Until(due.Add(time.Second)))
		if got := e.conv(t, chatC.ID); got.State != engine.StateQueued {
			t.Fatalf("with the process down: %s, want still queued", describe(got))
		}
		e.restart(t)
		converted(t, c, chatC, time.Now())
	})
	if t.Failed() {
		return
	}

	// Exactly once: two more reconciler sweeps and every wake-up job later,
	// nothing has fired again.
	sweeps := func() int64 {
		n, _ := e.rdb.Get(ctx, "asynq:{low}:processed").Int64()
		return n
	}
	before := sweeps()
	eventually(t, "two more reconciler sweeps", func() (bool, string) {
		n := sweeps()
		return n >= before+2, fmt.Sprintf("%d sweeps, started at %d", n, before)
	})
	for _, x := range []struct {
		to   channels.Address
		chat *engine.Conversation
	}{{b, chatB}, {c, chatC}} {
		e.expectTexts(t, x.to, queued(1), txtNoAgent, txtAsk)
		msgs := e.historyOf(t, x.chat.ID)
		if n := notes(msgs, "Converted to a ticket"); len(n) != 1 {
			t.Errorf("%s: %d conversions, want 1: %q", x.chat.ID, len(n), bodies(msgs))
		}
		e.expectOneOpenTicket(t, x.to, x.chat.ID)
	}
	// The live chat lost nothing either.
	if got := e.conv(t, chatA); got.State != engine.StateLive || got.Assignee != "ann" {
		t.Errorf("A's chat after two crashes: %s, want still live with ann", describe(got))
	}
	e.expectAgent(t, "ann", 1, false)
	e.expectTexts(t, a)
}
