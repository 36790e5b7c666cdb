package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
)

// quietConversation opens a conversation and sends what its opening queued
// (the autoresponder's texts), so that a test starts from an empty outbox
// and no provider calls.
func quietConversation(t *testing.T, f fixture, from string) string {
	t.Helper()
	conv := openConversation(t, f, from)
	c, err := f.store.Conversation(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeliverOutbox(context.Background(), c.Contact); err != nil {
		t.Fatal(err)
	}
	f.provider.mu.Lock()
	f.provider.calls = nil
	f.provider.mu.Unlock()
	return conv
}

func (f fixture) outbox(t *testing.T, a channels.Address) []string {
	t.Helper()
	ids, err := f.store.Client().LRange(context.Background(), store.KeyPrefix+"outbox:"+string(a), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (f fixture) due(t *testing.T, until time.Time) []string {
	t.Helper()
	items, err := f.store.DueItems(context.Background(), until, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, store.DueMember(it.Kind, it.ID))
	}
	return out
}

func (p *fakeProvider) bodies() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.calls {
		out = append(out, c.Body)
	}
	return out
}

func TestSendLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000010")
	conv := quietConversation(t, f, string(to))
	m, err := f.svc.Send(ctx, conv, engine.Reply{Author: "agent-1", Body: "Hello Ann"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != channels.StatusQueued || f.dispatch.sends[len(f.dispatch.sends)-1] != string(to)+"@"+m.ID+"@10:00:00" {
		t.Fatalf("queued message %+v, dispatched %v", m, f.dispatch.sends)
	}
	if got := f.outbox(t, to); !slices.Equal(got, []string{m.ID}) {
		t.Fatalf("outbox = %v, want the message", got)
	}
	if due := f.due(t, f.clock.Now()); !slices.Contains(due, store.OutboxWake(to)) {
		t.Fatalf("due = %v, want the outbox's entry", due)
	}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	// A second run of the job sends nothing.
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if len(f.provider.calls) != 1 || f.provider.calls[0].Body != "Hello Ann" || f.provider.calls[0].To != to {
		t.Fatalf("provider calls = %+v", f.provider.calls)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.Status != channels.StatusQueued || got.SID == "" {
		t.Fatalf("after send: %+v", got)
	}
	if due := f.due(t, f.clock.Now().Add(time.Hour)); slices.Contains(due, store.OutboxWake(to)) {
		t.Fatalf("due after send = %v, want the outbox's entry gone", due)
	}
	if left := f.outbox(t, to); len(left) != 0 {
		t.Fatalf("outbox after send = %v", left)
	}
	for _, step := range []struct {
		status channels.Status
		want   channels.Status
		out    store.StatusOutcome
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

// A status callback that moves a message on is announced in the same
// script that applies it, with the message's conversation.
func TestAppliedStatusIsPublished(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000014")
	conv := quietConversation(t, f, string(to))
	m, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "x"})
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	sent, _ := f.store.Message(ctx, m.ID)
	sub := f.store.Client().Subscribe(ctx, f.store.Events())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: sent.SID, Status: channels.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-sub.Channel():
		want := fmt.Sprintf(`{"conversation_id":%q,"message_id":%q,"type":"message.status","status":"delivered"`, conv, m.ID)
		if !strings.HasPrefix(msg.Payload, want) {
			t.Fatalf("event %s, want it to start %s", msg.Payload, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event for the applied status")
	}
}

// A callback can beat the send job's own write of the SID; it is kept and
// applied when the SID is recorded.
func TestStatusBeforeSIDIsRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000011")
	conv := quietConversation(t, f, string(to))
	m, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "x"})
	sid := fmt.Sprintf("SM%032d", f.provider.issued+1) // the fake provider's next SID
	out, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: sid, Status: channels.StatusDelivered})
	if err != nil || out != StatusEarly {
		t.Fatalf("early callback: %s %v", out, err)
	}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.SID != sid || got.Status != channels.StatusDelivered {
		t.Fatalf("message = %+v, want SID %s delivered", got, sid)
	}
}

// A send Twilio accepted but whose answer Parley never read (the worker died
// holding its claim) is matched to its message by the first callback, which
// names the message: once the claim lapses, the next job sends nothing and
// moves on. And the answer, if it is read after all, does not move the
// callback's status back.
func TestCallbackNamingItsMessageRecordsTheSend(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000013")
	conv := quietConversation(t, f, string(to))
	m, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "x"})
	next, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "y"})
	held, err := f.store.ClaimHead(ctx, to, "dead-worker", f.clock.Now(), f.svc.sends.Lease)
	if err != nil || held == nil || held.Msg.ID != m.ID {
		t.Fatalf("claim = %+v %v", held, err)
	}
	const sid = "SM0123456789abcdef0123456789abcdef"
	out, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: sid, Status: channels.StatusSent, MessageID: m.ID})
	if err != nil || out != StatusApplied {
		t.Fatalf("callback naming its message: %s %v, want applied", out, err)
	}
	// The outbox need not wait out the dead job's lease.
	if due := f.due(t, f.clock.Now()); !slices.Contains(due, store.OutboxWake(to)) {
		t.Fatalf("due now = %v, want the outbox", due)
	}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if got := f.provider.bodies(); !slices.Equal(got, []string{"y"}) {
		t.Fatalf("provider got %q, want only the next message", got)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.SID != sid || got.Status != channels.StatusSent {
		t.Fatalf("message = %+v, want SID %s sent", got, sid)
	}
	if sent, _ := f.store.Message(ctx, next.ID); sent.SID == "" {
		t.Fatalf("next message not sent: %+v", sent)
	}
	if _, err := f.store.Settle(ctx, held, "sent", f.clock.Now(), nil, sid, string(channels.StatusQueued), store.SIDTTL.Milliseconds()); err != nil {
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
	const to = channels.Address("whatsapp:+27820000012")
	conv := quietConversation(t, f, string(to))
	m, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "x"})
	_ = f.svc.DeliverOutbox(ctx, to)
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
}

// What each provider answer does to the head and to the message behind it.
func TestDeliverErrors(t *testing.T) {
	ctx := context.Background()
	temporary := &channels.SendError{HTTPStatus: 500, Temporary: true, Message: "boom"}
	for _, tc := range []struct {
		name       string
		results    []error
		tries      int // attempts the head had already
		wantStatus channels.Status
		wantCode   string
		nextGoes   bool // the message behind the head is sent in the same run
		optedOut   bool
	}{
		{"temporary is retried later", []error{temporary}, 0, channels.StatusQueued, "", false, false},
		{"temporary on the last attempt fails", []error{temporary}, DefaultSendPolicy.Retries, channels.StatusFailed, "send_error", true, false},
		{"permanent fails at once", []error{&channels.SendError{HTTPStatus: 400, Code: 21408}}, 0, channels.StatusFailed, "21408", true, false},
		{"opted out marks the contact", []error{&channels.SendError{HTTPStatus: 400, Code: 21610}}, 0, channels.StatusFailed, "21610", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			const to = channels.Address("whatsapp:+27820000020")
			conv := quietConversation(t, f, string(to))
			m, err := f.svc.Send(ctx, conv, engine.Reply{Body: "first"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "second"}); err != nil {
				t.Fatal(err)
			}
			if tc.tries > 0 {
				f.store.Client().HSet(ctx, store.KeyPrefix+"msg:"+m.ID, "tries", tc.tries)
			}
			f.provider.results = tc.results
			if err := f.svc.DeliverOutbox(ctx, to); err != nil {
				t.Fatalf("DeliverOutbox = %v", err)
			}
			got, _ := f.store.Message(ctx, m.ID)
			if got.Status != tc.wantStatus || got.ErrorCode != tc.wantCode {
				t.Fatalf("message status %s code %q, want %s %q", got.Status, got.ErrorCode, tc.wantStatus, tc.wantCode)
			}
			want := []string{"first"}
			if tc.nextGoes {
				want = append(want, "second")
			}
			if got := f.provider.bodies(); !slices.Equal(got, want) {
				t.Fatalf("provider got %q, want %q", got, want)
			}
			c, _ := f.store.Contact(ctx, to)
			if c.OptedOut != tc.optedOut {
				t.Fatalf("opted out = %v, want %v", c.OptedOut, tc.optedOut)
			}
		})
	}
}

// A temporary failure holds the head back for its back-off, with a job
// scheduled for then; a run before then sends nothing, one after sends the
// head and then the rest, in order.
func TestTemporaryFailureWaitsItsBackoff(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000021")
	conv := quietConversation(t, f, string(to))
	for _, b := range []string{"one", "two", "three"} {
		if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	temporary := &channels.SendError{HTTPStatus: 429, Temporary: true}
	f.provider.results = []error{temporary, temporary}
	head := f.outbox(t, to)[0]
	for i, wait := range []time.Duration{time.Second, 2 * time.Second} {
		if err := f.svc.DeliverOutbox(ctx, to); err != nil {
			t.Fatal(err)
		}
		retryAt := f.clock.Now().Add(wait).Format("15:04:05")
		if last := f.dispatch.sends[len(f.dispatch.sends)-1]; last != fmt.Sprintf("%s@try%d:%s@%s", to, i+1, head, retryAt) {
			t.Fatalf("retry %d dispatched as %s, want at %s", i+1, last, retryAt)
		}
		// Too early: nothing goes.
		f.clock.Add(wait - time.Millisecond)
		if err := f.svc.DeliverOutbox(ctx, to); err != nil {
			t.Fatal(err)
		}
		if n := len(f.provider.calls); n != i+1 {
			t.Fatalf("after %d failures and an early run: %d calls", i+1, n)
		}
		f.clock.Add(time.Millisecond)
	}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if got := f.provider.bodies(); !slices.Equal(got, []string{"one", "one", "one", "two", "three"}) {
		t.Fatalf("provider got %q", got)
	}
}

// One contact's failing head does not hold back another contact's messages.
func TestFailingContactHoldsBackOnlyItself(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const slow, fine = channels.Address("whatsapp:+27820000022"), channels.Address("whatsapp:+27820000023")
	a := quietConversation(t, f, string(slow))
	b := quietConversation(t, f, string(fine))
	f.provider.refuse = func(m channels.Outbound) error {
		if m.To == slow {
			return &channels.SendError{HTTPStatus: 500, Temporary: true}
		}
		return nil
	}
	_, _ = f.svc.Send(ctx, a, engine.Reply{Body: "held"})
	_, _ = f.svc.Send(ctx, a, engine.Reply{Body: "held too"})
	_, _ = f.svc.Send(ctx, b, engine.Reply{Body: "goes"})
	for _, c := range []channels.Address{slow, fine} {
		if err := f.svc.DeliverOutbox(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.provider.bodies(); !slices.Equal(got, []string{"held", "goes"}) {
		t.Fatalf("provider got %q", got)
	}
	if left := f.outbox(t, slow); len(left) != 2 {
		t.Fatalf("the failing contact's outbox = %v, want both messages", left)
	}
}

// A job that finds the head claimed by another leaves it alone; a claim
// whose lease ran out (its worker died) is taken over.
func TestClaimedHeadIsLeftToItsHolder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000024")
	conv := quietConversation(t, f, string(to))
	_, _ = f.svc.Send(ctx, conv, engine.Reply{Body: "one"})
	_, _ = f.svc.Send(ctx, conv, engine.Reply{Body: "two"})
	if held, err := f.store.ClaimHead(ctx, to, "other-job", f.clock.Now(), f.svc.sends.Lease); err != nil || held == nil {
		t.Fatalf("claim: %+v %v", held, err)
	}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if n := len(f.provider.calls); n != 0 {
		t.Fatalf("a claimed head was sent by a second job (%d calls)", n)
	}
	due := f.due(t, f.clock.Now().Add(f.svc.sends.Lease))
	if !slices.Contains(due, store.OutboxWake(to)) {
		t.Fatalf("due = %v: the outbox must be due when the lease runs out", due)
	}
	f.clock.Add(f.svc.sends.Lease)
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if got := f.provider.bodies(); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("provider got %q", got)
	}
}

// slowProvider takes a while over each send, so that concurrent jobs
// overlap.
type slowProvider struct {
	fakeProvider
	inFlight, most int
}

func (p *slowProvider) Send(ctx context.Context, m channels.Outbound) (channels.Receipt, error) {
	p.mu.Lock()
	p.inFlight++
	p.most = max(p.most, p.inFlight)
	p.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
	return p.fakeProvider.Send(ctx, m)
}

// Many jobs working one contact's outbox at once send each message once,
// in commit order, never two at a time.
func TestConcurrentJobsSendOnceInOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000025")
	conv := quietConversation(t, f, string(to))
	p := &slowProvider{}
	f.svc.provider = p
	var want []string
	for i := range 20 {
		body := fmt.Sprintf("m%02d", i)
		want = append(want, body)
		if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := f.svc.DeliverOutbox(ctx, to); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Jobs that found the head claimed left; one more run finishes what
	// they left.
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if got := p.bodies(); !slices.Equal(got, want) {
		t.Fatalf("provider got %q, want %q", got, want)
	}
	if p.most != 1 {
		t.Fatalf("%d sends of one contact were in flight at once", p.most)
	}
}

func TestSendRulesRefuseBeforeProvider(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000030")
	conv := quietConversation(t, f, string(to))
	f.clock.Add(24*time.Hour + time.Second)
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "late"}); !errors.Is(err, channels.ErrTemplateRequired) {
		t.Fatalf("free text outside the window: %v, want ErrTemplateRequired", err)
	}
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Template: &channels.Template{ContentSID: "HX123", Variables: map[string]string{"1": "Ann"}}}); err != nil {
		t.Fatalf("template outside the window: %v", err)
	}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if len(f.provider.calls) != 1 || f.provider.calls[0].Template == nil || f.provider.calls[0].Template.ContentSID != "HX123" {
		t.Fatalf("provider calls = %+v", f.provider.calls)
	}

	sms := openConversation(t, f, "+27820000031")
	if err := f.svc.SetOptedOut(ctx, "sms:+27820000031", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Send(ctx, sms, engine.Reply{Body: "hi"}); !errors.Is(err, channels.ErrOptedOut) {
		t.Fatalf("send to opted-out contact: %v, want ErrOptedOut", err)
	}
}

// The window can close while a message waits in the outbox: the job checks
// again and fails the message instead of calling the provider.
func TestDeliverRechecksWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000032")
	conv := quietConversation(t, f, string(to))
	m, err := f.svc.Send(ctx, conv, engine.Reply{Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(25 * time.Hour)
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Message(ctx, m.ID)
	if got.Status != channels.StatusFailed || got.ErrorCode != "template_required" || len(f.provider.calls) != 0 {
		t.Fatalf("message %+v, provider calls %d", got, len(f.provider.calls))
	}
}

// A message whose job could not be enqueued is stored and its outbox stays
// due, for the reconciler: the send is not lost.
func TestSendWithoutEnqueueStaysDue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000033")
	conv := quietConversation(t, f, string(to))
	f.dispatch.fail = errors.New("redis went away")
	m, err := f.svc.Send(ctx, conv, engine.Reply{Body: "hi"})
	if err != nil || m.ID == "" {
		t.Fatalf("Send = %+v, %v; want the message stored", m, err)
	}
	if due := f.due(t, f.clock.Now()); !slices.Contains(due, store.OutboxWake(to)) {
		t.Fatalf("due = %v", due)
	}
	stored, err := f.store.Message(ctx, m.ID)
	if err != nil || stored.Status != channels.StatusQueued {
		t.Fatalf("stored %+v %v", stored, err)
	}
	// The reconciler's dispatch of the entry names a job of its own.
	f.dispatch.fail = nil
	items, _ := f.store.DueItems(ctx, f.clock.Now(), 10)
	for _, it := range items {
		if err := f.svc.Redispatch(ctx, it, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.ContainsFunc(f.dispatch.sends, func(s string) bool { return strings.HasPrefix(s, string(to)+"@due") }) {
		t.Fatalf("dispatched %v, want the outbox's run", f.dispatch.sends)
	}
}

// The texts one decision queues for a customer join the outbox in order,
// and one job is dispatched for them.
func TestAutoresponderTextsAreOneOrderedJob(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000050")
	if _, err := f.svc.Receive(ctx, inbound("SMauto", string(to), "hello")); err != nil {
		t.Fatal(err)
	}
	if len(f.dispatch.sends) != 1 {
		t.Fatalf("dispatched %v, want one job", f.dispatch.sends)
	}
	var bodies []string
	for _, id := range f.outbox(t, to) {
		m, err := f.store.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, m.Body)
	}
	rules := f.svc.Rules()
	if want := []string{rules.Texts.NoAgent, rules.Texts.LeaveMessage}; !slices.Equal(bodies, want) {
		t.Fatalf("outbox holds %q, want %q", bodies, want)
	}
}

// A message that joins an outbox still holding earlier ones gets no job of
// its own: the run already answering for the outbox sends it after them,
// and one job is dispatched again once the outbox was empty.
func TestBusyOutboxNeedsNoSecondJob(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000051")
	conv := quietConversation(t, f, string(to))
	sends := len(f.dispatch.sends)
	first, err := f.svc.Send(ctx, conv, engine.Reply{Body: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "two"}); err != nil {
		t.Fatal(err)
	}
	if got := f.dispatch.sends[sends:]; !slices.Equal(got, []string{string(to) + "@" + first.ID + "@10:00:00"}) {
		t.Fatalf("dispatched %v, want one job, for the first message", got)
	}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	if got := f.provider.bodies(); !slices.Equal(got[len(got)-2:], []string{"one", "two"}) {
		t.Fatalf("provider got %q, want both, in order", got)
	}
	if got := f.outbox(t, to); len(got) != 0 {
		t.Fatalf("outbox = %v, want it empty", got)
	}
	third, err := f.svc.Send(ctx, conv, engine.Reply{Body: "three"})
	if err != nil {
		t.Fatal(err)
	}
	if last := f.dispatch.sends[len(f.dispatch.sends)-1]; last != string(to)+"@"+third.ID+"@10:00:00" {
		t.Fatalf("dispatched %v, want a job for the message to an empty outbox", f.dispatch.sends)
	}
}

// 63016 in a status callback closes Parley's view of the WhatsApp window
// until the customer writes again; the failed message says why in words.
func TestWindowClosedByTwilio(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000060")
	conv := quietConversation(t, f, string(to))
	m, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "hello"})
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	sent, _ := f.store.Message(ctx, m.ID)
	if _, err := f.svc.ApplyStatus(ctx, channels.StatusUpdate{MessageSID: sent.SID, Status: channels.StatusFailed, ErrorCode: 63016}); err != nil {
		t.Fatal(err)
	}
	failed, _ := f.store.Message(ctx, m.ID)
	if failed.ErrorCode != "63016" || !strings.Contains(failed.ErrorReason, "24-hour window") {
		t.Fatalf("failed message %+v, want 63016 with its reason", failed)
	}
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "again"}); !errors.Is(err, channels.ErrTemplateRequired) {
		t.Fatalf("free text after 63016: %v, want ErrTemplateRequired", err)
	}
	if d, err := f.svc.Detail(ctx, engine.Actor{ID: "op", Role: "supervisor"}, conv); err != nil || d.WindowOpen {
		t.Fatalf("detail %v: the desk must show the window closed (open: %v)", err, d.WindowOpen)
	}
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Template: &channels.Template{ContentSID: "HX1"}}); err != nil {
		t.Fatalf("template after 63016: %v", err)
	}
	f.clock.Add(time.Minute)
	if _, err := f.svc.Receive(ctx, inbound("SMback60", string(to), "still there?")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "yes"}); err != nil {
		t.Fatalf("free text after the customer wrote again: %v", err)
	}
}

// A number Twilio calls invalid (21211) is not written to again, by the
// messages waiting behind it either, until the customer writes.
func TestUnreachableNumberWaitsForTheCustomer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const to = channels.Address("whatsapp:+27820000061")
	conv := quietConversation(t, f, string(to))
	first, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "one"})
	second, _ := f.svc.Send(ctx, conv, engine.Reply{Body: "two"})
	f.provider.results = []error{&channels.SendError{HTTPStatus: 400, Code: 21211, Message: "Invalid 'To' Phone Number"}}
	if err := f.svc.DeliverOutbox(ctx, to); err != nil {
		t.Fatal(err)
	}
	for id, code := range map[string]string{first.ID: "21211", second.ID: "unreachable"} {
		m, _ := f.store.Message(ctx, id)
		if m.Status != channels.StatusFailed || m.ErrorCode != code || m.ErrorReason == "" {
			t.Errorf("message %s: %s %q %q, want failed %s with a reason", m.Body, m.Status, m.ErrorCode, m.ErrorReason, code)
		}
	}
	if n := len(f.provider.calls); n != 1 {
		t.Fatalf("%d calls to the provider, want 1", n)
	}
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "three"}); !errors.Is(err, channels.ErrUnreachable) {
		t.Fatalf("send to an unreachable number: %v, want ErrUnreachable", err)
	}
	f.clock.Add(time.Minute)
	if _, err := f.svc.Receive(ctx, inbound("SMback61", string(to), "new phone")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "welcome back"}); err != nil {
		t.Fatalf("send after the customer wrote: %v", err)
	}
}
