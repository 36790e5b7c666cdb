package main

// Black-box tests of the bot connector: Parley's binary with a bot in its
// configuration, and as the bot either the example bot (cmd/parley-echobot,
// built and run as a process of its own) or a small bot played by the test.
// Between Parley and the bot sits a tap that checks the signature of every
// event Parley posts and records it, so a test can tell how many events a
// bot got; the tap passes each event on unchanged. What the customer
// received is read from the fake Twilio, the state from Redis.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/bots"
)

// The example bot's texts, and the note its hand-off leaves.
const (
	echoGreeting = "Hello! What can I do for you?\n1. hours\n2. agent" // buttons, as the history shows them
	echoHours    = "We are here Monday to Friday, 8:00 to 17:00."
	echoFinding  = "Let me find you someone from the team."
	echoBye      = "Goodbye!"
	echoSorry    = "Sorry, I did not get that. Send hours, or agent to talk to a person."
	echoHandOff  = "Handed over by the bot: The customer asked for a person."
	echoOrder    = "Your order is on its way: it ships tomorrow."
)

// botSecretEnv holds the bot's secret in Parley's environment.
const botSecretEnv = "PARLEY_BOT_ECHO_SECRET"

// botFailWait bounds the wait for a failing bot's hand-off: three attempts
// of up to the bot's timeout (2s), the back-off between them (200ms, then
// 400ms, seen by Asynq within a second), and a busy race-enabled run.
const botFailWait = 30 * time.Second

var (
	echobotBuild    sync.Once
	echobotBin      string
	echobotBuildErr error
)

// echobotBinary builds cmd/parley-echobot once per test binary, next to the
// parley binary (with the race detector if this test binary has it).
func echobotBinary(t *testing.T) string {
	t.Helper()
	echobotBuild.Do(func() {
		bin := filepath.Join(bbDir, "parley-echobot")
		args := []string{"build", "-o", bin}
		if raceBuild() {
			args = append(args, "-race")
		}
		args = append(args, "github.com/parleydesk/parley/cmd/parley-echobot")
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			echobotBuildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		echobotBin = bin
	})
	if echobotBuildErr != nil {
		t.Fatal(echobotBuildErr)
	}
	return echobotBin
}

// startEchobot runs the example bot on a free loopback port with secret,
// sending its later answers to Parley at parleyURL (none if empty), waits
// until it answers, and kills it when t ends. It returns its URL.
func startEchobot(t *testing.T, secret, parleyURL string) string {
	t.Helper()
	// The free port may be taken again before the bot binds it: try anew.
	for attempt := 1; ; attempt++ {
		url, err := runEchobot(t, secret, parleyURL)
		if err == nil {
			return url
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("%v: trying another port", err)
	}
}

// runEchobot is one try of startEchobot: an error if the bot exited
// before it answered.
func runEchobot(t *testing.T, secret, parleyURL string) (string, error) {
	t.Helper()
	bin := echobotBinary(t)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	log := &syncBuffer{}
	cmd := exec.Command(bin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ECHOBOT_") && !strings.HasPrefix(kv, "GORACE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ECHOBOT_SECRET="+secret, fmt.Sprintf("ECHOBOT_LISTEN=127.0.0.1:%d", port), "ECHOBOT_PARLEY_URL="+parleyURL, "GORACE=halt_on_error=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // it has no graceful shutdown
		<-exited
		if strings.Contains(log.String(), "WARNING: DATA RACE") {
			t.Errorf("the race detector reported a data race in parley-echobot")
		}
		if t.Failed() {
			t.Logf("parley-echobot log:\n%s", log.String())
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return "", fmt.Errorf("parley-echobot exited before it was ready: %v\n%s", waitErr, log.String())
		default:
		}
		// Any answer (an unsigned request is refused) means it listens.
		if resp, err := client.Post(url, "application/json", strings.NewReader("{}")); err == nil {
			resp.Body.Close()
			return url, nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("parley-echobot not answering after 20s")
		}
		time.Sleep(bbPoll)
	}
}

// tappedEvent is one event Parley posted to a bot, and what the bot said.
type tappedEvent struct {
	event  bots.Event
	sigErr error // the signature checked at the time it arrived
	status int   // the bot's answer; 0 until it answered
	at     time.Time
}

// botTap plays the bot's address: it checks and records every event, then
// has answer produce the bot's answer.
type botTap struct {
	URL    string
	secret string
	answer func(r *http.Request, body []byte, ev bots.Event) (int, []byte)

	mu     sync.Mutex
	events []tappedEvent
}

func newBotTap(t *testing.T, secret string, answer func(r *http.Request, body []byte, ev bots.Event) (int, []byte)) *botTap {
	t.Helper()
	b := &botTap{secret: secret, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		te := tappedEvent{sigErr: bots.Verify(secret, r.Header.Get(bots.SignatureHeader), body, time.Now()), at: time.Now()}
		if err := json.Unmarshal(body, &te.event); err != nil {
			te.sigErr = fmt.Errorf("event is not JSON: %v", err)
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			te.sigErr = fmt.Errorf("%s with Content-Type %q, want a JSON POST", r.Method, r.Header.Get("Content-Type"))
		}
		// Recorded on arrival: Parley may act on a timed-out call before
		// this handler learns that it gave up.
		b.mu.Lock()
		i := len(b.events)
		b.events = append(b.events, te)
		b.mu.Unlock()
		status, out := b.answer(r, body, te.event)
		b.mu.Lock()
		b.events[i].status = status
		b.mu.Unlock()
		if len(out) > 0 {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		w.Write(out)
	}))
	b.URL = srv.URL + "/"
	t.Cleanup(func() {
		srv.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.events {
			if e.sigErr != nil {
				t.Errorf("event %s to the bot: %v", e.event.ID, e.sigErr)
			}
		}
	})
	return b
}

// forwardTo makes a tap pass each event on to the bot at url, as it came.
func forwardTo(url string) func(*http.Request, []byte, bots.Event) (int, []byte) {
	forward, set := forwardLater()
	set(url)
	return forward
}

// forwardLater is forwardTo a bot whose url is set later, once it runs
// (before the first event).
func forwardLater() (func(*http.Request, []byte, bots.Event) (int, []byte), func(url string)) {
	client := &http.Client{Timeout: 10 * time.Second}
	var target atomic.Pointer[string]
	return func(r *http.Request, body []byte, _ bots.Event) (int, []byte) {
		url := target.Load()
		if url == nil {
			return http.StatusServiceUnavailable, nil
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, *url, bytes.NewReader(body))
		if err != nil {
			return http.StatusBadGateway, nil
		}
		req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		req.Header.Set(bots.SignatureHeader, r.Header.Get(bots.SignatureHeader))
		resp, err := client.Do(req)
		if err != nil {
			return http.StatusBadGateway, nil
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}, func(url string) { target.Store(&url) }
}

// eventsFor lists the message events of a conversation, in the order
// they came.
func (b *botTap) eventsFor(conv string) []tappedEvent {
	return b.ofType(conv, func(typ string) bool { return typ == "message" })
}

// lifecycleOf lists the types of the lifecycle events of a conversation.
func (b *botTap) lifecycleOf(conv string) []string {
	var out []string
	for _, e := range b.ofType(conv, func(typ string) bool { return typ != "message" }) {
		out = append(out, e.event.Type)
	}
	return out
}

func (b *botTap) ofType(conv string, keep func(string) bool) []tappedEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []tappedEvent
	for _, e := range b.events {
		if e.event.ConversationID == conv && keep(e.event.Type) {
			out = append(out, e)
		}
	}
	return out
}

// waitLifecycle waits until the conversation's lifecycle events are want,
// each signed, with the conversation's id and type as its id, and no
// message.
func (b *botTap) waitLifecycle(t *testing.T, conv string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("lifecycle events %q", want), func() (bool, string) {
		got := b.lifecycleOf(conv)
		return slices.Equal(got, want), fmt.Sprintf("%q", got)
	})
	for _, e := range b.ofType(conv, func(typ string) bool { return typ != "message" }) {
		if e.event.ID != conv+":"+e.event.Type || e.event.Message.ID != "" || len(e.event.History) != 0 || e.sigErr != nil {
			t.Errorf("lifecycle event %+v (signature: %v): want id %s:%s, no message, no history, signed", e.event, e.sigErr, conv, e.event.Type)
		}
	}
}

// waitEvents waits until the conversation's events are exactly n, all
// answered by the bot.
func (b *botTap) waitEvents(t *testing.T, conv string, n int) []tappedEvent {
	t.Helper()
	var evs []tappedEvent
	eventually(t, fmt.Sprintf("%d answered events for the bot", n), func() (bool, string) {
		evs = b.eventsFor(conv)
		answered := 0
		for _, e := range evs {
			if e.status != 0 {
				answered++
			}
		}
		return len(evs) == n && answered == n, fmt.Sprintf("%d events, %d answered", len(evs), answered)
	})
	return evs
}

// bodiesOf lists the customer messages the events carried.
func bodiesOf(evs []tappedEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.event.Message.Body)
	}
	return out
}

// botYAML is a bots entry of PARLEY_CONFIG; match is its departments or
// numbers line.
func botYAML(id, url, secretEnv, match string) string {
	return fmt.Sprintf("  - id: %s\n    url: %q\n    secret_env: %s\n    %s\n    timeout: 2s\n    active: always\n", id, url, secretEnv, match)
}

// startBotEngine is startEngine with bots (their YAML entries) and their
// secrets (KEY=VALUE).
func startBotEngine(t *testing.T, s engineSetup, bots []string, secrets ...string) *engineRun {
	t.Helper()
	cfg := s.yaml() + "bots:\n" + strings.Join(bots, "")
	env := append(s.env(), "PARLEY_SEND_RETRY_BASE=200ms", "PARLEY_RECONCILE_EVERY=1s")
	e := &engineRun{
		parley:    startParleyWith(t, parleyOptions{config: cfg, env: append(env, secrets...)}),
		setup:     s,
		wantTexts: map[string][]string{},
	}
	// As in startEngine, and all of it from the business's sender.
	t.Cleanup(func() { e.checkAtEnd(t, func(to string) { e.expectFrom(t, to) }) })
	return e
}

// expectFrom checks that every message to `to` came from the business's
// sender for its channel.
func (e *engineRun) expectFrom(t *testing.T, to string) {
	t.Helper()
	from := bbSMSFrom
	if strings.HasPrefix(to, "whatsapp:") {
		from = bbWhatsAppFrom
	}
	e.fake.mu.Lock()
	defer e.fake.mu.Unlock()
	for _, r := range e.fake.requests {
		if r.get("To") == to && r.get("From") != from {
			t.Errorf("Twilio got %q for %s from %q, want from %s", r.text(), to, r.get("From"), from)
		}
	}
}

// chatOf is the contact's open chat, which must exist.
func (e *engineRun) chatOf(t *testing.T, to channels.Address) *engine.Conversation {
	t.Helper()
	c := e.contact(t, to)
	if c.Chat == "" {
		t.Fatalf("contact %s has no open chat: %+v", to, c)
	}
	return e.conv(t, c.Chat)
}

// botMessages are the messages of msgs the bot wrote.
func botMessages(msgs []engine.Message, bot string) []string {
	var out []string
	for _, m := range msgs {
		if m.Author == "bot:"+bot {
			if m.Direction != engine.DirOut {
				out = append(out, fmt.Sprintf("(%s) %s", m.Direction, m.Body))
				continue
			}
			out = append(out, m.Body)
		}
	}
	return out
}

// quiet waits until the worker has run two more reconciler sweeps (every
// second, on the lowest-priority queue): any job a message would have
// caused (a bot event is on the highest) has run by then.
func (e *engineRun) quiet(t *testing.T) {
	t.Helper()
	sweeps := func() int64 {
		n, _ := e.rdb.Get(context.Background(), "asynq:{low}:processed").Int64()
		return n
	}
	before := sweeps()
	eventually(t, "two more reconciler sweeps", func() (bool, string) {
		n := sweeps()
		return n >= before+2, fmt.Sprintf("%d sweeps, started at %d", n, before)
	})
}

// waitFor polls cond until it holds or bound passes.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: still not %s; last saw: %s", bound, what, saw)
		}
		time.Sleep(bbPoll)
	}
}

// callback posts a bot's later answer to the callback API, signed with sig
// (no header if empty).
func (p *parley) callback(t *testing.T, bot, conv string, body []byte, sig string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.base+"/api/v1/bots/"+bot+"/conversations/"+conv+"/actions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(bots.SignatureHeader, sig)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		t.Fatalf("POST callback: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST callback: reading the answer: %v", err)
	}
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(out)}
}

// expectAPIError checks an error answer's status and code.
func expectAPIError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: got %s, want %d", what, r, status)
		return
	}
	if _, got := r.apiError(t); got != code {
		t.Errorf("%s: error code %q, want %q (%s)", what, got, code, r)
	}
}

// TestBlackboxBotEchobot runs the example bot for the default department,
// always active, with ann online: it answers, hands off, and closes.
func TestBlackboxBotEchobot(t *testing.T) {
	t.Parallel()
	secret := "echo-" + randAlnum(24)
	forward, setBot := forwardLater()
	tap := newBotTap(t, secret, forward)
	e := startBotEngine(t, engineSetup{agents: []string{"{id: ann, name: Ann, capacity: 5, online: true}"}},
		[]string{botYAML("echo", tap.URL, botSecretEnv, "departments: [general]")}, botSecretEnv+"="+secret)
	echobot := startEchobot(t, secret, e.base)
	setBot(echobot)

	concurrently(t,
		subtest{"answers", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000001")
			e.say(t, to, "hi")
			e.expectTexts(t, to, e.greeting(t))
			c := e.chatOf(t, to)
			if c.Kind != engine.KindChat || c.State != engine.StateBot || c.Bot != "echo" || c.Assignee != "" || !slices.Equal(c.Tags, []string{"greeted"}) {
				t.Errorf("after hi: %s bot %q tags %v; want a chat held by the bot echo, unassigned, tagged greeted", describe(c), c.Bot, c.Tags)
			}
			e.say(t, to, "hours")
			e.expectTexts(t, to, e.greeting(t), echoHours)
			e.say(t, to, "Do you sell gift cards?")
			e.expectTexts(t, to, e.greeting(t), echoHours, echoSorry)

			c = e.chatOf(t, to)
			if c.State != engine.StateBot || c.Assignee != "" || !slices.Equal(c.Tags, []string{"greeted"}) {
				t.Errorf("after three answers: %s tags %v; want still held by the bot, tagged greeted once", describe(c), c.Tags)
			}
			msgs := e.historyOf(t, c.ID)
			if got := bodies(only(engine.DirIn, msgs)); !slices.Equal(got, []string{"hi", "hours", "Do you sell gift cards?"}) {
				t.Errorf("customer messages %q", got)
			}
			if got := botMessages(msgs, "echo"); !slices.Equal(got, []string{echoGreeting, echoHours, echoSorry}) {
				t.Errorf("the bot's messages in the history: %q, want %q", got, []string{echoGreeting, echoHours, echoSorry})
			}
			// One event per customer message, each its message, all
			// answered by the bot.
			in := only(engine.DirIn, msgs)
			evs := tap.waitEvents(t, c.ID, 3)
			for i, ev := range evs {
				got := ev.event
				if got.ID != in[i].ID || got.Message.ID != in[i].ID || got.Message.Body != in[i].Body || got.Type != "message" ||
					got.Bot != "echo" || got.Contact.Address != to || got.Channel != channels.WhatsApp || !got.WindowOpen || ev.status != http.StatusOK {
					t.Errorf("event %d: %+v answered %d; want message %s (%q) of %s, answered 200", i, got, ev.status, in[i].ID, in[i].Body, to)
				}
			}
		}},

		subtest{"hands_off", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000002")
			e.say(t, to, "agent")
			e.expectTexts(t, to, echoFinding)
			id := e.contact(t, to).Chat
			c := e.waitConv(t, id, "live with ann", func(c *engine.Conversation) bool { return c.State == engine.StateLive })
			if c.Assignee != "ann" || c.Bot != "echo" || c.Kind != engine.KindChat {
				t.Errorf("after the hand-off: %s bot %q; want live with ann", describe(c), c.Bot)
			}
			msgs := e.historyOf(t, id)
			if got := botMessages(msgs, "echo"); !slices.Equal(got, []string{echoFinding}) {
				t.Errorf("the bot's messages: %q, want %q", got, echoFinding)
			}
			handoff := onlyNote(t, msgs, "Handed over by the bot")
			if handoff.Body != echoHandOff {
				t.Errorf("hand-off note %q, want %q", handoff.Body, echoHandOff)
			}
			assigned := onlyNote(t, msgs, "Chat assigned to")
			// In order: the customer, the bot's text, the note, the assignment.
			order := map[string]int{}
			for i, m := range msgs {
				order[m.ID] = i
			}
			at := slices.IndexFunc(msgs, func(m engine.Message) bool { return m.Body == echoFinding })
			if at < 0 {
				t.Fatalf("no %q in the history: %q", echoFinding, bodies(msgs))
			}
			text := msgs[at]
			if !(order[only(engine.DirIn, msgs)[0].ID] < order[text.ID] && order[text.ID] < order[handoff.ID] && order[handoff.ID] < order[assigned.ID]) {
				t.Errorf("history out of order: %q", bodies(msgs))
			}
			e.expectAgent(t, "ann", 1, false) // the other subtests' chats stay with the bot

			// The customer's next message is for ann: no event for the bot,
			// which would have answered "hi".
			e.say(t, to, "hi")
			e.quiet(t)
			if evs := tap.eventsFor(id); !slices.Equal(bodiesOf(evs), []string{"agent"}) {
				t.Errorf("the bot got events %q, want only the one before the hand-off", bodiesOf(evs))
			}
			c = e.conv(t, id)
			if c.State != engine.StateLive || c.Assignee != "ann" || !c.AwaitingAgent {
				t.Errorf("after the customer's next message: %s; want live with ann, awaiting her", describe(c))
			}
			if got := bodies(only(engine.DirIn, e.historyOf(t, id))); !slices.Equal(got, []string{"agent", "hi"}) {
				t.Errorf("customer messages %q, want agent then hi in the chat", got)
			}
			// Nor may the bot write in later, through the callback API.
			body, _ := json.Marshal(bots.Reply{ID: "late-" + randAlnum(8), Actions: []engine.BotAction{{Type: "text", Body: "me again"}}})
			expectAPIError(t, "a callback into ann's chat", e.callback(t, "echo", id, body, bots.SignCallback(secret, time.Now(), "echo", id, body)), http.StatusConflict, "wrong_state")
			e.expectTexts(t, to, echoFinding)
		}},

		subtest{"answers_later", func(t *testing.T) {
			// "order" is answered with no actions at once, then through the
			// callback API.
			const to = channels.Address("whatsapp:+27840000005")
			e.say(t, to, "order")
			e.expectTexts(t, to, echoOrder)
			c := e.chatOf(t, to)
			if c.State != engine.StateBot || !slices.Equal(c.Tags, []string{"order"}) {
				t.Errorf("after the later answer: %s tags %v; want held by the bot, tagged order", describe(c), c.Tags)
			}
			if evs := tap.waitEvents(t, c.ID, 1); evs[0].status != http.StatusOK {
				t.Errorf("the event was answered %d, want 200 (empty actions)", evs[0].status)
			}
			if got := botMessages(e.historyOf(t, c.ID), "echo"); !slices.Equal(got, []string{echoOrder}) {
				t.Errorf("the bot's messages %q, want %q", got, echoOrder)
			}
		}},

		subtest{"closes", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000003")
			e.say(t, to, "hello")
			e.expectTexts(t, to, e.greeting(t))
			id := e.contact(t, to).Chat
			e.say(t, to, "bye")
			e.expectTexts(t, to, e.greeting(t), echoBye)
			c := e.waitConv(t, id, "closed", func(c *engine.Conversation) bool { return c.State == engine.StateClosed })
			if c.Closed == nil || c.Closed.By != "bot:echo" || c.Assignee != "" {
				t.Errorf("after bye: %s; want closed by bot:echo", describe(c))
			}
			if ct := e.contact(t, to); ct.Chat != "" || ct.Ticket != "" {
				t.Errorf("contact %+v: want no open conversation after the bot closed the chat", ct)
			}
			// The next message starts a new chat, held by the bot again.
			e.say(t, to, "hi")
			e.expectTexts(t, to, e.greeting(t), echoBye, e.greeting(t))
			next := e.chatOf(t, to)
			if next.ID == id || next.State != engine.StateBot || next.Bot != "echo" {
				t.Errorf("after a new message: %s; want a new chat held by the bot", describe(next))
			}
		}},

		subtest{"replayed_event_refused", func(t *testing.T) {
			// Posted straight to the running bot, as an attacker would.
			body, _ := json.Marshal(bots.Event{ID: "01JREPLAY" + randAlnum(17), Type: "message", Bot: "echo",
				ConversationID: "01JCONV" + randAlnum(19), Contact: bots.Contact{Address: "whatsapp:+27840000004"},
				Channel: channels.WhatsApp, Message: engine.Message{Direction: engine.DirIn, Body: "hours"}, WindowOpen: true, SentAt: time.Now()})
			post := func(sig string) (int, string) {
				req, _ := http.NewRequest(http.MethodPost, echobot, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(bots.SignatureHeader, sig)
				resp, err := e.http.Do(req)
				if err != nil {
					t.Fatalf("POST to the bot: %v", err)
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(out)
			}
			if status, out := post(bots.Sign("not-the-secret-0123456789", time.Now(), body)); status != http.StatusForbidden {
				t.Errorf("wrong secret: %d %q, want 403", status, out)
			}
			if status, out := post(bots.Sign(secret, time.Now().Add(-6*time.Minute), body)); status != http.StatusForbidden {
				t.Errorf("signed 6 minutes ago: %d %q, want 403", status, out)
			}
			sig := bots.Sign(secret, time.Now(), body)
			status, out := post(sig)
			var reply bots.Reply
			if status != http.StatusOK || json.Unmarshal([]byte(out), &reply) != nil || len(reply.Actions) != 1 || reply.Actions[0].Body != echoHours {
				t.Fatalf("first delivery: %d %q, want 200 with the hours", status, out)
			}
			if status, out := post(sig); status != http.StatusConflict {
				t.Errorf("the same event again: %d %q, want 409", status, out)
			}
			// Signed anew a second later, as Parley's retry is: answered again.
			time.Sleep(time.Second)
			if status, out := post(bots.Sign(secret, time.Now(), body)); status != http.StatusOK {
				t.Errorf("the same event re-signed: %d %q, want 200", status, out)
			}
		}},
	)
}

// TestBlackboxBotHandOffOutOfHours: a bot active always answers out of
// business hours too; its hand-off then starts the leave-a-message flow,
// even with an agent online.
func TestBlackboxBotHandOffOutOfHours(t *testing.T) {
	t.Parallel()
	secret := "echo-" + randAlnum(24)
	tap := newBotTap(t, secret, forwardTo(startEchobot(t, secret, "")))
	e := startBotEngine(t, engineSetup{closed: true, agents: []string{"{id: ann, name: Ann, capacity: 5, online: true}"}},
		[]string{botYAML("echo", tap.URL, botSecretEnv, "departments: [general]")}, botSecretEnv+"="+secret)

	const to = channels.Address("whatsapp:+27840000101")
	e.say(t, to, "hi")
	e.expectTexts(t, to, e.greeting(t))
	id := e.chatOf(t, to).ID
	e.say(t, to, "agent")
	e.expectTexts(t, to, e.greeting(t), echoFinding, txtOutOfHours, txtAsk)

	// The chat became the contact's ticket, asking whether to leave a
	// message; nobody was asked to take it.
	ct := e.contact(t, to)
	if ct.Chat != "" || ct.Ticket != id {
		t.Fatalf("contact %+v: want no chat and the bot's chat %s as its ticket", ct, id)
	}
	tk := e.conv(t, id)
	if tk.Kind != engine.KindTicket || tk.State != engine.StateUnassigned || tk.Session != engine.SessionAsking || tk.Assignee != "" || tk.Bot != "echo" {
		t.Errorf("after the hand-off: %s bot %q; want an unassigned ticket asking the question", describe(tk), tk.Bot)
	}
	if !slices.Equal(tk.Tags, []string{"greeted"}) {
		t.Errorf("ticket tags %v: want the bot's greeted kept for the team", tk.Tags)
	}
	msgs := e.expectHistory(t, id, []string{"hi", "agent"}, []string{txtOutOfHours, txtAsk})
	if n := onlyNote(t, msgs, "Handed over by the bot"); n.Body != echoHandOff {
		t.Errorf("hand-off note %q, want %q", n.Body, echoHandOff)
	}
	onlyNote(t, msgs, "Converted to a ticket")
	if got := botMessages(msgs, "echo"); !slices.Equal(got, []string{echoGreeting, echoFinding}) {
		t.Errorf("the bot's messages %q", got)
	}
	e.expectAgent(t, "ann", 0, false)
	e.expectOneOpenTicket(t, to, id)

	// The customer's YES goes to the flow, not to the bot.
	e.say(t, to, "yes")
	e.expectTexts(t, to, e.greeting(t), echoFinding, txtOutOfHours, txtAsk, txtCollecting)
	e.say(t, to, "My order 77 never came")
	if got := e.conv(t, id); got.Session != engine.SessionCollecting || got.State != engine.StateUnassigned {
		t.Errorf("after YES and a message: %s; want the ticket collecting", describe(got))
	}
	e.quiet(t)
	if evs := tap.eventsFor(id); !slices.Equal(bodiesOf(evs), []string{"hi", "agent"}) {
		t.Errorf("the bot got events %q, want hi and agent only", bodiesOf(evs))
	}
	e.expectOneOpenTicket(t, to, id)
}

// TestBlackboxBotFailures: a bot that does not answer in time, answers
// what Parley cannot do, or cannot be reached is retried twice, then the
// chat is routed as if there were no bot, with a note saying why.
func TestBlackboxBotFailures(t *testing.T) {
	t.Parallel()
	secret := "slow-" + randAlnum(24)
	release := make(chan struct{})
	// WhatsApp customers get a bot that sleeps past its 2s timeout, or,
	// to "dance", answers an action Parley does not know.
	tap := newBotTap(t, secret, func(r *http.Request, _ []byte, ev bots.Event) (int, []byte) {
		if ev.Type != "message" {
			return http.StatusNoContent, nil // the news that the chat left it
		}
		if ev.Message.Body == "dance" {
			return http.StatusOK, []byte(`{"actions":[{"type":"dance","body":"no such action"}]}`)
		}
		select {
		case <-r.Context().Done(): // Parley gave up
		case <-release:
		case <-time.After(botFailWait):
		}
		return http.StatusOK, []byte(`{"actions":[{"type":"text","body":"too late"}]}`)
	})
	t.Cleanup(func() { close(release) }) // runs before the tap's server closes
	// SMS customers get a bot at a port where nothing listens.
	gone := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	e := startBotEngine(t, engineSetup{agents: []string{"{id: ann, name: Ann, capacity: 5, online: true}"}},
		[]string{
			botYAML("gone", gone, "PARLEY_BOT_GONE_SECRET", fmt.Sprintf("numbers: [%q]", bbSMSFrom)),
			botYAML("echo", tap.URL, botSecretEnv, fmt.Sprintf("numbers: [%q]", bbWhatsAppFrom)),
		},
		botSecretEnv+"="+secret, "PARLEY_BOT_GONE_SECRET=gone-"+randAlnum(24))

	// handedOver waits for the chat to be live with ann and returns it,
	// with how long it took from start.
	handedOver := func(t *testing.T, id string, start time.Time) (*engine.Conversation, time.Duration) {
		t.Helper()
		var c *engine.Conversation
		waitFor(t, botFailWait, "live with ann", func() (bool, string) {
			c = e.conv(t, id)
			return c.State == engine.StateLive, describe(c)
		})
		took := time.Since(start)
		t.Logf("handed over after %s", took)
		if c.Assignee != "ann" || c.Bot == "" {
			t.Errorf("after the bot failed: %s bot %q; want live with ann", describe(c), c.Bot)
		}
		return c, took
	}

	concurrently(t,
		subtest{"times_out", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000201")
			start := time.Now()
			e.say(t, to, "hi")
			c := e.chatOf(t, to)
			if c.State != engine.StateBot || c.Bot != "echo" {
				t.Fatalf("new chat: %s bot %q; want held by the bot", describe(c), c.Bot)
			}
			_, took := handedOver(t, c.ID, start)
			// Three attempts, each cut off at the bot's timeout.
			evs := tap.eventsFor(c.ID)
			if len(evs) != 3 {
				t.Errorf("the bot got %d events, want 3 (one and two retries): %+v", len(evs), evs)
			}
			for i, ev := range evs {
				if ev.event.ID != evs[0].event.ID || ev.event.Message.Body != "hi" {
					t.Errorf("attempt %d: event %s (%q), want the same event %s each time", i, ev.event.ID, ev.event.Message.Body, evs[0].event.ID)
				}
			}
			if took < 3*2*time.Second {
				t.Errorf("handed over after %s: before three 2s timeouts could pass", took)
			}
			msgs := e.historyOf(t, c.ID)
			if n := onlyNote(t, msgs, "Taken from the bot"); n.Body != "Taken from the bot: the bot did not answer in time" {
				t.Errorf("hand-off note %q: want it to say the bot did not answer in time, in words", n.Body)
			}
			onlyNote(t, msgs, "Chat assigned to")
			tap.waitLifecycle(t, c.ID, engine.BotHandedOff)
			if got := botMessages(msgs, "echo"); len(got) != 0 {
				t.Errorf("the bot's late answer was applied: %q", got)
			}
			e.expectTexts(t, to) // the bot said nothing, nor did Parley

			// The next message is ann's: no event for the bot.
			e.say(t, to, "hello?")
			e.quiet(t)
			if n := len(tap.eventsFor(c.ID)); n != 3 {
				t.Errorf("the bot got %d events, want still 3", n)
			}
			e.expectTexts(t, to)
		}},

		subtest{"refused_answer", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000202")
			start := time.Now()
			e.say(t, to, "dance")
			c := e.chatOf(t, to)
			handedOver(t, c.ID, start)
			msgs := e.historyOf(t, c.ID)
			if n := onlyNote(t, msgs, "Taken from the bot"); n.Body != `Taken from the bot: the bot's answer could not be carried out: actions[0]: unknown action "dance"` {
				t.Errorf("hand-off note %q: want it to name the refused action", n.Body)
			}
			if n := len(tap.eventsFor(c.ID)); n != 3 {
				t.Errorf("the bot got %d events, want 3 (one and two retries)", n)
			}
			e.expectTexts(t, to)
		}},

		subtest{"unreachable", func(t *testing.T) {
			const number = "+27840000203"
			to := channels.Address("sms:" + number)
			start := time.Now()
			e.mustAccept(t, e.smsIn(number, "hi"))
			c := e.chatOf(t, to)
			if c.State != engine.StateBot || c.Bot != "gone" || c.Channel != channels.SMS {
				t.Fatalf("new chat: %s bot %q; want an SMS chat held by the bot gone", describe(c), c.Bot)
			}
			handedOver(t, c.ID, start)
			msgs := e.historyOf(t, c.ID)
			// In words, and nothing of the bot's address reaches the desk.
			if n := onlyNote(t, msgs, "Taken from the bot"); n.Body != "Taken from the bot: the bot is unavailable" {
				t.Errorf("hand-off note %q: want it to say the bot is unavailable, in words", n.Body)
			}
			for _, m := range msgs {
				if strings.Contains(m.Body, "127.0.0.1") || strings.Contains(m.Body, "dial") {
					t.Errorf("the history shows the bot's address or an internal error: %q", m.Body)
				}
			}
			e.expectTexts(t, channels.Address(number))
		}},
	)
	e.expectAgent(t, "ann", 3, false)
}

// TestBlackboxBotCallback: a bot that answers later, through the callback
// API, must sign its answer with its secret, recently, and never send the
// same answer twice.
func TestBlackboxBotCallback(t *testing.T) {
	t.Parallel()
	secret := "later-" + randAlnum(24)
	// The bot takes each event and answers 202 with nothing: it will
	// answer later.
	tap := newBotTap(t, secret, func(*http.Request, []byte, bots.Event) (int, []byte) { return http.StatusAccepted, nil })
	e := startBotEngine(t, engineSetup{agents: []string{"{id: ann, name: Ann, capacity: 5, online: true}"}},
		[]string{botYAML("echo", tap.URL, botSecretEnv, "departments: [general]")}, botSecretEnv+"="+secret)

	const to = channels.Address("whatsapp:+27840000301")
	e.say(t, to, "Where is my order?")
	id := e.chatOf(t, to).ID
	if evs := tap.waitEvents(t, id, 1); evs[0].status != http.StatusAccepted || evs[0].event.Message.Body != "Where is my order?" {
		t.Fatalf("event %+v answered %d", evs[0].event, evs[0].status)
	}
	e.quiet(t) // the 202 was taken as an answer: no retry
	if n := len(tap.eventsFor(id)); n != 1 {
		t.Fatalf("the bot got %d events, want 1 (a 202 is no failure)", n)
	}
	if c := e.conv(t, id); c.State != engine.StateBot || c.Bot != "echo" {
		t.Fatalf("after the 202: %s; want still held by the bot", describe(c))
	}

	body, _ := json.Marshal(bots.Reply{ID: "cb-1", Actions: []engine.BotAction{
		{Type: "text", Body: "Your order ships tomorrow."},
		{Type: "tags", Tags: []string{"order"}},
		{Type: "attributes", Attributes: map[string]string{"order": "77"}},
	}})
	now := time.Now()
	expectAPIError(t, "wrong secret", e.callback(t, "echo", id, body, bots.Sign("not-the-secret-0123456789", now, body)), http.StatusForbidden, "bad_signature")
	expectAPIError(t, "no signature", e.callback(t, "echo", id, body, ""), http.StatusForbidden, "bad_signature")
	expectAPIError(t, "signed 10 minutes ago", e.callback(t, "echo", id, body, bots.SignCallback(secret, now.Add(-10*time.Minute), "echo", id, body)), http.StatusForbidden, "bad_signature")
	expectAPIError(t, "signed for another body", e.callback(t, "echo", id, body, bots.SignCallback(secret, now, "echo", id, []byte(`{"id":"cb-1","actions":[]}`))), http.StatusForbidden, "bad_signature")
	// The signature covers the method and the path: one over the body
	// alone, or for another conversation, does not hold.
	expectAPIError(t, "signed over the body only", e.callback(t, "echo", id, body, bots.Sign(secret, now, body)), http.StatusForbidden, "bad_signature")
	expectAPIError(t, "signed for another conversation", e.callback(t, "echo", id, body, bots.SignCallback(secret, now, "echo", "01JOTHERCONVERSATION000000", body)), http.StatusForbidden, "bad_signature")
	expectAPIError(t, "an unknown bot", e.callback(t, "nobot", id, body, bots.SignCallback(secret, now, "nobot", id, body)), http.StatusNotFound, "not_found")
	noID, _ := json.Marshal(bots.Reply{Actions: []engine.BotAction{{Type: "text", Body: "no id"}}})
	expectAPIError(t, "no id", e.callback(t, "echo", id, noID, bots.SignCallback(secret, now, "echo", id, noID)), http.StatusBadRequest, "invalid")
	// Nothing of it reached the customer or the chat.
	e.quiet(t)
	e.expectTexts(t, to)
	if c := e.conv(t, id); c.State != engine.StateBot || len(c.Tags) != 0 || len(c.Attributes) != 0 {
		t.Errorf("after refused callbacks: %s tags %v attributes %v; want unchanged", describe(c), c.Tags, c.Attributes)
	}
	if got := botMessages(e.historyOf(t, id), "echo"); len(got) != 0 {
		t.Errorf("refused callbacks wrote %q", got)
	}

	// Correctly signed: applied (the refusals did not use up its id).
	sig := bots.SignCallback(secret, time.Now(), "echo", id, body)
	r := e.callback(t, "echo", id, body, sig)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"applied"`) {
		t.Fatalf("signed callback: got %s, want 200 applied", r)
	}
	e.expectTexts(t, to, "Your order ships tomorrow.")
	c := e.conv(t, id)
	if c.State != engine.StateBot || !slices.Equal(c.Tags, []string{"order"}) || c.Attributes["order"] != "77" {
		t.Errorf("after the callback: %s tags %v attributes %v; want held by the bot, tagged order, order 77", describe(c), c.Tags, c.Attributes)
	}
	if got := botMessages(e.historyOf(t, id), "echo"); !slices.Equal(got, []string{"Your order ships tomorrow."}) {
		t.Errorf("the bot's messages %q", got)
	}

	// The same callback again, as sent or re-signed: a replay.
	expectAPIError(t, "the same callback again", e.callback(t, "echo", id, body, sig), http.StatusConflict, "replay")
	expectAPIError(t, "the same callback re-signed", e.callback(t, "echo", id, body, bots.SignCallback(secret, time.Now(), "echo", id, body)), http.StatusConflict, "replay")
	e.quiet(t)
	e.expectTexts(t, to, "Your order ships tomorrow.")

	// A later callback hands off; after it the bot may not write any more.
	handoff, _ := json.Marshal(bots.Reply{ID: "cb-2", Actions: []engine.BotAction{{Type: "handoff", Note: "Asked about order 77"}}})
	if r := e.callback(t, "echo", id, handoff, bots.SignCallback(secret, time.Now(), "echo", id, handoff)); r.status != http.StatusOK {
		t.Fatalf("hand-off callback: got %s, want 200", r)
	}
	c = e.conv(t, id)
	if c.State != engine.StateLive || c.Assignee != "ann" {
		t.Errorf("after the hand-off callback: %s; want live with ann", describe(c))
	}
	if n := onlyNote(t, e.historyOf(t, id), "Handed over by the bot"); n.Body != "Handed over by the bot: Asked about order 77" {
		t.Errorf("hand-off note %q", n.Body)
	}
	late, _ := json.Marshal(bots.Reply{ID: "cb-3", Actions: []engine.BotAction{{Type: "text", Body: "me again"}}})
	expectAPIError(t, "a callback into ann's chat", e.callback(t, "echo", id, late, bots.SignCallback(secret, time.Now(), "echo", id, late)), http.StatusConflict, "wrong_state")
	e.expectTexts(t, to, "Your order ships tomorrow.")
}

// greeting is what Twilio is asked to send for the echobot's greeting on
// WhatsApp: the quick-reply content resource Parley created for its
// buttons, once, whoever it greets.
func (e *engineRun) greeting(t *testing.T) string {
	t.Helper()
	var sid string
	waitFor(t, bbWait, "the greeting's quick-reply resource", func() (bool, string) {
		sids := e.fake.quickReplySIDs()
		if len(sids) > 1 {
			t.Fatalf("%d quick-reply resources for the one greeting, want 1", len(sids))
		}
		if len(sids) == 1 {
			sid = sids[0]
		}
		return sid != "", "none yet"
	})
	return sid
}

// deskUser is a signed-in desk session: its cookie and CSRF token.
type deskUser struct {
	p      *parley
	cookie *http.Cookie
	csrf   string
}

// signIn sets a password for the configured user id and signs them in.
func (p *parley) signIn(t *testing.T, id string) *deskUser {
	t.Helper()
	const password = "a long enough password"
	cmd := exec.Command(p.bin, "user", "passwd", "-id", id)
	cmd.Env, cmd.Stdin = p.env, strings.NewReader(password+"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd %s: %v\n%s", id, err, out)
	}
	resp, err := p.http.Post(p.base+"/api/v1/session", "application/json", strings.NewReader(`{"user":"`+id+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatalf("sign in %s: %v", id, err)
	}
	defer resp.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in %s: %d %v", id, resp.StatusCode, err)
	}
	u := &deskUser{p: p, csrf: me.CSRF}
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			u.cookie = c
		}
	}
	if u.cookie == nil {
		t.Fatalf("sign in %s: no session cookie", id)
	}
	return u
}

// do sends a desk API request with the session; body is JSON-encoded if
// not nil.
func (u *deskUser) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, u.p.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(u.cookie)
	req.Header.Set("X-CSRF-Token", u.csrf)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := u.p.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(out)}
}

// botTab lists the bot tab as u sees it: conversation id to its bot.
func (u *deskUser) botTab(t *testing.T) map[string]string {
	t.Helper()
	r := u.do(t, http.MethodGet, "/api/v1/conversations?tab=bot", nil)
	if r.status != http.StatusOK {
		t.Fatalf("bot tab: %s", r)
	}
	var page desk.Page
	if err := json.Unmarshal([]byte(r.body), &page); err != nil {
		t.Fatalf("bot tab: %v in %s", err, r.body)
	}
	out := map[string]string{}
	for _, c := range page.Items {
		if c.State != engine.StateBot {
			t.Errorf("bot tab lists %s", describe(c))
		}
		out[c.ID] = c.Bot
	}
	return out
}

// TestBlackboxBotQuiet: a bot that never answers cannot hold a customer:
// after its idle timeout the chat goes to people, and the bot is told.
// Supervisors see the chats bots hold and can take one over; the bot is
// told of that too, and of a chat the customer ended. Nothing internal
// (a supervisor's comment) reaches the bot.
func TestBlackboxBotQuiet(t *testing.T) {
	t.Parallel()
	secret := "quiet-" + randAlnum(24)
	// The bot takes every event and answers nothing, ever.
	tap := newBotTap(t, secret, func(*http.Request, []byte, bots.Event) (int, []byte) { return http.StatusOK, nil })
	quiet := strings.Replace(botYAML("quiet", tap.URL, botSecretEnv, fmt.Sprintf("numbers: [%q]", bbWhatsAppFrom)),
		"timeout: 2s\n", "timeout: 2s\n    idle_timeout: 3s\n", 1)
	e := startBotEngine(t, engineSetup{agents: []string{
		"{id: ann, name: Ann, capacity: 5, online: true}",
		"{id: sue, name: Sue, role: supervisor, capacity: 5}",
	}}, []string{quiet, botYAML("slow", tap.URL, botSecretEnv, fmt.Sprintf("numbers: [%q]", bbSMSFrom))}, botSecretEnv+"="+secret)
	sue, ann := e.signIn(t, "sue"), e.signIn(t, "ann")

	concurrently(t,
		subtest{"idle_bot_hands_over", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000601")
			e.say(t, to, "hi")
			c := e.chatOf(t, to)
			if c.State != engine.StateBot || c.Bot != "quiet" {
				t.Fatalf("new chat: %s bot %q; want held by the bot quiet", describe(c), c.Bot)
			}
			if at, ok := c.Deadlines[engine.TimerBot]; !ok || !at.Equal(c.LastCustomerAt.Add(3*time.Second)) {
				t.Errorf("bot deadline %v (set %v), want the message's time + 3s", at, ok)
			}
			tap.waitEvents(t, c.ID, 1)
			c = e.waitConv(t, c.ID, "live with ann", func(c *engine.Conversation) bool { return c.State == engine.StateLive })
			msgs := e.historyOf(t, c.ID)
			n := onlyNote(t, msgs, "Taken from the bot")
			if n.Body != "Taken from the bot: the bot did not answer in time" || c.Assignee != "ann" {
				t.Errorf("after the bot's idle timeout: %s, note %q; want live with ann, the note in words", describe(c), n.Body)
			}
			firedWithin(t, "the bot's idle timeout", c.LastCustomerAt, 3*time.Second, n.At)
			if _, still := c.Deadlines[engine.TimerBot]; still {
				t.Errorf("the bot deadline is still set after the hand-over: %v", c.Deadlines)
			}
			tap.waitLifecycle(t, c.ID, engine.BotHandedOff)
			e.expectTexts(t, to)
		}},

		subtest{"supervisor_takes_over", func(t *testing.T) {
			const number = "+27840000602"
			e.mustAccept(t, e.smsIn(number, "hi"))
			c := e.chatOf(t, channels.Address("sms:"+number))
			tap.waitEvents(t, c.ID, 1)
			if got := sue.botTab(t); got[c.ID] != "slow" {
				t.Errorf("sue's bot tab %v: want %s held by slow", got, c.ID)
			}
			if got := ann.botTab(t); len(got) != 0 {
				t.Errorf("ann's bot tab %v: want nothing (it is for supervisors)", got)
			}
			// An internal comment never reaches the bot.
			if r := sue.do(t, http.MethodPost, "/api/v1/conversations/"+c.ID+"/comments", map[string]string{"body": "INTERNAL: owes R5000, do not mention"}); r.status/100 != 2 {
				t.Fatalf("comment: %s", r)
			}
			e.mustAccept(t, e.smsIn(number, "are you there?"))
			evs := tap.waitEvents(t, c.ID, 2)
			var hist []string
			for _, m := range evs[1].event.History {
				if m.Direction != engine.DirIn && m.Direction != engine.DirOut {
					t.Errorf("the bot got a %s message in the history: %q", m.Direction, m.Body)
				}
				hist = append(hist, m.Body)
			}
			if !slices.Equal(hist, []string{"hi", "are you there?"}) {
				t.Errorf("the second event's history %q, want the customer's two messages, the current one last", hist)
			}
			// sue takes the chat from the bot, to ann.
			if r := sue.do(t, http.MethodPost, "/api/v1/conversations/"+c.ID+"/transfer", engine.Target{Agent: "ann"}); r.status/100 != 2 {
				t.Fatalf("transfer from the bot: %s", r)
			}
			c = e.conv(t, c.ID)
			if c.State != engine.StateLive || c.Assignee != "ann" || len(c.BotPending) != 0 {
				t.Errorf("after the transfer: %s pending %v; want live with ann, nothing for the bot", describe(c), c.BotPending)
			}
			// System lines name people, not their ids.
			onlyNote(t, e.historyOf(t, c.ID), "Taken from the bot by Sue")
			tap.waitLifecycle(t, c.ID, engine.BotTakenOver)
			if _, ok := sue.botTab(t)[c.ID]; ok {
				t.Errorf("the chat is still in the bot tab")
			}
			late, _ := json.Marshal(bots.Reply{ID: "late-" + randAlnum(8), Actions: []engine.BotAction{{Type: "text", Body: "me again"}}})
			expectAPIError(t, "a callback after the take-over", e.callback(t, "slow", c.ID, late, bots.SignCallback(secret, time.Now(), "slow", c.ID, late)), http.StatusConflict, "wrong_state")
		}},

		subtest{"customer_ends", func(t *testing.T) {
			const number = "+27840000603"
			e.mustAccept(t, e.smsIn(number, "hi"))
			c := e.chatOf(t, channels.Address("sms:"+number))
			e.mustAccept(t, e.smsIn(number, "//end"))
			c = e.waitConv(t, c.ID, "closed", func(c *engine.Conversation) bool { return c.State == engine.StateClosed })
			if c.Closed.By != "customer" {
				t.Errorf("after //end: %s closed by %q", describe(c), c.Closed.By)
			}
			tap.waitLifecycle(t, c.ID, engine.BotClosed)
		}},
	)
}

// TestBlackboxBotAnswers: a bot's events come one at a time, in order;
// an answer Parley cannot carry out (an unknown department included) is
// refused with a reason and can be sent again, corrected, under the same
// callback id; and during a key change-over both secrets work.
func TestBlackboxBotAnswers(t *testing.T) {
	t.Parallel()
	newSecret, oldSecret := "new-"+randAlnum(24), "old-"+randAlnum(24)
	var mu sync.Mutex
	inFlight, most := map[string]int{}, 0
	// The tap checks the old secret; the new one is checked here: each
	// event carries a v1 for both.
	tap := newBotTap(t, oldSecret, func(r *http.Request, body []byte, ev bots.Event) (int, []byte) {
		if err := bots.Verify(newSecret, r.Header.Get(bots.SignatureHeader), body, time.Now()); err != nil {
			t.Errorf("event %s under the new secret: %v", ev.ID, err)
		}
		if ev.Type != "message" {
			return http.StatusNoContent, nil
		}
		switch body := ev.Message.Body; {
		case strings.HasPrefix(body, "slow "):
			mu.Lock()
			inFlight[ev.ConversationID]++
			most = max(most, inFlight[ev.ConversationID])
			mu.Unlock()
			time.Sleep(300 * time.Millisecond)
			mu.Lock()
			inFlight[ev.ConversationID]--
			mu.Unlock()
			return http.StatusOK, []byte(`{"actions":[{"type":"text","body":"echo: ` + body + `"}]}`)
		case body == "to nowhere" && ev.Attempt == 0:
			return http.StatusOK, []byte(`{"actions":[{"type":"handoff","department":"nope"}]}`)
		case body == "to nowhere":
			return http.StatusOK, []byte(`{"actions":[{"type":"handoff","note":"corrected"}]}`)
		}
		return http.StatusAccepted, nil // answered later
	})
	bot := strings.Replace(botYAML("echo", tap.URL, "PARLEY_BOT_NEW_SECRET", "departments: [general]"),
		"secret_env: PARLEY_BOT_NEW_SECRET", "secret_env: [PARLEY_BOT_NEW_SECRET, PARLEY_BOT_OLD_SECRET]", 1)
	e := startBotEngine(t, engineSetup{agents: []string{"{id: ann, name: Ann, capacity: 5, online: true}"}},
		[]string{bot}, "PARLEY_BOT_NEW_SECRET="+newSecret, "PARLEY_BOT_OLD_SECRET="+oldSecret)

	concurrently(t,
		subtest{"one_event_in_flight_in_order", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000701")
			for _, body := range []string{"slow 1", "slow 2", "slow 3"} {
				e.say(t, to, body)
			}
			e.expectTexts(t, to, "echo: slow 1", "echo: slow 2", "echo: slow 3")
			id := e.chatOf(t, to).ID
			if got := bodiesOf(tap.waitEvents(t, id, 3)); !slices.Equal(got, []string{"slow 1", "slow 2", "slow 3"}) {
				t.Errorf("events in the order %q", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if most != 1 {
				t.Errorf("up to %d events of one chat were at the bot at once, want 1", most)
			}
		}},

		subtest{"answer_to_unknown_department_retried", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000702")
			e.say(t, to, "to nowhere")
			id := e.chatOf(t, to).ID
			c := e.waitConv(t, id, "live with ann", func(c *engine.Conversation) bool { return c.State == engine.StateLive })
			if c.Department != "general" || c.Assignee != "ann" {
				t.Errorf("after the corrected answer: %s; want live with ann in general", describe(c))
			}
			if n := onlyNote(t, e.historyOf(t, id), "Handed over by the bot"); n.Body != "Handed over by the bot: corrected" {
				t.Errorf("hand-off note %q", n.Body)
			}
			if evs := tap.waitEvents(t, id, 2); evs[1].event.Attempt != 1 {
				t.Errorf("the retry was attempt %d, want 1", evs[1].event.Attempt)
			}
		}},

		subtest{"callback_refused_then_corrected", func(t *testing.T) {
			const to = channels.Address("whatsapp:+27840000703")
			e.say(t, to, "later please")
			id := e.chatOf(t, to).ID
			tap.waitEvents(t, id, 1)
			send := func(actions string, secret string) response {
				body := []byte(`{"id":"cb-fix","actions":[` + actions + `]}`)
				return e.callback(t, "echo", id, body, bots.SignCallback(secret, time.Now(), "echo", id, body))
			}
			r := send(`{"type":"dance"}`, newSecret)
			expectAPIError(t, "an unknown action", r, http.StatusBadRequest, "invalid")
			if msg, _ := r.apiError(t); !strings.Contains(msg, `unknown action "dance"`) {
				t.Errorf("unknown action: %q, want it named", msg)
			}
			r = send(`{"type":"text","body":"one moment"},{"type":"handoff","department":"nope"}`, newSecret)
			expectAPIError(t, "a hand-off to an unknown department", r, http.StatusBadRequest, "invalid")
			if msg, _ := r.apiError(t); !strings.Contains(msg, `unknown department "nope"`) {
				t.Errorf("unknown department: %q, want it named", msg)
			}
			if c := e.conv(t, id); c.State != engine.StateBot {
				t.Fatalf("after refused callbacks: %s; want still held by the bot", describe(c))
			}
			e.expectTexts(t, to) // nothing of a refused answer was sent
			// Corrected under the same id, signed with the old secret: applied.
			if r := send(`{"type":"text","body":"one moment"},{"type":"handoff"}`, oldSecret); r.status != http.StatusOK || !strings.Contains(r.body, `"applied"`) {
				t.Fatalf("the corrected callback: %s, want 200 applied", r)
			}
			e.expectTexts(t, to, "one moment")
			c := e.conv(t, id)
			if c.State != engine.StateLive || c.Assignee != "ann" || c.Department != "general" {
				t.Errorf("after the corrected hand-off: %s; want live with ann in general", describe(c))
			}
			// The same id again is a replay, told apart from wrong_state.
			expectAPIError(t, "the applied id again", send(`{"type":"text","body":"again"}`, newSecret), http.StatusConflict, "replay")
			e.expectTexts(t, to, "one moment")
		}},
	)
}

// TestBlackboxBotUnknownDepartment: a bot configured for a department that
// does not exist stops start-up with one line saying so, and is refused in
// the admin settings.
func TestBlackboxBotUnknownDepartment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "parley.yaml")
	yaml := "bots:\n" + botYAML("echo", "http://127.0.0.1:1/", botSecretEnv, "departments: [nope]")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// Bounded: a Parley that took the configuration would serve on.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, parleyBinary(t), "serve")
	cmd.Env = []string{"PARLEY_CONFIG=" + cfg, botSecretEnv + "=" + randAlnum(24), "PATH=" + os.Getenv("PATH"),
		fmt.Sprintf("PARLEY_LISTEN=127.0.0.1:%d", freePort(t))}
	out, err := cmd.CombinedOutput()
	const want = `parley: bots[0].departments: unknown department "nope"`
	if err == nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("start-up with a bot for department nope: %v, printed %q; want it to stop with %q", err, out, want)
	}

	secret := randAlnum(24)
	e := startBotEngine(t, engineSetup{agents: []string{"{id: ada, name: Ada, role: admin}"}},
		[]string{botYAML("echo", "http://127.0.0.1:1/", botSecretEnv, "departments: [general]")}, botSecretEnv+"="+secret)
	ada := e.signIn(t, "ada")
	r := ada.do(t, http.MethodGet, "/api/v1/admin/settings", nil)
	var settings map[string]any
	if err := json.Unmarshal([]byte(r.body), &settings); err != nil || r.status != http.StatusOK {
		t.Fatalf("settings: %s (%v)", r, err)
	}
	bots, _ := settings["bots"].([]any)
	if len(bots) != 1 {
		t.Fatalf("settings bots %v, want the configured one", settings["bots"])
	}
	bots[0].(map[string]any)["departments"] = []string{"nope"}
	r = ada.do(t, http.MethodPut, "/api/v1/admin/settings", settings)
	expectAPIError(t, "settings with a bot for department nope", r, http.StatusBadRequest, "invalid")
	if msg, _ := r.apiError(t); !strings.Contains(msg, `bots[0].departments: unknown department "nope"`) {
		t.Errorf("refusal %q: want it to name the bot's unknown department", msg)
	}
}
