package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/redistest"
)

// fakeDispatch records enqueued sends instead of using Asynq.
type fakeDispatch struct {
	mu       sync.Mutex
	sent     []string
	batches  [][]string
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

func (f *fakeDispatch) DispatchSend(_ context.Context, ids ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.sent = append(f.sent, ids...)
	f.batches = append(f.batches, ids)
	return nil
}

// fakeProvider answers sends from a script of results.
type fakeProvider struct {
	mu      sync.Mutex
	results []error
	calls   []channels.Outbound
}

func (p *fakeProvider) Send(_ context.Context, m channels.Outbound) (channels.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, m)
	if len(p.results) > 0 {
		err := p.results[0]
		p.results = p.results[1:]
		if err != nil {
			return channels.Receipt{}, err
		}
	}
	return channels.Receipt{SID: fmt.Sprintf("SM%032d", len(p.calls)), Status: channels.StatusQueued}, nil
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
	store    *Store
	dispatch *fakeDispatch
	provider *fakeProvider
	clock    *clock
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	db := redistest.New(t)
	f := fixture{
		store: NewStore(db.Client, KeyPrefix), dispatch: &fakeDispatch{}, provider: &fakeProvider{},
		clock: &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
	}
	f.svc = NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: testRules(t), Now: f.clock.Now, Log: zerolog.Nop()})
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
	var in []Message
	for _, m := range hist {
		if m.Direction == DirIn {
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
		if m.Direction == DirIn {
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

func TestSendLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv := openConversation(t, f, "whatsapp:+27820000010")
	m, err := f.svc.Send(ctx, conv, Reply{Author: "agent-1", Body: "Hello Ann"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != channels.StatusQueued || f.dispatch.sent[len(f.dispatch.sent)-1] != m.ID {
		t.Fatalf("queued message %+v, dispatched %v", m, f.dispatch.sent)
	}
	due, _ := f.store.Due(ctx, f.clock.Now(), 100)
	if !slices.Contains(due, "send:"+m.ID) {
		t.Fatalf("due = %v, want the send's wake-up", due)
	}
	if err := f.svc.Deliver(ctx, m.ID, false); err != nil {
		t.Fatal(err)
	}
	// A second run of the same job sends nothing.
	if err := f.svc.Deliver(ctx, m.ID, false); err != nil {
		t.Fatal(err)
	}
	if len(f.provider.calls) != 1 || f.provider.calls[0].Body != "Hello Ann" || f.provider.calls[0].To != "whatsapp:+27820000010" {
		t.Fatalf("provider calls = %+v", f.provider.calls)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.Status != channels.StatusQueued || got.SID == "" {
		t.Fatalf("after send: %+v", got)
	}
	due, _ = f.store.Due(ctx, f.clock.Now(), 100)
	if slices.Contains(due, "send:"+m.ID) {
		t.Fatalf("due after send = %v, want the send's wake-up gone", due)
	}
	for _, step := range []struct {
		status channels.Status
		want   channels.Status
		out    StatusOutcome
	}{
		{channels.StatusDelivered, channels.StatusDelivered, StatusApplied},
		{channels.StatusSent, channels.StatusDelivered, StatusStale}, // late: ignored
		{channels.StatusRead, channels.StatusRead, StatusApplied},
		{channels.StatusDelivered, channels.StatusRead, StatusStale},
	} {
		out, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: got.SID, Status: step.status})
		if err != nil {
			t.Fatal(err)
		}
		now, _ := f.store.Message(ctx, m.ID)
		if out != step.out || now.Status != step.want {
			t.Fatalf("callback %s: outcome %s status %s, want %s %s", step.status, out, now.Status, step.out, step.want)
		}
	}
}

// A callback can beat the send job's own write of the SID; it is kept and
// applied when the SID is recorded.
func TestStatusBeforeSIDIsRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv := openConversation(t, f, "whatsapp:+27820000011")
	m, _ := f.svc.Send(ctx, conv, Reply{Body: "x"})
	sid := fmt.Sprintf("SM%032d", 1) // the fake provider's first SID
	out, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: sid, Status: channels.StatusDelivered})
	if err != nil || out != StatusEarly {
		t.Fatalf("early callback: %s %v", out, err)
	}
	if err := f.svc.Deliver(ctx, m.ID, false); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.SID != sid || got.Status != channels.StatusDelivered {
		t.Fatalf("message = %+v, want SID %s delivered", got, sid)
	}
}

// A send Twilio accepted but whose answer Parley never read (the worker died
// waiting for it) is matched to its message by the first callback, which
// names the message: the retried job then sends nothing. And the answer, if
// it is read after all, does not move the callback's status back.
func TestCallbackNamingItsMessageRecordsTheSend(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv := openConversation(t, f, "whatsapp:+27820000013")
	m, _ := f.svc.Send(ctx, conv, Reply{Body: "x"})
	const sid = "SM0123456789abcdef0123456789abcdef"
	out, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: sid, Status: channels.StatusSent, MessageID: m.ID})
	if err != nil || out != StatusApplied {
		t.Fatalf("callback naming its message: %s %v, want applied", out, err)
	}
	if err := f.svc.Deliver(ctx, m.ID, false); err != nil {
		t.Fatal(err)
	}
	if len(f.provider.calls) != 0 {
		t.Fatalf("the retried send went to the provider again: %v", f.provider.calls)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.SID != sid || got.Status != channels.StatusSent {
		t.Fatalf("message = %+v, want SID %s sent", got, sid)
	}
	if due, _ := f.store.Due(ctx, f.clock.Now().Add(time.Hour), 10); slices.Contains(due, sendWake(m.ID)) {
		t.Errorf("the send is still due: %v", due)
	}
	if err := f.store.recordSent(ctx, got, channels.Receipt{SID: sid, Status: channels.StatusQueued}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Message(ctx, m.ID); got.Status != channels.StatusSent {
		t.Errorf("the late answer moved the status back to %s", got.Status)
	}

	// A callback naming a message that has its SID already is another
	// send's (a copy): it does not take the message over.
	other := "SMffffffffffffffffffffffffffffffff"
	if out, _ := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: other, Status: channels.StatusDelivered, MessageID: m.ID}); out != StatusEarly {
		t.Errorf("callback for a second SID: %s, want early (kept aside)", out)
	}
	if got, _ := f.store.Message(ctx, m.ID); got.SID != sid {
		t.Errorf("SID replaced by %s", got.SID)
	}
}

func TestFailedCallbackKeepsErrorCode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv := openConversation(t, f, "whatsapp:+27820000012")
	m, _ := f.svc.Send(ctx, conv, Reply{Body: "x"})
	_ = f.svc.Deliver(ctx, m.ID, false)
	got, _ := f.store.Message(ctx, m.ID)
	if _, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: got.SID, Status: channels.StatusUndelivered, ErrorCode: 30008}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: got.SID, Status: channels.StatusSent}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.Message(ctx, m.ID)
	if got.Status != channels.StatusUndelivered || got.ErrorCode != "30008" {
		t.Fatalf("message = %+v, want undelivered with 30008", got)
	}
	if want, _ := channels.LookupError(30008); got.ErrorReason != want.Reason {
		t.Errorf("error reason %q, want the table's %q", got.ErrorReason, want.Reason)
	}
}

func TestDeliverErrors(t *testing.T) {
	ctx := context.Background()
	temporary := &channels.SendError{HTTPStatus: 500, Temporary: true, Message: "boom"}
	for _, tc := range []struct {
		name        string
		results     []error
		lastAttempt bool
		wantErr     error
		wantStatus  channels.Status
		wantCode    string
		optedOut    bool
	}{
		{"temporary is retried", []error{temporary}, false, temporary, channels.StatusQueued, "", false},
		{"temporary on the last attempt fails", []error{temporary}, true, ErrSendFailed, channels.StatusFailed, "send_error", false},
		{"permanent fails at once", []error{&channels.SendError{HTTPStatus: 400, Code: 21211}}, false, ErrSendFailed, channels.StatusFailed, "21211", false},
		{"opted out marks the contact", []error{&channels.SendError{HTTPStatus: 400, Code: 21610}}, false, ErrSendFailed, channels.StatusFailed, "21610", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.provider.results = tc.results
			conv := openConversation(t, f, "whatsapp:+27820000020")
			m, err := f.svc.Send(ctx, conv, Reply{Body: "x"})
			if err != nil {
				t.Fatal(err)
			}
			err = f.svc.Deliver(ctx, m.ID, tc.lastAttempt)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Deliver error = %v, want %v", err, tc.wantErr)
			}
			got, _ := f.store.Message(ctx, m.ID)
			if got.Status != tc.wantStatus || got.ErrorCode != tc.wantCode {
				t.Fatalf("message status %s code %q, want %s %q", got.Status, got.ErrorCode, tc.wantStatus, tc.wantCode)
			}
			c, _ := f.store.Contact(ctx, "whatsapp:+27820000020")
			if c.OptedOut != tc.optedOut {
				t.Fatalf("opted out = %v, want %v", c.OptedOut, tc.optedOut)
			}
		})
	}
}

func TestSendRulesRefuseBeforeProvider(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv := openConversation(t, f, "whatsapp:+27820000030")
	f.clock.Add(24*time.Hour + time.Second)
	if _, err := f.svc.Send(ctx, conv, Reply{Body: "late"}); !errors.Is(err, channels.ErrTemplateRequired) {
		t.Fatalf("free text outside the window: %v, want ErrTemplateRequired", err)
	}
	m, err := f.svc.Send(ctx, conv, Reply{Template: &channels.Template{ContentSID: "HX123", Variables: map[string]string{"1": "Ann"}}})
	if err != nil {
		t.Fatalf("template outside the window: %v", err)
	}
	if err := f.svc.Deliver(ctx, m.ID, false); err != nil {
		t.Fatal(err)
	}
	if len(f.provider.calls) != 1 || f.provider.calls[0].Template == nil || f.provider.calls[0].Template.ContentSID != "HX123" {
		t.Fatalf("provider calls = %+v", f.provider.calls)
	}

	sms := openConversation(t, f, "+27820000031")
	if err := f.svc.SetOptedOut(ctx, "sms:+27820000031", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Send(ctx, sms, Reply{Body: "hi"}); !errors.Is(err, channels.ErrOptedOut) {
		t.Fatalf("send to opted-out contact: %v, want ErrOptedOut", err)
	}
}

// The window can close while a message waits in the queue: the job checks
// again and fails the message instead of calling the provider.
func TestDeliverRechecksWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv := openConversation(t, f, "whatsapp:+27820000032")
	m, err := f.svc.Send(ctx, conv, Reply{Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(25 * time.Hour)
	if err := f.svc.Deliver(ctx, m.ID, false); !errors.Is(err, ErrSendFailed) {
		t.Fatalf("Deliver = %v, want ErrSendFailed", err)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.Status != channels.StatusFailed || got.ErrorCode != "template_required" || len(f.provider.calls) != 0 {
		t.Fatalf("message %+v, provider calls %d", got, len(f.provider.calls))
	}
}

// A message whose job could not be enqueued is stored and stays due, for
// the reconciler: the send is not lost.
func TestSendWithoutEnqueueStaysDue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conv := openConversation(t, f, "whatsapp:+27820000033")
	f.dispatch.fail = errors.New("redis went away")
	m, err := f.svc.Send(ctx, conv, Reply{Body: "hi"})
	if err != nil || m.ID == "" {
		t.Fatalf("Send = %+v, %v; want the message stored", m, err)
	}
	due, _ := f.store.Due(ctx, f.clock.Now(), 100)
	if !slices.Contains(due, "send:"+m.ID) {
		t.Fatalf("due = %v", due)
	}
	stored, err := f.store.Message(ctx, m.ID)
	if err != nil || stored.Status != channels.StatusQueued {
		t.Fatalf("stored %+v %v", stored, err)
	}
}

// The texts one decision queues for a customer go out as one job, in order:
// separate jobs could overtake each other.
func TestAutoresponderTextsAreOneOrderedJob(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.svc.Receive(ctx, inbound("SMauto", "whatsapp:+27820000050", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.dispatch.batches) != 1 || len(f.dispatch.batches[0]) != 2 {
		t.Fatalf("dispatched %v, want one job of two messages", f.dispatch.batches)
	}
	var bodies []string
	for _, id := range f.dispatch.batches[0] {
		m, err := f.store.Message(ctx, id)
		if err != nil || m.ConversationID != r.ConversationID {
			t.Fatalf("message %s: %+v %v", id, m, err)
		}
		bodies = append(bodies, m.Body)
	}
	rules := f.svc.Rules()
	if want := []string{rules.Texts.NoAgent, rules.Texts.LeaveMessage}; !slices.Equal(bodies, want) {
		t.Fatalf("job sends %q, want %q", bodies, want)
	}
}

// Pub/sub ignores database numbers, so each database has its own channel.
func TestEventChannelPerDatabase(t *testing.T) {
	a := NewStore(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DB: 3}), "parley:")
	b := NewStore(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DB: 4}), "parley:")
	z := NewStore(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "parley:")
	if a.Events() == b.Events() || z.Events() != "parley:events" {
		t.Fatalf("channels %q %q %q", a.Events(), b.Events(), z.Events())
	}
}
