package desk

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/redistest"
)

// The transcript offer's rules, one row each, on in-memory worlds.
func TestTranscriptRules(t *testing.T) {
	offerText := "Reply TRANSCRIPT within 10 minutes"
	closedChat := func(s *scene) *engine.Conversation {
		c := s.chat(engine.StateClosed, "ann")
		s.w.contact.Chat = ""
		c.Closed = &engine.Closure{By: "customer", Reason: engine.ReasonCustomer, At: t0.Add(-time.Minute)}
		return c
	}
	offered := func(s *scene, until time.Time) {
		s.w.transcript = &transcriptState{offered: &transcriptOffer{Conv: "chat1", Until: until}, link: "https://parley.test/transcripts/chat1?sig=x"}
	}
	sentLink := func(s *scene) bool {
		return slices.ContainsFunc(s.sent(), func(b string) bool { return strings.Contains(b, "https://parley.test/transcripts/chat1") })
	}
	rows := []struct {
		name string
		run  func(t *testing.T, s *scene)
	}{
		{"//end in a live chat confirms the close and offers a transcript for the window", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true)
			c := s.chat(engine.StateLive, "ann")
			s.in("//end", true)
			if got := s.sent(); len(got) != 1 || !strings.Contains(got[0], offerText) {
				t.Fatalf("sent %q, want the offer naming the window", got)
			}
			if o := s.w.transcript.offers; len(o) != 1 || o[0].Conv != c.ID || !o[0].Until.Equal(t0.Add(10*time.Minute)) {
				t.Fatalf("offers %+v", o)
			}
		}},
		{"an agent's close offers nothing", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true)
			c := s.chat(engine.StateLive, "ann")
			s.w.closeConversation(c, engine.Closure{By: "ann", Reason: engine.ReasonAgent})
			if s.w.transcript != nil || len(s.sent()) != 0 {
				t.Fatalf("offer made on an agent's close: %+v %q", s.w.transcript, s.sent())
			}
		}},
		{"a zero window turns the offer off", func(t *testing.T, s *scene) {
			s.rules.Transcript.Window = 0
			s.agent("ann", 1, true)
			s.chat(engine.StateLive, "ann")
			s.in("//end", true)
			if s.w.transcript != nil || len(s.sent()) != 0 {
				t.Fatalf("offer made with the window off: %q", s.sent())
			}
		}},
		{"an opted-out customer is offered nothing", func(t *testing.T, s *scene) {
			s.w.contact.OptedOut = true
			s.agent("ann", 1, true)
			s.chat(engine.StateLive, "ann")
			s.in("//end", true)
			if s.w.transcript != nil {
				t.Fatalf("offer made to an opted-out customer")
			}
		}},
		{"the keyword within the window gets the link, on the chat it is about", func(t *testing.T, s *scene) {
			c := closedChat(s)
			offered(s, t0.Add(5*time.Minute))
			m := s.in(" transcript ", true)
			if !sentLink(s) || !s.holds(c, m.ID) || !s.w.transcript.used {
				t.Fatalf("sent %q, request on the chat %v, used %v", s.sent(), s.holds(c, m.ID), s.w.transcript.used)
			}
			if c.State != engine.StateClosed || len(s.w.convs) != 1 {
				t.Fatalf("the request opened something: %s, %d conversations", c.State, len(s.w.convs))
			}
		}},
		{"the keyword after the window is an ordinary new message", func(t *testing.T, s *scene) {
			closedChat(s)
			offered(s, t0.Add(-time.Second))
			s.in("TRANSCRIPT", false)
			if sentLink(s) || s.w.transcript.used {
				t.Fatalf("link sent after the window: %q", s.sent())
			}
			s.onlyNew(engine.KindTicket) // out of hours: the leave-a-message flow
		}},
		{"another word within the window is an ordinary message", func(t *testing.T, s *scene) {
			closedChat(s)
			offered(s, t0.Add(5*time.Minute))
			s.in("transcript please", false)
			if sentLink(s) {
				t.Fatalf("link sent for another word: %q", s.sent())
			}
		}},
		{"the keyword inside a new open chat is said in that chat", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true)
			closedChat(s)
			live := &engine.Conversation{ID: "chat2", Contact: s.w.contact.Address, Channel: channels.WhatsApp, Department: "general",
				Kind: engine.KindChat, State: engine.StateLive, Assignee: "ann", CreatedAt: t0, Version: 1}
			s.w.contact.Chat = live.ID
			s.w.track(live)
			offered(s, t0.Add(5*time.Minute))
			m := s.in("TRANSCRIPT", true)
			if sentLink(s) || !s.holds(s.conv("chat2"), m.ID) {
				t.Fatalf("sent %q; message in the live chat %v", s.sent(), s.holds(s.conv("chat2"), m.ID))
			}
		}},
		{"no offer standing: the keyword is an ordinary message", func(t *testing.T, s *scene) {
			closedChat(s)
			s.in("TRANSCRIPT", false)
			if sentLink(s) {
				t.Fatalf("link sent without an offer")
			}
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s := newScene(t)
			row.run(t, s)
		})
	}
}

// transcriptFixture is a desk fixture whose service signs links.
func transcriptFixture(t *testing.T) fixture {
	t.Helper()
	db := redistest.New(t)
	f := fixture{
		store: NewStore(db.Client, KeyPrefix), dispatch: &fakeDispatch{}, provider: &fakeProvider{},
		clock: &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
	}
	f.svc = NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: testRules(t), Now: f.clock.Now,
		Log: zerolog.Nop(), Media: NewMedia([]byte(strings.Repeat("s", 32)), "https://parley.test")})
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
	if _, err := f.svc.Reply(ctx, Actor{ID: "ann", Role: "agent"}, chat.ID, Reply{Body: "How can I help?"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Comment(ctx, Actor{ID: "ann", Role: "agent"}, chat.ID, "internal: VIP customer"); err != nil {
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
		if _, err := f.svc.TranscriptFor(ctx, try[0], try[1], try[2]); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	f.clock.Add(25 * time.Hour)
	if _, err := f.svc.TranscriptFor(ctx, id, exp, sig); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("a day later: %v, want ErrLinkExpired", err)
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
