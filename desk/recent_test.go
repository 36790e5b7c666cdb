package desk

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

// commandCount counts the commands a client sends, a pipeline's each.
type commandCount struct{ n atomic.Int64 }

var _ redis.Hook = (*commandCount)(nil)

func (c *commandCount) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *commandCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// otherGateway is a second Service on the fixture's Redis, with a store of
// its own, as a second gateway process would be.
func otherGateway(t *testing.T, f fixture) *Service {
	return NewService(Options{Store: store.New(f.store.Client(), store.KeyPrefix), Dispatcher: &fakeDispatch{}, Provider: &fakeProvider{},
		Rules: configtest.Rules(t), Now: f.clock.Now, Log: zerolog.Nop()})
}

// A customer's next message in a chat this gateway wrote last is decided on
// what that write left, so its commit is the only round trip.
func TestNextMessageOfALiveChatIsOneRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 5))
	const from = "whatsapp:+27820000300"
	chat := liveChat(t, f, from)
	var count commandCount
	f.store.Client().AddHook(&count)

	r := received(t, f, "SMr1", from, "are you there?")
	if r.ConversationID != chat.ID {
		t.Fatalf("message went to %s, want the chat %s", r.ConversationID, chat.ID)
	}
	if n := count.n.Load(); n != 1 {
		t.Fatalf("the next message took %d commands, want 1 (the commit)", n)
	}

	// A desk action on the chat changes it without this store's image
	// following: the next message reads Redis again, and conflicts with
	// nothing.
	if err := f.svc.Flag(ctx, engine.Actor{ID: "ann", Role: "agent"}, chat.ID, true); err != nil {
		t.Fatal(err)
	}
	count.n.Store(0)
	received(t, f, "SMr2", from, "hello?")
	if n := count.n.Load(); n != 2 {
		t.Fatalf("after a desk action the next message took %d commands, want 2 (load, commit)", n)
	}
	if n := inboundCount(t, f, chat.ID); n != 3 {
		t.Fatalf("the chat holds %d customer messages, want 3", n)
	}
}

// A second gateway's change to a chat is never overwritten by a decision
// made on this gateway's older image of it.
func TestAnotherGatewaysChangeOvertakesTheImage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 5), online("bob", 5))
	const from = "whatsapp:+27820000301"
	chat := liveChat(t, f, from)
	received(t, f, "SMo1", from, "one")
	other := otherGateway(t, f)
	ann := engine.Actor{ID: "ann", Role: "agent"}
	if err := other.Flag(ctx, ann, chat.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := other.Transfer(ctx, ann, chat.ID, engine.Target{Agent: "bob"}); err != nil {
		t.Fatal(err)
	}
	r := received(t, f, "SMo2", from, "two")
	got, err := f.store.Conversation(ctx, chat.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ConversationID != chat.ID || !got.Flagged || got.Assignee != "bob" || got.Preview != "two" {
		t.Fatalf("after the other gateway's flag and transfer: message on %s, chat flagged %v, on %q, preview %q",
			r.ConversationID, got.Flagged, got.Assignee, got.Preview)
	}

	// The other gateway closes the chat: the next message is not put in it.
	if err := other.CloseChat(ctx, engine.Actor{ID: "bob", Role: "agent"}, chat.ID, engine.CloseForm{Sentiment: "neutral"}); err != nil {
		t.Fatal(err)
	}
	r = received(t, f, "SMo3", from, "three")
	if r.ConversationID == chat.ID {
		t.Fatal("a message after the close went into the closed chat")
	}
	if n := inboundCount(t, f, chat.ID); n != 3 {
		t.Fatalf("the closed chat holds %d customer messages, want 3", n)
	}
}

// A decision on an image guards what it only read too: here the chat,
// which another gateway changed while the decision left it alone.
func TestRememberedWorldGuardsWhatItOnlyRead(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 5))
	const from = channels.Address("whatsapp:+27820000302")
	chat := liveChat(t, f, string(from))
	if err := otherGateway(t, f).Flag(ctx, engine.Actor{ID: "ann", Role: "agent"}, chat.ID, true); err != nil {
		t.Fatal(err)
	}
	w, err := f.svc.inboundWorld(ctx, f.svc.Rules(), from, "")
	if err != nil {
		t.Fatal(err)
	}
	if !w.Remembered {
		t.Fatal("the world was read, not remembered")
	}
	w.Contact.Name, w.ContactDirty = "Renamed", true
	if err := f.svc.commit(ctx, f.store.NewCommit(), w); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("commit over a chat changed since the image: %v, want ErrConflict", err)
	}
	w, err = f.svc.inboundWorld(ctx, f.svc.Rules(), from, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.Remembered || !w.Convs[chat.ID].Conv.Flagged {
		t.Fatalf("after the conflict: remembered %v, chat flagged %v; want a fresh read", w.Remembered, w.Convs[chat.ID].Conv.Flagged)
	}
}

// An image holds no department: a message that starts a chat from one is
// still routed, its department read on its own.
func TestNewChatFromAnImageIsRouted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 5))
	const from = "whatsapp:+27820000303"
	chat := liveChat(t, f, from)
	if err := f.svc.CloseChat(ctx, engine.Actor{ID: "ann", Role: "agent"}, chat.ID, engine.CloseForm{Sentiment: "neutral"}); err != nil {
		t.Fatal(err)
	}
	if _, remembered := f.store.Recall(from); !remembered {
		t.Fatal("the close left no image of the contact")
	}
	var count commandCount
	f.store.Client().AddHook(&count)
	r := received(t, f, "SMn1", from, "me again")
	if n := count.n.Load(); n != 2 {
		t.Fatalf("took %d commands, want 2 (the department, the commit)", n)
	}
	got, err := f.store.Conversation(ctx, r.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == chat.ID || got.Kind != engine.KindChat || got.State != engine.StateLive || got.Assignee != "ann" {
		t.Fatalf("message after the close: on %s, a %s %s on %q; want a new live chat on ann", got.ID, got.Kind, got.State, got.Assignee)
	}
}

// The leave-a-message flow's next answer is decided on the image too.
func TestNextAnswerOfATicketIsOneRoundTrip(t *testing.T) {
	f := newFixture(t)
	const from = "whatsapp:+27820000304"
	first := received(t, f, "SMk0", from, "hello")
	var count commandCount
	f.store.Client().AddHook(&count)
	r := received(t, f, "SMk1", from, "what?")
	if r.ConversationID != first.ConversationID {
		t.Fatalf("answer went to %s, want the ticket %s", r.ConversationID, first.ConversationID)
	}
	if n := count.n.Load(); n != 1 {
		t.Fatalf("the answer took %d commands, want 1 (the commit)", n)
	}
}

// sameAsRead fails unless the store's image of contact a is exactly what
// a read of it finds: the contact, and each conversation it points at as
// a world tracks it (before, working copy and stored document).
func sameAsRead(t *testing.T, f fixture, a channels.Address, step string) {
	t.Helper()
	img, ok := f.store.Recall(a)
	if !ok {
		t.Fatalf("%s: no image of %s", step, a)
	}
	read, err := f.store.LoadContact(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	wi, wr := engine.NewWorld(f.clock.Now(), f.svc.Rules()), engine.NewWorld(f.clock.Now(), f.svc.Rules())
	img.AddTo(wi)
	read.AddTo(wr)
	if !reflect.DeepEqual(*wi.Contact, *wr.Contact) {
		t.Fatalf("%s: the image's contact %+v, a read's %+v", step, *wi.Contact, *wr.Contact)
	}
	if len(wi.Convs) != len(wr.Convs) {
		t.Fatalf("%s: the image tracks %d conversations, a read %d", step, len(wi.Convs), len(wr.Convs))
	}
	for id, r := range wr.Convs {
		i := wi.Convs[id]
		if i == nil || !reflect.DeepEqual(i.Before, r.Before) || !reflect.DeepEqual(i.Conv, r.Conv) || i.Loaded != r.Loaded {
			t.Fatalf("%s: conversation %s differs:\nimage %+v\nread  %+v", step, id, i, r)
		}
	}
}

// The image is what a read finds, through the leave-a-message flow and a
// live chat from its start to its survey.
func TestImageIsWhatAReadFinds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const ticketFrom = "whatsapp:+27820000310"
	for i, body := range []string{"hello", "what?", "YES", "my order is late", "it was due on Monday", "//end", "one more thing"} {
		received(t, f, fmt.Sprintf("SMi%d", i), ticketFrom, body)
		sameAsRead(t, f, ticketFrom, "ticket flow, after "+body)
		f.clock.Add(time.Minute)
	}

	seed(t, f, online("ann", 5))
	const chatFrom = "whatsapp:+27820000311"
	chat := liveChat(t, f, chatFrom)
	sameAsRead(t, f, chatFrom, "the chat's first message")
	ann := engine.Actor{ID: "ann", Role: "agent"}
	for i, body := range []string{"are you there?", "my order", "//end", "5", "thanks", "hello again"} {
		if i == 2 {
			if _, err := f.svc.Reply(ctx, ann, chat.ID, engine.Reply{Body: "Looking now"}); err != nil {
				t.Fatal(err)
			}
		}
		received(t, f, fmt.Sprintf("SMj%d", i), chatFrom, body)
		sameAsRead(t, f, chatFrom, "live chat, after "+body)
		f.clock.Add(time.Minute)
	}
}

// Should Redis lose writes (a crash between fsyncs, a failover to a
// replica behind), a record's version can come round again with other
// contents. The image is checked whole, so such a record is never taken
// for the one remembered: here a chat and a contact stored again at the
// versions the image holds, with a change in them.
func TestImageIsCheckedWholeNotByVersion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 5))
	const from = "whatsapp:+27820000320"
	chat := liveChat(t, f, from)
	rdb := f.store.Client()
	convKey := store.KeyPrefix + "conv:" + chat.ID
	raw, err := rdb.Get(ctx, convKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	flagged := strings.Replace(raw, `"assignee":"ann"`, `"assignee":"ann","flagged":true`, 1)
	if flagged == raw {
		t.Fatalf("no assignee to flag beside in %s", raw)
	}
	if err := rdb.Set(ctx, convKey, flagged, 0).Err(); err != nil {
		t.Fatal(err)
	}
	received(t, f, "SMw1", from, "still there?")
	got, err := f.store.Conversation(ctx, chat.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Flagged || got.Preview != "still there?" {
		t.Fatalf("chat flagged %v, preview %q: the message was decided on the image over a chat stored since at its version", got.Flagged, got.Preview)
	}

	if err := rdb.HSet(ctx, store.KeyPrefix+"contact:"+from, "opted_out", "1").Err(); err != nil {
		t.Fatal(err)
	}
	w, err := f.svc.inboundWorld(ctx, f.svc.Rules(), from, "")
	if err != nil {
		t.Fatal(err)
	}
	if !w.Remembered || w.Contact.OptedOut {
		t.Fatalf("remembered %v, opted out %v: want the image, from before the change", w.Remembered, w.Contact.OptedOut)
	}
	w.Contact.Name, w.ContactDirty = "Renamed", true
	if err := f.svc.commit(ctx, f.store.NewCommit(), w); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("commit over a contact changed at its version: %v, want ErrConflict", err)
	}
}

// Messages of one chat arriving at once are decided on one image at once:
// each commit but one conflicts and decides again, and every message is
// kept (run with -race, this also holds that nothing writes the image).
func TestConcurrentMessagesShareAnImage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 5))
	const from = "whatsapp:+27820000330"
	chat := liveChat(t, f, from)
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := f.svc.Receive(ctx, inbound(fmt.Sprintf("SMc%d", i), from, fmt.Sprintf("message %d", i)))
			if err != nil {
				t.Error(err)
			} else if r.ConversationID != chat.ID {
				t.Errorf("message %d went to %s, want the chat %s", i, r.ConversationID, chat.ID)
			}
		})
	}
	wg.Wait()
	if got := inboundCount(t, f, chat.ID); got != n+1 {
		t.Fatalf("the chat holds %d customer messages, want %d", got, n+1)
	}
	sameAsRead(t, f, from, "after the concurrent messages")
}

// received takes one inbound message, failing the test on an error.
func received(t *testing.T, f fixture, sid, from, body string) Received {
	t.Helper()
	r, err := f.svc.Receive(context.Background(), inbound(sid, from, body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}
