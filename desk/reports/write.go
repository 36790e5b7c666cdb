package reports

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

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

// WriteCSV writes the report's numbers, one row per scope: the total,
// then the days, agents and departments.
func (r Report) WriteCSV(w io.Writer) error {
	cw := newCSVWriter(w)
	cw.Write([]string{"scope", "key", "chats", "tickets", "closed_by_inactivity", "first_response_avg_s", "waiting_avg_s",
		"handling_avg_s", "positive", "neutral", "negative", "survey_count", "survey_avg", "one_way_sms"})
	row := func(scope, key string, f *Figures) {
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
		cw.Write([]string{scope, key, strconv.Itoa(f.Chats), strconv.Itoa(f.Tickets), strconv.Itoa(f.ClosedByInactivity),
			num(f.FirstResponseAvg), num(f.WaitingAvg), num(f.HandlingAvg),
			strconv.Itoa(f.Sentiments["positive"]), strconv.Itoa(f.Sentiments["neutral"]), strconv.Itoa(f.Sentiments["negative"]),
			strconv.Itoa(f.SurveyCount), num(f.SurveyAvg), strconv.Itoa(f.OneWaySMS)})
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
	// The rows' errors are the buffer's, which keeps the first: Error
	// reports it after the Flush.
	cw.Flush()
	return cw.Error()
}

// Export writes convs in format: "json" (the conversations as stored) or
// "csv" (one row each, times in RFC 3339 UTC, a step not taken yet an
// empty cell). Any other format is engine.ErrInvalid, and nothing is written.
func Export(w io.Writer, format string, convs []*engine.Conversation) error {
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
