package engine

import (
	"errors"
	"slices"
	"testing"
)

// botChat is a chat the bot "faq" holds, with one customer message in
// flight to it.
func botChat(s *scene) *Conversation {
	c := s.chat(StateBot, "")
	c.Bot, c.BotPending = "faq", []string{"m1", "m2"}
	return c
}

func TestBotAnswerRules(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *scene)
	}{
		{"an answer to the message in flight is applied, and the next message goes to the bot", func(t *testing.T, s *scene) {
			c := botChat(s)
			if err := DecideBotAnswer(s.w, c, "faq", []BotAction{{Type: "text", Body: "Hello!"}, {Type: "tags", Tags: []string{"faq"}}}, "m1"); err != nil {
				t.Fatal(err)
			}
			if got := s.sent(); !slices.Equal(got, []string{"Hello!"}) {
				t.Errorf("sent %q", got)
			}
			if !slices.Equal(c.Tags, []string{"faq"}) || !slices.Equal(c.BotPending, []string{"m2"}) {
				t.Errorf("tags %v, pending %v", c.Tags, c.BotPending)
			}
			if len(s.w.BotDeliveries) != 1 || s.w.BotDeliveries[0].Message != "m2" {
				t.Errorf("deliveries %+v, want m2 sent on", s.w.BotDeliveries)
			}
			wantDeadline(t, c, TimerBot, t0.Add(s.rules.Timeouts.Inactivity))
		}},
		{"an answer to a message no longer in flight was applied before: nothing changes", func(t *testing.T, s *scene) {
			c := botChat(s)
			if err := DecideBotAnswer(s.w, c, "faq", []BotAction{{Type: "text", Body: "Again?"}}, "m0"); err != nil {
				t.Fatal(err)
			}
			if len(s.sent()) != 0 || len(c.BotPending) != 2 || len(s.w.BotDeliveries) != 0 {
				t.Errorf("a repeated answer changed the chat: sent %q, pending %v", s.sent(), c.BotPending)
			}
		}},
		{"another bot, or a chat the bot no longer holds, is refused", func(t *testing.T, s *scene) {
			c := botChat(s)
			if err := DecideBotAnswer(s.w, c, "sales", []BotAction{{Type: "text", Body: "x"}}, ""); !errors.Is(err, ErrWrongState) {
				t.Errorf("another bot: %v, want ErrWrongState", err)
			}
			c.State = StateAssigned
			if err := DecideBotAnswer(s.w, c, "faq", []BotAction{{Type: "text", Body: "x"}}, ""); !errors.Is(err, ErrWrongState) {
				t.Errorf("an agent's chat: %v, want ErrWrongState", err)
			}
			if len(s.sent()) != 0 {
				t.Errorf("sent %q", s.sent())
			}
		}},
		{"after a hand-off the rest of the answer is not the bot's to do", func(t *testing.T, s *scene) {
			s.agent("ann", 0, true)
			c := botChat(s)
			err := DecideBotAnswer(s.w, c, "faq", []BotAction{{Type: "handoff", Note: "wants a refund"}, {Type: "text", Body: "too late"}}, "")
			if err != nil {
				t.Fatal(err)
			}
			if c.State != StateLive || c.Assignee != "ann" || c.BotPending != nil {
				t.Errorf("state %s, assignee %q, pending %v: want ann's live chat, nothing for the bot", c.State, c.Assignee, c.BotPending)
			}
			if slices.Contains(s.sent(), "too late") {
				t.Error("an action after the hand-off was done")
			}
			if _, armed := c.Deadlines[TimerBot]; armed {
				t.Error("the bot's idle timer still runs after the hand-off")
			}
		}},
		{"a close ends the chat as the bot's", func(t *testing.T, s *scene) {
			c := botChat(s)
			if err := DecideBotAnswer(s.w, c, "faq", []BotAction{{Type: "close"}}, ""); err != nil {
				t.Fatal(err)
			}
			if c.State != StateClosed || c.Closed == nil || c.Closed.By != "bot:faq" {
				t.Errorf("state %s, closed %+v", c.State, c.Closed)
			}
		}},
		{"an unknown action is refused", func(t *testing.T, s *scene) {
			c := botChat(s)
			if err := DecideBotAnswer(s.w, c, "faq", []BotAction{{Type: "dance"}}, ""); !errors.Is(err, ErrInvalid) {
				t.Errorf("unknown action: %v, want ErrInvalid", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newScene(t)) })
	}
}

func TestBotAnswerNeeds(t *testing.T) {
	c := &Conversation{Department: "general"}
	got := BotAnswerNeeds(c, []BotAction{{Type: "text"}, {Type: "handoff"}, {Type: "handoff", Department: "sales"}, {Type: "handoff"}})
	if !slices.Equal(got, []string{"general", "sales"}) {
		t.Errorf("needs %v, want general and sales once each", got)
	}
	if got := BotAnswerNeeds(c, []BotAction{{Type: "text"}}); len(got) != 0 {
		t.Errorf("needs %v for an answer with no hand-off", got)
	}
}
