// Package reports computes supervisors' figures over a period's
// conversations and writes them, and the conversations themselves, for
// download. It is given the conversations and never loads them: who may
// see a report and which conversations a period holds are the desk's
// business, so the figures can be checked against a known set of
// conversations without Redis. It uses desk/engine for the model and
// nothing above it.
package reports

import (
	"fmt"
	"sort"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

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
	// OneWaySMS counts the texts sent from the desk with no conversation
	// behind them; they are in no other figure, since they would count as
	// chats answered at once.
	OneWaySMS int `json:"one_way_sms"`

	// The running sums behind the averages, until finish.
	firstResponse, waiting, handling mean
	surveySum                        int
}

// mean averages durations; a negative one (a clock that went back) would
// only skew the figure, so it is left out.
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
	if c.Closed != nil && c.Closed.Reason == engine.ReasonOneWaySMS {
		f.OneWaySMS++
		return
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

// finish turns the sums into averages. The maps are made even for a
// scope with no conversations, so the JSON has {} rather than null.
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
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Total       *Figures  `json:"total"`
	Days        []Scoped  `json:"days"`
	Agents      []Scoped  `json:"agents"`
	Departments []Scoped  `json:"departments"`
}

// Scoped is the figures of one day, agent or department.
type Scoped struct {
	Key string `json:"key"`
	*Figures
}

// Query chooses the conversations: created in [From, To), and
// optionally of one agent or department.
type Query struct {
	From, To   time.Time
	Agent      string
	Department string
}

// maxSpan bounds one report, and so the conversations loaded for it.
const maxSpan = 366 * 24 * time.Hour

// Check refuses a period that is empty, backwards or longer than a year.
// The desk calls it before loading anything.
func (q Query) Check() error {
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) || q.To.Sub(q.From) > maxSpan {
		return fmt.Errorf("%w: a period of up to a year, from before to", engine.ErrInvalid)
	}
	return nil
}

// InScope says whether c is of the query's agent and department (either
// left empty takes all). The period is not checked here: the desk loads
// the conversations by creation time already.
func (q Query) InScope(c *engine.Conversation) bool {
	return (q.Agent == "" || c.Assignee == q.Agent) && (q.Department == "" || c.Department == q.Department)
}

// Compute gives the figures of convs, the conversations q chose. Days are
// UTC days; every day of the period has a row, quiet days included, so a
// chart of them has no gaps. A conversation nobody took counts in its day
// and department but under no agent.
func Compute(q Query, convs []*engine.Conversation) Report {
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
	for d := q.From.UTC().Truncate(24 * time.Hour); d.Before(q.To); d = d.Add(24 * time.Hour) {
		if days[d.Format(time.DateOnly)] == nil {
			days[d.Format(time.DateOnly)] = &Figures{}
		}
	}
	r.Total.finish()
	r.Days, r.Agents, r.Departments = scoped(days), scoped(agents), scoped(depts)
	return r
}

// scoped finishes each scope's figures and sorts them by key, so the
// tables (and the CSV) come out in the same order every time.
func scoped(m map[string]*Figures) []Scoped {
	out := make([]Scoped, 0, len(m))
	for k, f := range m {
		f.finish()
		out = append(out, Scoped{Key: k, Figures: f})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
