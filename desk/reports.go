package desk

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"
)

// Reports: figures over the conversations created in a period, for
// supervisors. They are computed from the conversations themselves, so
// they can be checked against a known set of them.

// Figures are the numbers for one scope (everything, a day, an agent, a
// department).
type Figures struct {
	Chats   int `json:"chats"`
	Tickets int `json:"tickets"`
	// ClosedByInactivity counts chats the system closed for inactivity.
	ClosedByInactivity int `json:"closed_by_inactivity"`
	// FirstResponseAvg is the mean time, in seconds, from a conversation's
	// start to its first agent reply.
	FirstResponseAvg float64 `json:"first_response_avg_s"`
	// WaitingAvg is the mean time from a chat's start to an agent taking it.
	WaitingAvg float64 `json:"waiting_avg_s"`
	// HandlingAvg is the mean time from an agent taking a chat to its close.
	HandlingAvg float64        `json:"handling_avg_s"`
	Sentiments  map[string]int `json:"sentiments"`
	Tags        map[string]int `json:"tags"`
	SurveyCount int            `json:"survey_count"`
	SurveyAvg   float64        `json:"survey_avg"`

	firstResponse, waiting, handling mean
	surveySum                        int
}

type mean struct {
	sum time.Duration
	n   int
}

func (m *mean) add(d time.Duration) {
	if d >= 0 {
		m.sum += d
		m.n++
	}
}

func (m mean) seconds() float64 {
	if m.n == 0 {
		return 0
	}
	return (m.sum / time.Duration(m.n)).Seconds()
}

func (f *Figures) add(c *engine.Conversation) {
	if f.Sentiments == nil {
		f.Sentiments, f.Tags = map[string]int{}, map[string]int{}
	}
	if c.Kind == engine.KindChat {
		f.Chats++
		if !c.AssignedAt.IsZero() {
			f.waiting.add(c.AssignedAt.Sub(c.CreatedAt))
		}
	} else {
		f.Tickets++
	}
	if !c.FirstAgentAt.IsZero() {
		f.firstResponse.add(c.FirstAgentAt.Sub(c.CreatedAt))
	}
	if cl := c.Closed; cl != nil {
		if cl.Reason == engine.ReasonInactivity {
			f.ClosedByInactivity++
		}
		if c.Kind == engine.KindChat && !c.AssignedAt.IsZero() {
			f.handling.add(cl.At.Sub(c.AssignedAt))
		}
		if cl.Sentiment != "" {
			f.Sentiments[cl.Sentiment]++
		}
		if cl.Tag != "" {
			f.Tags[cl.Tag]++
		}
	}
	if c.Rating != nil {
		f.SurveyCount++
		f.surveySum += c.Rating.Score
	}
}

func (f *Figures) finish() {
	if f.Sentiments == nil {
		f.Sentiments, f.Tags = map[string]int{}, map[string]int{}
	}
	f.FirstResponseAvg, f.WaitingAvg, f.HandlingAvg = f.firstResponse.seconds(), f.waiting.seconds(), f.handling.seconds()
	if f.SurveyCount > 0 {
		f.SurveyAvg = float64(f.surveySum) / float64(f.SurveyCount)
	}
}

// Report is the figures of a period, in total and per day, agent and
// department.
type Report struct {
	From        time.Time           `json:"from"`
	To          time.Time           `json:"to"`
	Total       *Figures            `json:"total"`
	Days        []Scoped            `json:"days"`
	Agents      []Scoped            `json:"agents"`
	Departments []Scoped            `json:"departments"`
	byDay       map[string]*Figures // while counting
}

// Scoped is the figures of one day, agent or department.
type Scoped struct {
	Key string `json:"key"`
	*Figures
}

// ReportQuery chooses the conversations: created in [From, To), and
// optionally of one agent or department.
type ReportQuery struct {
	From, To   time.Time
	Agent      string
	Department string
}

// maxReportSpan bounds one report.
const maxReportSpan = 366 * 24 * time.Hour

func (q ReportQuery) check() error {
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) || q.To.Sub(q.From) > maxReportSpan {
		return fmt.Errorf("%w: a period of up to a year, from before to", engine.ErrInvalid)
	}
	return nil
}

// periodConversations loads the conversations created in the period.
func (s *Service) periodConversations(ctx context.Context, a engine.Actor, q ReportQuery) ([]*engine.Conversation, error) {
	if !a.Supervises() {
		return nil, fmt.Errorf("%w: reports are for supervisors", engine.ErrNotAllowed)
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	ids, err := s.store.rdb.ZRangeByScore(ctx, s.store.keys.index("created"), &redis.ZRangeBy{
		Min: strconv.FormatInt(q.From.UnixMilli(), 10), Max: "(" + strconv.FormatInt(q.To.UnixMilli(), 10),
	}).Result()
	if err != nil {
		return nil, err
	}
	convs, err := s.store.conversations(ctx, ids)
	if err != nil {
		return nil, err
	}
	kept := convs[:0]
	for _, c := range convs {
		if (q.Agent == "" || c.Assignee == q.Agent) && (q.Department == "" || c.Department == q.Department) {
			kept = append(kept, c)
		}
	}
	return kept, nil
}

// Report computes a period's figures.
func (s *Service) Report(ctx context.Context, a engine.Actor, q ReportQuery) (Report, error) {
	convs, err := s.periodConversations(ctx, a, q)
	if err != nil {
		return Report{}, err
	}
	r := Report{From: q.From, To: q.To, Total: &Figures{}}
	days, agents, depts := map[string]*Figures{}, map[string]*Figures{}, map[string]*Figures{}
	into := func(m map[string]*Figures, key string, c *engine.Conversation) {
		if m[key] == nil {
			m[key] = &Figures{}
		}
		m[key].add(c)
	}
	for _, c := range convs {
		r.Total.add(c)
		into(days, c.CreatedAt.UTC().Format(time.DateOnly), c)
		if c.Assignee != "" {
			into(agents, c.Assignee, c)
		}
		into(depts, c.Department, c)
	}
	// Every day of the period has a row, quiet days included.
	for d := q.From.UTC().Truncate(24 * time.Hour); d.Before(q.To); d = d.Add(24 * time.Hour) {
		if days[d.Format(time.DateOnly)] == nil {
			days[d.Format(time.DateOnly)] = &Figures{}
		}
	}
	r.Total.finish()
	r.Days, r.Agents, r.Departments = scoped(days), scoped(agents), scoped(depts)
	return r, nil
}

func scoped(m map[string]*Figures) []Scoped {
	out := make([]Scoped, 0, len(m))
	for k, f := range m {
		f.finish()
		out = append(out, Scoped{Key: k, Figures: f})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// csvWriter writes rows whose cells a spreadsheet will not run: a cell
// that begins with = + - @, a tab or a carriage return is a formula to
// Excel and its kin (a customer's ProfileName of "=HYPERLINK(...)"), so it
// gets a leading apostrophe, unless it is a plain number.
type csvWriter struct{ *csv.Writer }

func newCSVWriter(w io.Writer) csvWriter { return csvWriter{csv.NewWriter(w)} }

func (cw csvWriter) Write(cells []string) error {
	safe := make([]string, len(cells))
	for i, c := range cells {
		safe[i] = neutralizeCell(c)
	}
	return cw.Writer.Write(safe)
}

func neutralizeCell(c string) string {
	if c == "" || !strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return c
	}
	if _, err := strconv.ParseFloat(c, 64); err == nil {
		return c
	}
	return "'" + c
}

// WriteCSV writes the report's numbers, one row per scope.
func (r Report) WriteCSV(w io.Writer) error {
	cw := newCSVWriter(w)
	cw.Write([]string{"scope", "key", "chats", "tickets", "closed_by_inactivity", "first_response_avg_s", "waiting_avg_s",
		"handling_avg_s", "positive", "neutral", "negative", "survey_count", "survey_avg"})
	row := func(scope, key string, f *Figures) {
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
		cw.Write([]string{scope, key, strconv.Itoa(f.Chats), strconv.Itoa(f.Tickets), strconv.Itoa(f.ClosedByInactivity),
			num(f.FirstResponseAvg), num(f.WaitingAvg), num(f.HandlingAvg),
			strconv.Itoa(f.Sentiments["positive"]), strconv.Itoa(f.Sentiments["neutral"]), strconv.Itoa(f.Sentiments["negative"]),
			strconv.Itoa(f.SurveyCount), num(f.SurveyAvg)})
	}
	row("total", "", r.Total)
	for _, group := range []struct {
		scope string
		rows  []Scoped
	}{{"day", r.Days}, {"agent", r.Agents}, {"department", r.Departments}} {
		for _, s := range group.rows {
			row(group.scope, s.Key, s.Figures)
		}
	}
	cw.Flush()
	return cw.Error()
}

// ExportConversations writes the period's conversations as CSV or JSON.
func (s *Service) ExportConversations(ctx context.Context, a engine.Actor, q ReportQuery, format string, w io.Writer) error {
	convs, err := s.periodConversations(ctx, a, q)
	if err != nil {
		return err
	}
	switch format {
	case "json":
		return json.NewEncoder(w).Encode(convs)
	case "csv":
	default:
		return fmt.Errorf("%w: format is csv or json", engine.ErrInvalid)
	}
	cw := newCSVWriter(w)
	cw.Write([]string{"id", "kind", "state", "channel", "contact", "contact_name", "department", "assignee", "created_at",
		"assigned_at", "first_agent_at", "closed_at", "closed_by", "reason", "sentiment", "tag", "notes", "refs", "rating"})
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, c := range convs {
		var closedAt time.Time
		var by, reason, sentiment, tag, notes, refs, rating string
		if cl := c.Closed; cl != nil {
			closedAt, by, reason, sentiment, tag, notes = cl.At, cl.By, cl.Reason, cl.Sentiment, cl.Tag, cl.Notes
			refs = fmt.Sprint(cl.Refs)
		}
		if c.Rating != nil {
			rating = strconv.Itoa(c.Rating.Score)
		}
		cw.Write([]string{c.ID, string(c.Kind), string(c.State), string(c.Channel), string(c.Contact), c.ContactName,
			c.Department, c.Assignee, at(c.CreatedAt), at(c.AssignedAt), at(c.FirstAgentAt), at(closedAt), by, reason,
			sentiment, tag, notes, refs, rating})
	}
	cw.Flush()
	return cw.Error()
}
