package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/engine"

	"gopkg.in/yaml.v3"

	"github.com/parleydesk/parley/config"
)

// readmeBots returns the README's Bots section: what an integrator writes a
// bot from.
func readmeBots(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
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

// TestReadmeBotFormats checks the README's examples against the code: the
// configuration decodes into the bot settings, each event has exactly the
// fields Parley sends for its type, and each answer decodes into the reply
// type and passes the checks Parley applies before carrying it out.
func TestReadmeBotFormats(t *testing.T) {
	// The code's own events, as a bot receives them: a message, then the
	// chat closed by the customer.
	f := newBotFixture(t, func(BotEvent) (int, BotReply) { return 200, BotReply{} })
	ctx := context.Background()
	if _, err := f.svc.Receive(ctx, inbound("SMr1", "whatsapp:+27820000950", "hi")); err != nil {
		t.Fatal(err)
	}
	if err := f.deliver(t, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Receive(ctx, inbound("SMr2", "whatsapp:+27820000950", "//end")); err != nil {
		t.Fatal(err)
	}
	if err := f.deliver(t, false); err != nil {
		t.Fatal(err)
	}
	sent := map[string]BotEvent{}
	for _, ev := range f.events {
		sent[ev.Type] = ev
	}
	if len(sent) != 2 || sent["message"].ID == "" || sent[engine.BotClosed].ID == "" {
		t.Fatalf("the bot got %+v, want a message event and a closed event", f.events)
	}

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
			var reply BotReply
			if err := strict(block, &reply); err != nil {
				t.Errorf("README answer does not decode into an answer: %v\n%s", err, block)
				continue
			}
			if err := f.svc.checkBotActions(reply.Actions); err != nil {
				t.Errorf("README answer is refused: %v\n%s", err, block)
			}
			if len(reply.Actions) == 0 {
				t.Errorf("README answer has no actions:\n%s", block)
			}
			continue
		}
		events++
		var ev BotEvent
		if err := strict(block, &ev); err != nil {
			t.Errorf("README event does not decode into an event: %v\n%s", err, block)
			continue
		}
		kind := ev.Type
		if isLifecycle(kind) {
			kind = engine.BotClosed // every lifecycle event has the same fields
		}
		code, ok := sent[kind]
		if !ok {
			t.Errorf("README event of type %q: Parley sends no such event here", ev.Type)
			continue
		}
		if got, want := slices.Sorted(maps.Keys(probe)), keysOf(t, code); !slices.Equal(got, want) {
			t.Errorf("README %s event has the fields %q, Parley sends %q", ev.Type, got, want)
		}
		if got, want := keysOf(t, ev.Contact), keysOf(t, code.Contact); !slices.Equal(got, want) {
			t.Errorf("README %s event's contact has %q, Parley sends %q", ev.Type, got, want)
		}
		if ev.Type == "message" && (ev.Message.ID != ev.ID || len(ev.History) == 0 || ev.History[len(ev.History)-1].ID != ev.ID) {
			t.Errorf("README message event: want the message's id as the event's, and it last in the history")
		}
	}
	// The message and lifecycle events, the answer and the callback.
	if events != 2 || answers != 2 || configs != 1 {
		t.Errorf("README Bots section has %d events, %d answers and %d configurations; want 2, 2 and 1", events, answers, configs)
	}
}
