package reports

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
)

// monday is 10:00 UTC on the first day of the known period.
var monday = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return monday.Add(d) }

// knownWork is a day and a half of a desk: Ann answers a chat in a minute
// and closes it happy, with a 5 in the survey; Bob answers his in two and
// lets it close for inactivity; on Tuesday nobody is online and a ticket
// waits unassigned.
func knownWork() (ann, bob, ticket *engine.Conversation) {
	ann = &engine.Conversation{ID: "c-ann", Kind: engine.KindChat, State: engine.StateClosed, Channel: channels.WhatsApp,
		Contact: "whatsapp:+27820000601", ContactName: "Thandi", Department: "support", Assignee: "ann",
		CreatedAt: at(0), AssignedAt: at(0), FirstAgentAt: at(time.Minute),
		Closed: &engine.Closure{By: "ann", Reason: engine.ReasonAgent, Sentiment: "positive", Tag: "billing", Refs: []string{"INV-7"}, At: at(11 * time.Minute)},
		Rating: &engine.Rating{Score: 5, At: at(12 * time.Minute)}}
	bob = &engine.Conversation{ID: "c-bob", Kind: engine.KindChat, State: engine.StateClosed, Channel: channels.WhatsApp,
		Contact: "whatsapp:+27820000602", Department: "support", Assignee: "bob",
		CreatedAt: at(5 * time.Minute), AssignedAt: at(5 * time.Minute), FirstAgentAt: at(7 * time.Minute),
		Closed: &engine.Closure{By: "system", Reason: engine.ReasonInactivity, At: at(17 * time.Minute)}}
	ticket = &engine.Conversation{ID: "c-ticket", Kind: engine.KindTicket, State: engine.StateUnassigned, Channel: channels.SMS,
		Contact: "+27820000603", Department: "support", CreatedAt: at(23*time.Hour + 17*time.Minute)}
	return ann, bob, ticket
}

// oneWaySMS is a text Sue sent from the desk on Monday, recorded as a
// closed chat of hers.
func oneWaySMS() *engine.Conversation {
	return &engine.Conversation{ID: "c-sms", Kind: engine.KindChat, State: engine.StateClosed, Channel: channels.SMS,
		Contact: "+27820000604", Department: "support", Assignee: "sue", CreatedAt: at(2 * time.Hour), AssignedAt: at(2 * time.Hour), FirstAgentAt: at(2 * time.Hour),
		Closed: &engine.Closure{By: "sue", Reason: engine.ReasonOneWaySMS, At: at(2 * time.Hour)}}
}

func twoDays() Query {
	day := monday.Truncate(24 * time.Hour)
	return Query{From: day, To: day.Add(48 * time.Hour)}
}

func TestComputeKnownWork(t *testing.T) {
	ann, bob, ticket := knownWork()
	r := Compute(twoDays(), []*engine.Conversation{ann, bob, ticket})
	tot := r.Total
	if tot.Chats != 2 || tot.Tickets != 1 || tot.ClosedByInactivity != 1 {
		t.Fatalf("totals %d chats, %d tickets, %d closed by inactivity; want 2, 1, 1", tot.Chats, tot.Tickets, tot.ClosedByInactivity)
	}
	// First responses of 60 and 120 s; handling of 660 and 720 s; the
	// ticket was never answered or taken, so it is in neither average.
	if tot.FirstResponseAvg != 90 || tot.WaitingAvg != 0 || tot.HandlingAvg != 690 {
		t.Fatalf("first response %v, waiting %v, handling %v; want 90, 0, 690", tot.FirstResponseAvg, tot.WaitingAvg, tot.HandlingAvg)
	}
	if tot.Sentiments["positive"] != 1 || len(tot.Sentiments) != 1 || tot.Tags["billing"] != 1 || tot.SurveyCount != 1 || tot.SurveyAvg != 5 {
		t.Fatalf("sentiments %v tags %v survey %d/%v", tot.Sentiments, tot.Tags, tot.SurveyCount, tot.SurveyAvg)
	}
	if len(r.Days) != 2 || r.Days[0].Key != "2026-03-02" || r.Days[0].Chats != 2 || r.Days[1].Key != "2026-03-03" || r.Days[1].Tickets != 1 {
		t.Fatalf("days %+v %+v", r.Days[0].Figures, r.Days[1].Figures)
	}
	// The unassigned ticket is under no agent.
	if len(r.Agents) != 2 || r.Agents[0].Key != "ann" || r.Agents[0].HandlingAvg != 660 || r.Agents[0].SurveyAvg != 5 ||
		r.Agents[1].Key != "bob" || r.Agents[1].FirstResponseAvg != 120 || r.Agents[1].ClosedByInactivity != 1 {
		t.Fatalf("agents %+v %+v", r.Agents[0].Figures, r.Agents[1].Figures)
	}
	if len(r.Departments) != 1 || r.Departments[0].Key != "support" || r.Departments[0].Chats != 2 || r.Departments[0].Tickets != 1 {
		t.Fatalf("departments %+v", r.Departments)
	}
}

// A quiet period still has a row per day, and its maps are {} in JSON so
// the page need not tell null from empty.
func TestComputeQuietDays(t *testing.T) {
	day := monday.Truncate(24 * time.Hour)
	r := Compute(Query{From: day, To: day.Add(72 * time.Hour)}, nil)
	if len(r.Days) != 3 || r.Days[2].Key != "2026-03-04" || r.Days[1].Chats != 0 || len(r.Agents) != 0 || len(r.Departments) != 0 {
		t.Fatalf("days %+v, agents %+v, departments %+v", r.Days, r.Agents, r.Departments)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "null") || !strings.Contains(s, `"total":{"chats":0,`) || !strings.Contains(s, `"sentiments":{}`) {
		t.Fatalf("quiet report JSON: %s", s)
	}
}

// A time before the conversation's start (a clock set back between two
// processes) is left out of the average rather than pulling it down.
func TestComputeSkipsNegativeDurations(t *testing.T) {
	ann, bob, _ := knownWork()
	bob.FirstAgentAt = bob.CreatedAt.Add(-time.Minute)
	r := Compute(twoDays(), []*engine.Conversation{ann, bob})
	if r.Total.FirstResponseAvg != 60 {
		t.Fatalf("first response %v, want 60 (Ann's alone)", r.Total.FirstResponseAvg)
	}
}

func TestQueryCheck(t *testing.T) {
	day := monday.Truncate(24 * time.Hour)
	for _, tc := range []struct {
		name   string
		q      Query
		wantOK bool
	}{
		{"a day", Query{From: day, To: day.Add(24 * time.Hour)}, true},
		{"a leap year", Query{From: day, To: day.Add(366 * 24 * time.Hour)}, true},
		{"over a year", Query{From: day, To: day.Add(366*24*time.Hour + time.Millisecond)}, false},
		{"empty", Query{From: day, To: day}, false},
		{"backwards", Query{From: day, To: day.Add(-time.Hour)}, false},
		{"no start", Query{To: day}, false},
		{"no end", Query{From: day}, false},
	} {
		err := tc.q.Check()
		if tc.wantOK && err != nil || !tc.wantOK && !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestQueryInScope(t *testing.T) {
	ann, _, ticket := knownWork()
	for _, tc := range []struct {
		q          Query
		ann, ticke bool
	}{
		{Query{}, true, true},
		{Query{Agent: "ann"}, true, false},
		{Query{Agent: "bob"}, false, false},
		{Query{Department: "support"}, true, true},
		{Query{Department: "sales"}, false, false},
		{Query{Agent: "ann", Department: "sales"}, false, false},
	} {
		if got := tc.q.InScope(ann); got != tc.ann {
			t.Errorf("%+v: Ann's chat in scope %v, want %v", tc.q, got, tc.ann)
		}
		if got := tc.q.InScope(ticket); got != tc.ticke {
			t.Errorf("%+v: the ticket in scope %v, want %v", tc.q, got, tc.ticke)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	ann, bob, ticket := knownWork()
	var out strings.Builder
	if err := Compute(twoDays(), []*engine.Conversation{ann, bob, ticket, oneWaySMS()}).WriteCSV(&out); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"scope,key,chats,tickets,closed_by_inactivity,first_response_avg_s,waiting_avg_s,handling_avg_s,positive,neutral,negative,survey_count,survey_avg,one_way_sms",
		"total,,2,1,1,90.0,0.0,690.0,1,0,0,1,5.0,1",
		"day,2026-03-02,2,0,1,90.0,0.0,690.0,1,0,0,1,5.0,1",
		"day,2026-03-03,0,1,0,0.0,0.0,0.0,0,0,0,0,0.0,0",
		"agent,ann,1,0,0,60.0,0.0,660.0,1,0,0,1,5.0,0",
		"agent,bob,1,0,1,120.0,0.0,720.0,0,0,0,0,0.0,0",
		"agent,sue,0,0,0,0.0,0.0,0.0,0,0,0,0,0.0,1",
		"department,support,2,1,1,90.0,0.0,690.0,1,0,0,1,5.0,1",
	}, "\n") + "\n"
	if out.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestExportCSV(t *testing.T) {
	ann, _, ticket := knownWork()
	ann.ContactName = `=HYPERLINK("https://evil.example","Click")`
	var out strings.Builder
	if err := Export(&out, "csv", []*engine.Conversation{ann, ticket}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"id,kind,state,channel,contact,contact_name,department,assignee,created_at,assigned_at,first_agent_at,closed_at,closed_by,reason,sentiment,tag,notes,refs,rating",
		`c-ann,chat,closed,whatsapp,whatsapp:+27820000601,"'=HYPERLINK(""https://evil.example"",""Click"")",support,ann,` +
			"2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,2026-03-02T10:01:00Z,2026-03-02T10:11:00Z,ann,closed by agent,positive,billing,,[INV-7],5",
		// A bare phone number is a number, not a formula, so its + stays;
		// the ticket's unset times and closing are empty cells.
		"c-ticket,ticket,unassigned,sms,+27820000603,,support,,2026-03-03T09:17:00Z,,,,,,,,,,",
	}, "\n") + "\n"
	if out.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestExportJSON(t *testing.T) {
	ann, bob, ticket := knownWork()
	var out strings.Builder
	if err := Export(&out, "json", []*engine.Conversation{ann, bob, ticket}); err != nil {
		t.Fatal(err)
	}
	var back []engine.Conversation
	if err := json.Unmarshal([]byte(out.String()), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 3 || back[0].ID != "c-ann" || back[0].Closed.Tag != "billing" || back[0].Rating.Score != 5 || back[2].Kind != engine.KindTicket {
		t.Fatalf("export read back as %+v", back)
	}
}

func TestExportRefusesOtherFormats(t *testing.T) {
	ann, _, _ := knownWork()
	var out strings.Builder
	if err := Export(&out, "xlsx", []*engine.Conversation{ann}); !errors.Is(err, engine.ErrInvalid) || out.Len() != 0 {
		t.Fatalf("xlsx: %v, wrote %q; want ErrInvalid and nothing", err, out.String())
	}
}

func TestNeutralizeCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+27 82 000", "'+27 82 000"}, {"@SUM(A1)", "'@SUM(A1)"}, {"=1+1", "'=1+1"}, {"\tx", "'\tx"}, {"\rx", "'\rx"},
		{"-1.5", "-1.5"}, {"+3", "+3"}, {"plain", "plain"}, {"a=b", "a=b"}, {"", ""},
	} {
		if got := neutralizeCell(tc.in); got != tc.want {
			t.Errorf("neutralizeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
