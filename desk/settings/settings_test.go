package settings

import (
	"errors"
	"strings"
	"testing"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk/engine"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	cfg := config.Default()
	cfg.Engine.Tags = []string{"refund"}
	cfg.Engine.Agents = []config.Agent{{ID: "ann", Name: "Ann"}}
	doc, err := Encode(&cfg.Engine)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Parse(doc)
	if err != nil {
		t.Fatalf("a document Encode wrote does not parse: %v", err)
	}
	if len(e.Agents) != 0 || strings.Contains(doc, "id: ann") {
		t.Errorf("users leaked into the settings document:\n%s", doc)
	}
	if len(cfg.Engine.Agents) != 1 {
		t.Error("Encode changed the settings it was given")
	}
	again, err := Encode(e)
	if err != nil || again != doc {
		t.Fatalf("round trip changed the document (%v):\n%s\nwant\n%s", err, again, doc)
	}
}

func TestParseRefusesMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"an unknown field":          "tagz: [refund]\n",
		"an invalid value":          "timeouts:\n  pending_timeout: -1m\n",
		"not a settings document":   "- just\n- a list\n",
		"a transcript with no link": "transcript:\n  link: \"Your copy\"\n",
	} {
		if _, err := Parse(doc); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%s: Parse = %v, want ErrInvalid", name, err)
		}
	}
}

func TestChangedNamesTheSections(t *testing.T) {
	before := "tags: [a]\ntexts:\n  ended: bye\nsurvey:\n  enabled: false\n"
	for _, tc := range []struct{ after, want string }{
		{before, "no change"},
		{"tags: [a, b]\ntexts:\n  ended: bye\nsurvey:\n  enabled: false\n", "changed: tags"},
		{"tags: [a]\ntexts:\n  ended: ciao\nsurvey:\n  enabled: true\n", "changed: survey, texts"},
		{"tags: [a]\ntexts:\n  ended: bye\n", "changed: survey"},
	} {
		if got := Changed(before, tc.after); got != tc.want {
			t.Errorf("Changed(…, %q) = %q, want %q", tc.after, got, tc.want)
		}
	}
}
