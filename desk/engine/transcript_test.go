package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
)

// The transcript offer's rules, one row each, on in-memory worlds.
func TestTranscriptRules(t *testing.T) {
	offerText := "Reply TRANSCRIPT within 10 minutes"
	closedChat := func(s *scene) *Conversation {
		c := s.chat(StateClosed, "ann")
		s.w.Contact.Chat = ""
		c.Closed = &Closure{By: "customer", Reason: ReasonCustomer, At: t0.Add(-time.Minute)}
		return c
	}
	offered := func(s *scene, until time.Time) {
		s.w.Transcript = &TranscriptState{Offered: &TranscriptOffer{Conv: "chat1", Until: until}, Link: "https://parley.test/transcripts/chat1?sig=x"}
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
			c := s.chat(StateLive, "ann")
			s.in("//end", true)
			if got := s.sent(); len(got) != 1 || !strings.Contains(got[0], offerText) {
				t.Fatalf("sent %q, want the offer naming the window", got)
			}
			if o := s.w.Transcript.Offers; len(o) != 1 || o[0].Conv != c.ID || !o[0].Until.Equal(t0.Add(10*time.Minute)) {
				t.Fatalf("offers %+v", o)
			}
		}},
		{"an agent's close offers nothing", func(t *testing.T, s *scene) {
			s.agent("ann", 1, true)
			c := s.chat(StateLive, "ann")
			s.w.closeConversation(c, Closure{By: "ann", Reason: ReasonAgent})
			if s.w.Transcript != nil || len(s.sent()) != 0 {
				t.Fatalf("offer made on an agent's close: %+v %q", s.w.Transcript, s.sent())
			}
		}},
		{"a zero window turns the offer off", func(t *testing.T, s *scene) {
			s.rules.Transcript.Window = 0
			s.agent("ann", 1, true)
			s.chat(StateLive, "ann")
			s.in("//end", true)
			if s.w.Transcript != nil || len(s.sent()) != 0 {
				t.Fatalf("offer made with the window off: %q", s.sent())
			}
		}},
		{"an opted-out customer is offered nothing", func(t *testing.T, s *scene) {
			s.w.Contact.OptedOut = true
			s.agent("ann", 1, true)
			s.chat(StateLive, "ann")
			s.in("//end", true)
			if s.w.Transcript != nil {
				t.Fatalf("offer made to an opted-out customer")
			}
		}},
		{"the keyword within the window gets the link, on the chat it is about", func(t *testing.T, s *scene) {
			c := closedChat(s)
			offered(s, t0.Add(5*time.Minute))
			m := s.in(" transcript ", true)
			if !sentLink(s) || !s.holds(c, m.ID) || !s.w.Transcript.Used {
				t.Fatalf("sent %q, request on the chat %v, used %v", s.sent(), s.holds(c, m.ID), s.w.Transcript.Used)
			}
			if c.State != StateClosed || len(s.w.Convs) != 1 {
				t.Fatalf("the request opened something: %s, %d conversations", c.State, len(s.w.Convs))
			}
		}},
		{"the keyword after the window is an ordinary new message", func(t *testing.T, s *scene) {
			closedChat(s)
			offered(s, t0.Add(-time.Second))
			s.in("TRANSCRIPT", false)
			if sentLink(s) || s.w.Transcript.Used {
				t.Fatalf("link sent after the window: %q", s.sent())
			}
			s.onlyNew(KindTicket) // out of hours: the leave-a-message flow
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
			live := &Conversation{ID: "chat2", Contact: s.w.Contact.Address, Channel: channels.WhatsApp, Department: "general",
				Kind: KindChat, State: StateLive, Assignee: "ann", CreatedAt: t0, Version: 1}
			s.w.Contact.Chat = live.ID
			s.w.Track(live)
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
