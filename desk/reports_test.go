package desk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/reports"
)

// A known day and a half of work, and the figures it must give.
func TestReportFromKnownData(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.Rules().Survey.Enabled = true
	seed(t, f, online("ann", 3), online("bob", 3))
	ann, bob := engine.Actor{ID: "ann", Role: "agent"}, engine.Actor{ID: "bob", Role: "agent"}
	day1 := f.clock.Now() // Monday 10:00 UTC

	a := liveChat(t, f, "whatsapp:+27820000601") // to ann
	f.clock.Add(time.Minute)
	if _, err := f.svc.Reply(ctx, ann, a.ID, engine.Reply{Body: "Hi, Ann here"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(4 * time.Minute)                 // 10:05
	b := liveChat(t, f, "whatsapp:+27820000602") // to bob, who has fewer chats
	if b.Assignee != "bob" {
		t.Fatalf("second chat on %s, want bob", b.Assignee)
	}
	f.clock.Add(2 * time.Minute) // 10:07
	if _, err := f.svc.Reply(ctx, bob, b.ID, engine.Reply{Body: "Bob here"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(4 * time.Minute) // 10:11
	if err := f.svc.CloseChat(ctx, ann, a.ID, engine.CloseForm{Sentiment: "positive", Tag: "billing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Receive(ctx, inbound("SMrate", "whatsapp:+27820000601", "5 lovely")); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(6 * time.Minute) // 10:17, bob's chat idle for 10 minutes
	if err := f.svc.Wake(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Conversation(ctx, b.ID); got.State != engine.StateClosed || got.Closed.Reason != engine.ReasonInactivity {
		t.Fatalf("bob's chat %s (%+v), want closed for inactivity", got.State, got.Closed)
	}
	f.clock.Add(23 * time.Hour) // Tuesday 09:17: nobody online
	for _, id := range []string{"ann", "bob"} {
		if err := f.svc.SetPresence(ctx, id, engine.Offline, false); err != nil {
			t.Fatal(err)
		}
	}
	tickets(t, f, 1)

	sue := engine.Actor{ID: "sue", Role: "supervisor"}
	if _, err := f.svc.Report(ctx, ann, reports.Query{From: day1, To: day1.Add(48 * time.Hour)}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("an agent's report: %v, want ErrNotAllowed", err)
	}
	r, err := f.svc.Report(ctx, sue, reports.Query{From: day1.Truncate(24 * time.Hour), To: day1.Truncate(24 * time.Hour).Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tot := r.Total
	if tot.Chats != 2 || tot.Tickets != 1 || tot.ClosedByInactivity != 1 {
		t.Fatalf("totals %d chats, %d tickets, %d closed by inactivity; want 2, 1, 1", tot.Chats, tot.Tickets, tot.ClosedByInactivity)
	}
	if tot.FirstResponseAvg != 90 || tot.WaitingAvg != 0 || tot.HandlingAvg != 690 {
		t.Fatalf("first response %v, waiting %v, handling %v; want 90, 0, 690", tot.FirstResponseAvg, tot.WaitingAvg, tot.HandlingAvg)
	}
	if tot.Sentiments["positive"] != 1 || tot.Tags["billing"] != 1 || tot.SurveyCount != 1 || tot.SurveyAvg != 5 {
		t.Fatalf("sentiments %v tags %v survey %d/%v", tot.Sentiments, tot.Tags, tot.SurveyCount, tot.SurveyAvg)
	}
	if len(r.Days) != 2 || r.Days[0].Chats != 2 || r.Days[1].Tickets != 1 {
		t.Fatalf("days %+v", r.Days)
	}
	if len(r.Agents) != 2 || r.Agents[0].Key != "ann" || r.Agents[0].HandlingAvg != 660 || r.Agents[1].FirstResponseAvg != 120 || r.Agents[1].ClosedByInactivity != 1 {
		t.Fatalf("agents %+v %+v", r.Agents[0].Figures, r.Agents[1].Figures)
	}
	var export strings.Builder
	if err := f.svc.ExportConversations(ctx, sue, reports.Query{From: day1, To: day1.Add(48 * time.Hour), Agent: "ann"}, "csv", &export); err != nil {
		t.Fatal(err)
	}
	if rows := strings.Split(strings.TrimSpace(export.String()), "\n"); len(rows) != 2 || !strings.Contains(rows[1], a.ID) || !strings.Contains(rows[1], "billing") {
		t.Fatalf("export:\n%s", export.String())
	}
	if _, err := f.svc.Report(ctx, sue, reports.Query{From: day1, To: day1}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("an empty period: %v, want ErrInvalid", err)
	}
}
