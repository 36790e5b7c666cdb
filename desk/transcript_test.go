package desk

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/store"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/desk/redistest"
)

// transcriptFixture is a desk fixture whose service signs links.
func transcriptFixture(t *testing.T) fixture {
	t.Helper()
	db := redistest.New(t)
	f := fixture{
		store: store.New(db.Client, store.KeyPrefix), dispatch: &fakeDispatch{}, provider: &fakeProvider{},
		clock: &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
	}
	f.svc = NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: configtest.Rules(t), Now: f.clock.Now,
		Log: zerolog.Nop(), Media: media.NewSigner([]byte(strings.Repeat("s", 32)), "https://parley.test")})
	return f
}

// lastOut is the body of the contact's last queued text.
func lastOut(t *testing.T, f fixture, conv string) string {
	t.Helper()
	hist, err := f.store.History(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range slices.Backward(hist) {
		if m.Direction == engine.DirOut {
			return m.Body
		}
	}
	return ""
}

// On Redis: the keyword within the window sends a link that opens the
// chat's transcript (messages only, no internal notes) until it expires;
// a forged or altered link is refused; after the window nothing is sent.
func TestTranscriptLinkOverRedis(t *testing.T) {
	f := transcriptFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 3))
	const from = "whatsapp:+27820000501"
	chat := liveChat(t, f, from)
	if _, err := f.svc.Reply(ctx, engine.Actor{ID: "ann", Role: "agent"}, chat.ID, engine.Reply{Body: "How can I help?"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Comment(ctx, engine.Actor{ID: "ann", Role: "agent"}, chat.ID, "internal: VIP customer"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Receive(ctx, inbound("SMend1", from, "//end")); err != nil {
		t.Fatal(err)
	}
	if got := lastOut(t, f, chat.ID); !strings.Contains(got, "TRANSCRIPT") {
		t.Fatalf("closing text %q, want the offer", got)
	}

	f.clock.Add(9 * time.Minute)
	r, err := f.svc.Receive(ctx, inbound("SMtr1", from, "TRANSCRIPT"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ConversationID != chat.ID {
		t.Fatalf("the request went to %s, want the ended chat %s", r.ConversationID, chat.ID)
	}
	text := lastOut(t, f, chat.ID)
	i := strings.Index(text, "https://parley.test/transcripts/")
	if i < 0 {
		t.Fatalf("reply %q has no link", text)
	}
	link, err := url.Parse(strings.Fields(text[i:])[0])
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(link.Path, "/transcripts/")
	exp, sig := link.Query().Get("exp"), link.Query().Get("sig")
	tr, err := f.svc.TranscriptFor(ctx, id, exp, sig)
	if err != nil {
		t.Fatalf("a fresh link: %v", err)
	}
	var bodies []string
	for _, m := range tr.Messages {
		bodies = append(bodies, m.Body)
	}
	if !slices.Contains(bodies, "hello") || !slices.Contains(bodies, "How can I help?") || slices.Contains(bodies, "internal: VIP customer") {
		t.Fatalf("transcript messages %q", bodies)
	}
	for name, try := range map[string][3]string{
		"forged signature": {id, exp, "AAAA" + sig[4:]},
		"later expiry":     {id, "9999999999", sig},
		"other chat":       {"01OTHERCHAT0000000000000000", exp, sig},
	} {
		if _, err := f.svc.TranscriptFor(ctx, try[0], try[1], try[2]); !errors.Is(err, media.ErrBadSignature) {
			t.Fatalf("%s: %v, want media.ErrBadSignature", name, err)
		}
	}
	f.clock.Add(25 * time.Hour)
	if _, err := f.svc.TranscriptFor(ctx, id, exp, sig); !errors.Is(err, media.ErrLinkExpired) {
		t.Fatalf("a day later: %v, want media.ErrLinkExpired", err)
	}

	// A second chat, ended; the keyword after the window gets no link.
	second, err := f.svc.Receive(ctx, inbound("SMhello2", from, "hello again"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Receive(ctx, inbound("SMend2", from, "//end")); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(11 * time.Minute)
	r, err = f.svc.Receive(ctx, inbound("SMtr2", from, "TRANSCRIPT"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ConversationID == second.ConversationID || strings.Contains(lastOut(t, f, r.ConversationID), "/transcripts/") {
		t.Fatalf("after the window: went to %s (ended %s), answered %q", r.ConversationID, second.ConversationID, lastOut(t, f, r.ConversationID))
	}
}
