package desk

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/redistest"
)

// fakeDispatch records enqueued jobs instead of using Asynq.
type fakeDispatch struct {
	mu       sync.Mutex
	sends    []string // contact@key@hh:mm:ss
	wakes    []string
	bots     []string
	presence []string
	fail     error
}

func (f *fakeDispatch) DispatchBot(_ context.Context, conv, msg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bots = append(f.bots, conv+":"+msg)
	return nil
}

func (f *fakeDispatch) DispatchWake(_ context.Context, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wakes = append(f.wakes, id+"@"+at.Format("15:04:05"))
	return nil
}

func (f *fakeDispatch) DispatchPresence(_ context.Context, agent string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presence = append(f.presence, agent+"@"+at.Format("15:04:05"))
	return nil
}

func (f *fakeDispatch) DispatchSend(_ context.Context, contact channels.Address, key string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.sends = append(f.sends, string(contact)+"@"+key+"@"+at.Format("15:04:05"))
	return nil
}

// fakeProvider answers sends from a script of results, or from refuse
// when it is set.
type fakeProvider struct {
	mu      sync.Mutex
	results []error
	refuse  func(channels.Outbound) error
	calls   []channels.Outbound
	issued  int // SIDs given out, never reset
}

func (p *fakeProvider) Send(_ context.Context, m channels.Outbound) (channels.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, m)
	if p.refuse != nil {
		if err := p.refuse(m); err != nil {
			return channels.Receipt{}, err
		}
	} else if len(p.results) > 0 {
		err := p.results[0]
		p.results = p.results[1:]
		if err != nil {
			return channels.Receipt{}, err
		}
	}
	p.issued++
	return channels.Receipt{SID: fmt.Sprintf("SM%032d", p.issued), Status: channels.StatusQueued}, nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	svc      *Service
	store    *store.Store
	dispatch *fakeDispatch
	provider *fakeProvider
	clock    *clock
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	db := redistest.New(t)
	f := fixture{
		store: store.New(db.Client, store.KeyPrefix), dispatch: &fakeDispatch{}, provider: &fakeProvider{},
		clock: &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
	}
	f.svc = NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: configtest.Rules(t), Now: f.clock.Now, Log: zerolog.Nop()})
	return f
}

func inbound(sid, from, body string) channels.Inbound {
	a, err := channels.ParseAddress(from)
	if err != nil {
		panic(err)
	}
	return channels.Inbound{MessageSID: sid, AccountSID: "AC1", From: a, Body: body, ProfileName: "Ann"}
}

func TestReceiveStoresMessageOnOneConversation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r1, err := f.svc.Receive(ctx, inbound("SM1", "whatsapp:+27820000001", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	r2, err := f.svc.Receive(ctx, inbound("SM2", "whatsapp:+27820000001", "are you there?"))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Duplicate || r2.Duplicate || r1.ConversationID != r2.ConversationID {
		t.Fatalf("want two new messages on one conversation, got %+v and %+v", r1, r2)
	}
	hist, err := f.store.History(ctx, r1.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	var in []engine.Message
	for _, m := range hist {
		if m.Direction == engine.DirIn {
			in = append(in, m)
		}
	}
	if len(in) != 2 || in[0].Body != "hello" || in[1].Body != "are you there?" || in[1].SID != "SM2" {
		t.Fatalf("history = %+v", hist)
	}
	c, err := f.store.Contact(ctx, "whatsapp:+27820000001")
	if err != nil {
		t.Fatal(err)
	}
	if !c.LastInbound.Equal(f.clock.Now()) || c.Name != "Ann" || c.Ticket != r1.ConversationID {
		t.Fatalf("contact = %+v", c)
	}
}

func TestReceiveRepeatedSIDStoresNothingNew(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, err := f.svc.Receive(ctx, inbound("SMdup", "sms:+27820000002", "one"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Receive(ctx, inbound("SMdup", "sms:+27820000002", "one"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.MessageID != first.MessageID {
		t.Fatalf("repeat = %+v, want duplicate of %s", again, first.MessageID)
	}
	if n := inboundCount(t, f, first.ConversationID); n != 1 {
		t.Fatalf("history has %d inbound messages, want 1", n)
	}
}

// Twilio may deliver one webhook several times at once: exactly one is stored.
func TestReceiveConcurrentIdenticalWebhooks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 20
	results := make([]Received, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = f.svc.Receive(ctx, inbound("SMrace", "whatsapp:+27820000003", "hi")) })
	}
	wg.Wait()
	stored := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !results[i].Duplicate {
			stored++
		}
	}
	if stored != 1 {
		t.Fatalf("%d of %d concurrent identical webhooks stored, want exactly 1", stored, n)
	}
	c, _ := f.store.Contact(ctx, "whatsapp:+27820000003")
	if n := inboundCount(t, f, c.Ticket); n != 1 {
		t.Fatalf("history has %d inbound messages, want 1", n)
	}
}

// Two different messages from a new contact at once open one conversation.
func TestReceiveConcurrentNewContactOneConversation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 10
	convs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := f.svc.Receive(ctx, inbound(fmt.Sprintf("SMnew%d", i), "sms:+27820000004", "hello"))
			if err != nil {
				t.Error(err)
			}
			convs[i] = r.ConversationID
		})
	}
	wg.Wait()
	for _, c := range convs {
		if c != convs[0] {
			t.Fatalf("conversations differ: %v", convs)
		}
	}
	if got := inboundCount(t, f, convs[0]); got != n {
		t.Fatalf("history has %d inbound messages, want %d", got, n)
	}
}

func TestReceiveSMSConsentKeywords(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	addr := channels.Address("sms:+27820000005")
	for i, tc := range []struct {
		body string
		want bool
	}{{"hello", false}, {" Stop ", true}, {"hello again", true}, {"START", false}} {
		if _, err := f.svc.Receive(ctx, inbound(fmt.Sprintf("SMc%d", i), "+27820000005", tc.body)); err != nil {
			t.Fatal(err)
		}
		c, _ := f.store.Contact(ctx, addr)
		if c.OptedOut != tc.want {
			t.Fatalf("after %q opted out = %v, want %v", tc.body, c.OptedOut, tc.want)
		}
	}
}

func inboundCount(t *testing.T, f fixture, convID string) int {
	t.Helper()
	hist, err := f.store.History(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range hist {
		if m.Direction == engine.DirIn {
			n++
		}
	}
	return n
}

func openConversation(t *testing.T, f fixture, from string) string {
	t.Helper()
	r, err := f.svc.Receive(context.Background(), inbound("SMopen"+from, from, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	return r.ConversationID
}

// Pub/sub ignores database numbers, so each database has its own channel.
func TestEventChannelPerDatabase(t *testing.T) {
	a := store.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DB: 3}), "parley:")
	b := store.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DB: 4}), "parley:")
	z := store.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "parley:")
	if a.Events() == b.Events() || z.Events() != "parley:events" {
		t.Fatalf("channels %q %q %q", a.Events(), b.Events(), z.Events())
	}
}
