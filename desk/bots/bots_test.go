package bots_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
)

// TestHistory: the history is what the customer saw, up to the event's
// message, at most HistoryLen messages.
func TestHistory(t *testing.T) {
	var conv []engine.Message
	for i := range 40 {
		dir := engine.DirIn
		switch i % 3 {
		case 1:
			dir = engine.DirOut
		case 2:
			dir = engine.DirNote
		}
		conv = append(conv, engine.Message{ID: fmt.Sprint("m", i), Direction: dir})
	}
	conv = append(conv, engine.Message{ID: "sys", Direction: engine.DirSystem})
	ids := func(ms []engine.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}

	msg, hist := bots.History(conv, "m3")
	if msg.ID != "m3" || !slices.Equal(ids(hist), []string{"m0", "m1", "m3"}) {
		t.Errorf("History up to m3: %s, %q; want m3 and [m0 m1 m3]", msg.ID, ids(hist))
	}
	msg, hist = bots.History(conv, "m36")
	if msg.ID != "m36" || len(hist) != bots.HistoryLen || hist[len(hist)-1].ID != "m36" {
		t.Errorf("History up to m36: %s, %d messages ending %s; want m36, %d ending m36", msg.ID, len(hist), hist[len(hist)-1].ID, bots.HistoryLen)
	}
	for _, m := range hist {
		if m.Direction != engine.DirIn && m.Direction != engine.DirOut {
			t.Errorf("history carries %s (%s): only messages in and out reach a bot", m.ID, m.Direction)
		}
	}
}

func TestCheckActions(t *testing.T) {
	depts := []string{"general", "sales"}
	many := make([]engine.BotAction, bots.MaxActions+1)
	for i := range many {
		many[i] = engine.BotAction{Type: "text", Body: "x"}
	}
	cases := []struct {
		name    string
		actions []engine.BotAction
		refused string // in the error; empty: accepted
	}{
		{"none", nil, ""},
		{"every type", []engine.BotAction{{Type: "text"}, {Type: "template"}, {Type: "buttons", Buttons: []string{"a"}},
			{Type: "tags"}, {Type: "attributes"}, {Type: "handoff", Department: "sales"}, {Type: "handoff"}, {Type: "close"}}, ""},
		{"the most actions", many[:bots.MaxActions], ""},
		{"too many actions", many, "at most 20 actions"},
		{"unknown type", []engine.BotAction{{Type: "text"}, {Type: "dance"}}, `actions[1]: unknown action "dance"`},
		{"no buttons", []engine.BotAction{{Type: "buttons"}}, "actions[0]: buttons: 1 to 10"},
		{"too many buttons", []engine.BotAction{{Type: "buttons", Buttons: make([]string, bots.MaxButtons+1)}}, "buttons: 1 to 10"},
		{"unknown department", []engine.BotAction{{Type: "handoff", Department: "nope"}}, `handoff to unknown department "nope" (known: general, sales)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := bots.CheckActions(tc.actions, depts)
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refused != "" && (!errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), tc.refused)):
				t.Errorf("got %v, want an ErrInvalid saying %q", err, tc.refused)
			}
		})
	}
}

func TestIsLifecycle(t *testing.T) {
	for _, typ := range []string{engine.BotClosed, engine.BotHandedOff, engine.BotTakenOver} {
		if !bots.IsLifecycle(typ) {
			t.Errorf("%q is a lifecycle event", typ)
		}
	}
	if bots.IsLifecycle(bots.EventMessage) {
		t.Errorf("%q is not a lifecycle event", bots.EventMessage)
	}
}
