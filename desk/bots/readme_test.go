package bots_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
)

// readmeBots returns the README's Bots section: what an integrator writes a
// bot from.
func readmeBots(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	start, end := strings.Index(s, "\n## Bots\n"), strings.Index(s, "\n## Operations\n")
	if start < 0 || end < start {
		t.Fatal("README: no Bots section before Operations")
	}
	return s[start:end]
}

var fenced = regexp.MustCompile("(?s)```(json|yaml)\n(.*?)```")

// strict decodes raw into v, refusing fields v does not have.
func strict(raw string, v any) error {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func keysOf(t *testing.T, v any) []string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}

// sentEvents are the events as Parley fills them in: every field set, and
// a lifecycle event without message and history.
func sentEvents() map[string]bots.Event {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	conv := []engine.Message{
		{ID: "m1", ConversationID: "c1", Direction: engine.DirIn, Body: "hi", At: at, SID: "SM1"},
		{ID: "n1", ConversationID: "c1", Direction: engine.DirNote, Body: "internal", At: at},
	}
	base := bots.Event{Bot: "echo", ConversationID: "c1", Channel: "whatsapp",
		Contact: bots.Contact{Address: "whatsapp:+27820000001", Name: "Thandi"}, WindowOpen: true, SentAt: at}
	msg, closed := base, base
	msg.ID, msg.Type = "m1", bots.EventMessage
	msg.Message, msg.History = bots.History(conv, "m1")
	closed.ID, closed.Type = "c1:"+engine.BotClosed, engine.BotClosed
	return map[string]bots.Event{bots.EventMessage: msg, engine.BotClosed: closed}
}

// TestReadmeBotFormats checks the README's examples against the code: the
// configuration decodes into the bot settings, each event has exactly the
// fields Parley sends for its type, and each answer decodes into the reply
// type and passes the checks Parley applies before carrying it out.
func TestReadmeBotFormats(t *testing.T) {
	sent := sentEvents()
	departments := configtest.Rules(t).DepartmentIDs()
	var events, answers, configs int
	for _, m := range fenced.FindAllStringSubmatch(readmeBots(t), -1) {
		lang, block := m[1], m[2]
		if lang == "yaml" {
			var cfg struct {
				Bots []config.Bot `yaml:"bots"`
			}
			dec := yaml.NewDecoder(bytes.NewReader([]byte(block)))
			dec.KnownFields(true)
			if err := dec.Decode(&cfg); err != nil || len(cfg.Bots) == 0 {
				t.Errorf("README bots configuration does not decode: %v\n%s", err, block)
			}
			configs++
			continue
		}
		var probe map[string]any
		if err := json.Unmarshal([]byte(block), &probe); err != nil {
			t.Errorf("README JSON block is not JSON: %v\n%s", err, block)
			continue
		}
		if _, ok := probe["actions"]; ok {
			answers++
			var reply bots.Reply
			if err := strict(block, &reply); err != nil {
				t.Errorf("README answer does not decode into an answer: %v\n%s", err, block)
				continue
			}
			if err := bots.CheckActions(reply.Actions, departments); err != nil {
				t.Errorf("README answer is refused: %v\n%s", err, block)
			}
			if len(reply.Actions) == 0 {
				t.Errorf("README answer has no actions:\n%s", block)
			}
			continue
		}
		events++
		var ev bots.Event
		if err := strict(block, &ev); err != nil {
			t.Errorf("README event does not decode into an event: %v\n%s", err, block)
			continue
		}
		kind := ev.Type
		if bots.IsLifecycle(kind) {
			kind = engine.BotClosed // every lifecycle event has the same fields
		}
		code, ok := sent[kind]
		if !ok {
			t.Errorf("README event of type %q: Parley sends no such event", ev.Type)
			continue
		}
		if got, want := slices.Sorted(maps.Keys(probe)), keysOf(t, code); !slices.Equal(got, want) {
			t.Errorf("README %s event has the fields %q, Parley sends %q", ev.Type, got, want)
		}
		if got, want := keysOf(t, ev.Contact), keysOf(t, code.Contact); !slices.Equal(got, want) {
			t.Errorf("README %s event's contact has %q, Parley sends %q", ev.Type, got, want)
		}
		if ev.Type == bots.EventMessage && (ev.Message.ID != ev.ID || len(ev.History) == 0 || ev.History[len(ev.History)-1].ID != ev.ID) {
			t.Errorf("README message event: want the message's id as the event's, and it last in the history")
		}
		if bots.IsLifecycle(ev.Type) && ev.ID != ev.ConversationID+":"+ev.Type {
			t.Errorf("README %s event's id %q, want the conversation's id and the type", ev.Type, ev.ID)
		}
	}
	// The message and lifecycle events, the answer and the callback.
	if events != 2 || answers != 2 || configs != 1 {
		t.Errorf("README Bots section has %d events, %d answers and %d configurations; want 2, 2 and 1", events, answers, configs)
	}
}
