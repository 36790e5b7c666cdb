package desk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/config"
)

const botSecret = "0123456789abcdef-bot"

// botFixture is a service with a bot "helper" for the default department,
// played by an httptest server answering with answer(event).
type botFixture struct {
	fixture
	mu     sync.Mutex
	events []bots.Event
}

func newBotFixture(t *testing.T, answer func(bots.Event) (int, bots.Reply)) *botFixture {
	t.Helper()
	f := &botFixture{fixture: newFixture(t)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := bots.Verify(botSecret, r.Header.Get(bots.SignatureHeader), body, f.clock.Now()); err != nil {
			t.Errorf("event signature: %v", err)
		}
		var ev bots.Event
		json.Unmarshal(body, &ev)
		f.mu.Lock()
		f.events = append(f.events, ev)
		f.mu.Unlock()
		status, reply := answer(ev)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(reply)
	}))
	t.Cleanup(srv.Close)
	rules := configtest.Rules(t)
	rules.Bots = []config.Bot{{ID: "helper", URL: srv.URL, SecretEnv: config.EnvNames{"X"}, Departments: []string{"general"}, Timeout: 2 * time.Second, Active: "always"}}
	f.svc = NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: rules, Now: f.clock.Now,
		Log: zerolog.Nop(), BotSecrets: map[string][]string{"helper": {botSecret}}})
	return f
}

// deliver runs the bot jobs the dispatcher was given.
func (f *botFixture) deliver(t *testing.T, lastAttempt bool) error {
	t.Helper()
	f.dispatch.mu.Lock()
	jobs := f.dispatch.bots
	f.dispatch.bots = nil
	f.dispatch.mu.Unlock()
	var last error
	for _, j := range jobs {
		conv, msg := j[:26], j[27:]
		last = f.svc.DeliverBotEvent(context.Background(), conv, msg, 0, lastAttempt)
	}
	return last
}

func TestBotAnswersThenHandsOff(t *testing.T) {
	f := newBotFixture(t, func(ev bots.Event) (int, bots.Reply) {
		if ev.Message.Body == "agent" {
			return 200, bots.Reply{Actions: []engine.BotAction{{Type: "handoff", Note: "wants a person"}}}
		}
		return 200, bots.Reply{Actions: []engine.BotAction{
			{Type: "text", Body: "Hello from the bot"},
			{Type: "tags", Tags: []string{"greeted"}},
			{Type: "attributes", Attributes: map[string]string{"plan": "gold"}},
		}}
	})
	ctx := context.Background()
	seed(t, f.fixture, online("ann", 2))
	r, err := f.svc.Receive(ctx, inbound("SMb1", "whatsapp:+27820000900", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.store.Conversation(ctx, r.ConversationID)
	if c.State != engine.StateBot || c.Bot != "helper" || c.Assignee != "" {
		t.Fatalf("new chat %s/%s on %q, want held by the bot", c.State, c.Bot, c.Assignee)
	}
	if err := f.deliver(t, false); err != nil {
		t.Fatal(err)
	}
	if len(f.events) != 1 || f.events[0].Message.Body != "hi" || f.events[0].ConversationID != c.ID || !f.events[0].WindowOpen {
		t.Fatalf("bot got %+v", f.events)
	}
	c, _ = f.store.Conversation(ctx, c.ID)
	hist, _ := f.store.History(ctx, c.ID)
	last := hist[len(hist)-1]
	if last.Body != "Hello from the bot" || last.Author != "bot:helper" || c.Tags[0] != "greeted" || c.Attributes["plan"] != "gold" {
		t.Fatalf("after the bot's answer: %+v, tags %v, attributes %v", last, c.Tags, c.Attributes)
	}

	// The bot never writes into a chat a person holds.
	if _, err := f.svc.Receive(ctx, inbound("SMb2", "whatsapp:+27820000900", "agent")); err != nil {
		t.Fatal(err)
	}
	if err := f.deliver(t, false); err != nil {
		t.Fatal(err)
	}
	c, _ = f.store.Conversation(ctx, c.ID)
	if c.State != engine.StateLive || c.Assignee != "ann" {
		t.Fatalf("after the hand-off: %s on %q, want live on ann", c.State, c.Assignee)
	}
	if err := f.svc.BotActions(ctx, "helper", c.ID, []engine.BotAction{{Type: "text", Body: "me again"}}); !errors.Is(err, engine.ErrWrongState) {
		t.Fatalf("bot writing into ann's chat: %v, want ErrWrongState", err)
	}
}

func TestBotHandOffOutOfHoursLeavesAMessage(t *testing.T) {
	f := newBotFixture(t, func(bots.Event) (int, bots.Reply) {
		return 200, bots.Reply{Actions: []engine.BotAction{{Type: "handoff"}}}
	})
	ctx := context.Background()
	r, _ := f.svc.Receive(ctx, inbound("SMb3", "whatsapp:+27820000901", "help"))
	if err := f.deliver(t, false); err != nil {
		t.Fatal(err)
	}
	c, _ := f.store.Conversation(ctx, r.ConversationID)
	if c.Kind != engine.KindTicket || c.Session != engine.SessionAsking {
		t.Fatalf("with nobody online the hand-off made %s/%s, want a ticket asking to leave a message", c.Kind, c.Session)
	}
}

func TestFailingBotIsRetriedThenBypassed(t *testing.T) {
	f := newBotFixture(t, func(bots.Event) (int, bots.Reply) { return 500, bots.Reply{} })
	ctx := context.Background()
	seed(t, f.fixture, online("ann", 2))
	r, _ := f.svc.Receive(ctx, inbound("SMb4", "whatsapp:+27820000902", "hi"))
	f.dispatch.mu.Lock()
	job := f.dispatch.bots[0]
	f.dispatch.mu.Unlock()
	if err := f.svc.DeliverBotEvent(ctx, r.ConversationID, job[27:], 0, false); err == nil {
		t.Fatal("a 500 from the bot should be retried")
	}
	if err := f.svc.DeliverBotEvent(ctx, r.ConversationID, job[27:], 2, true); !errors.Is(err, ErrBotFailed) {
		t.Fatalf("last attempt: %v, want ErrBotFailed", err)
	}
	c, _ := f.store.Conversation(ctx, r.ConversationID)
	if c.State != engine.StateLive || c.Assignee != "ann" {
		t.Fatalf("after the bot failed: %s on %q, want the customer routed to ann", c.State, c.Assignee)
	}
	// Enough failures open the circuit: new chats skip the bot.
	for range botTrip {
		f.svc.botFailed(ctx, "helper")
	}
	r, _ = f.svc.Receive(ctx, inbound("SMb5", "whatsapp:+27820000903", "hi"))
	c, _ = f.store.Conversation(ctx, r.ConversationID)
	if c.State == engine.StateBot {
		t.Fatal("a chat went to a bot whose circuit is open")
	}
}

func TestBotCallbackSignatureAndReplay(t *testing.T) {
	f := newBotFixture(t, func(bots.Event) (int, bots.Reply) { return 202, bots.Reply{} })
	ctx := context.Background()
	r, _ := f.svc.Receive(ctx, inbound("SMb6", "whatsapp:+27820000904", "hi"))
	body, _ := json.Marshal(bots.Reply{ID: "cb-1", Actions: []engine.BotAction{{Type: "text", Body: "later answer"}}})
	now := f.clock.Now()
	if err := f.svc.BotCallback(ctx, "helper", r.ConversationID, bots.SignCallback("wrong secret 123456", now, "helper", r.ConversationID, body), body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong secret: %v, want ErrBadSignature", err)
	}
	if err := f.svc.BotCallback(ctx, "helper", r.ConversationID, bots.SignCallback(botSecret, now.Add(-10*time.Minute), "helper", r.ConversationID, body), body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("old signature: %v, want ErrBadSignature", err)
	}
	if err := f.svc.BotCallback(ctx, "helper", r.ConversationID, bots.SignCallback(botSecret, now, "helper", r.ConversationID, body), body); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.BotCallback(ctx, "helper", r.ConversationID, bots.SignCallback(botSecret, now, "helper", r.ConversationID, body), body); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed callback: %v, want ErrReplay", err)
	}
	if err := f.svc.BotCallback(ctx, "nobot", r.ConversationID, bots.SignCallback(botSecret, now, "nobot", r.ConversationID, body), body); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("unknown bot: %v, want ErrNotFound", err)
	}
	hist, _ := f.store.History(ctx, r.ConversationID)
	if hist[len(hist)-1].Body != "later answer" {
		t.Fatalf("history %+v", hist)
	}
}

// TestBotCircuitCountsInOneStep: a failure counter always carries its
// window, and failures arriving together open the circuit once.
func TestBotCircuitCountsInOneStep(t *testing.T) {
	f := newBotFixture(t, func(bots.Event) (int, bots.Reply) { return 500, bots.Reply{} })
	ctx := context.Background()
	f.svc.botFailed(ctx, "helper")
	ttl, err := f.store.Client().PTTL(ctx, store.KeyPrefix+"bot:helper:failures").Result()
	if err != nil || ttl <= 0 || ttl > botWindow {
		t.Fatalf("failure counter's time to live %v (%v), want within the %v window", ttl, err, botWindow)
	}
	var wg sync.WaitGroup
	for range 2 * botTrip {
		wg.Add(1)
		go func() { defer wg.Done(); f.svc.botFailed(ctx, "helper") }()
	}
	wg.Wait()
	if down, err := f.svc.botDown(ctx, "helper"); err != nil || !down {
		t.Fatalf("circuit open %v (%v), want open", down, err)
	}
	ttl, err = f.store.Client().PTTL(ctx, store.KeyPrefix+"bot:helper:open").Result()
	if err != nil || ttl <= 0 || ttl > botCooldown {
		t.Fatalf("open circuit's time to live %v (%v), want within %v", ttl, err, botCooldown)
	}
}
