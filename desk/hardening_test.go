package desk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/reports"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/config"
)

// A customer's name is theirs to choose: the CSV export must not hand a
// spreadsheet a formula.
func TestCSVExportNeutralizesFormulas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed(t, f, online("ann", 3), config.Agent{ID: "sue", Role: "supervisor"})
	in := inbound("SMcsv", "whatsapp:+27820000701", "hello")
	in.ProfileName = `=HYPERLINK("https://evil.example","Click")`
	if _, err := f.svc.Receive(ctx, in); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	day := f.clock.Now().Truncate(24 * time.Hour)
	if err := f.svc.ExportConversations(ctx, engine.Actor{ID: "sue", Role: "supervisor"}, reports.Query{From: day, To: day.Add(24 * time.Hour)}, "csv", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"'=HYPERLINK(""https://evil.example"",""Click"")"`) {
		t.Fatalf("export does not neutralize the name:\n%s", out.String())
	}
}

// Twilio's signature has no time in it: a captured webhook replayed after
// its MessageSid claim expired would be stored again, so the claim is kept
// far longer than any replay is worth.
func TestInboundClaimOutlivesReplays(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Receive(ctx, inbound("SMreplay", "whatsapp:+27820000702", "hello")); err != nil {
		t.Fatal(err)
	}
	ttl, err := f.store.Client().PTTL(ctx, store.KeyPrefix+"sid:SMreplay").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 365*24*time.Hour {
		t.Fatalf("the MessageSid claim lives %s, want over a year", ttl)
	}
	r, err := f.svc.Receive(ctx, inbound("SMreplay", "whatsapp:+27820000702", "hello"))
	if err != nil || !r.Duplicate {
		t.Fatalf("the replay: %+v %v, want a duplicate", r, err)
	}
}
