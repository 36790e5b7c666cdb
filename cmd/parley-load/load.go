package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loader posts inbound-message webhooks to Parley, as Twilio would when
// customers write, and records what Parley answers.
type loader struct {
	client     *http.Client
	target     *url.URL
	publicURL  string
	authToken  string
	accountSID string
	contacts   []*contact
	sids       sidSource

	rate        float64       // messages per second; 0: as fast as the senders go
	concurrency int           // senders
	duration    time.Duration // stop issuing after this long (> 0)
	count       int64         // stop after this many messages; 0: no limit

	sent     atomic.Int64 // webhooks sent
	answered atomic.Int64 // of those, answered with any HTTP status
	ok       atomic.Int64 // of those, answered 2xx
	latency  *samples     // answered webhooks: send to end of answer
	lag      *samples     // with a rate: how late each send started against its schedule
	byStatus tally        // answered webhooks by HTTP status
	errs     tally        // failures: transport kinds and http_<code> for non-2xx
}

func newLoader() *loader {
	return &loader{sids: newSIDSource(), latency: newSamples(maxSamples), lag: newSamples(maxSamples)}
}

// loadResult is when the load ran and what ended it.
type loadResult struct {
	started, ended time.Time
	// stoppedBy is "count", "duration" or "interrupt".
	stoppedBy string
}

type job struct {
	seq int64
	due time.Time
}

// run sends webhooks until count is reached, duration has passed, or ctx
// ends, whichever comes first. Requests already sent when it stops are
// waited for (each is bounded by the client's timeout), so that nothing is
// counted as failed only because the run ended.
func (l *loader) run(ctx context.Context) loadResult {
	start := time.Now()
	issue, cancel := context.WithTimeout(ctx, l.duration)
	defer cancel()
	work := make(chan job)
	var countReached atomic.Bool
	go l.produce(issue, start, work, &countReached)
	var wg sync.WaitGroup
	for range l.concurrency {
		wg.Go(func() {
			for j := range work {
				if l.rate > 0 {
					l.lag.add(max(time.Since(j.due), 0))
				}
				l.sendOne(j.seq)
			}
		})
	}
	wg.Wait()
	r := loadResult{started: start, ended: time.Now(), stoppedBy: "duration"}
	switch {
	case countReached.Load():
		r.stoppedBy = "count"
	case ctx.Err() != nil:
		r.stoppedBy = "interrupt"
	}
	return r
}

// produce hands out sequence numbers, paced to the rate if one is set,
// until the count is reached or issue ends. It closes work when done.
func (l *loader) produce(issue context.Context, start time.Time, work chan<- job, countReached *atomic.Bool) {
	defer close(work)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for seq := int64(0); l.count == 0 || seq < l.count; seq++ {
		due := time.Now()
		if l.rate > 0 {
			due = start.Add(time.Duration(float64(seq) / l.rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-issue.Done():
					return
				}
			}
		}
		if issue.Err() != nil {
			return
		}
		select {
		case work <- job{seq: seq, due: due}:
		case <-issue.Done():
			return
		}
	}
	countReached.Store(true)
}

// sendOne posts the webhook for message seq and records the answer.
func (l *loader) sendOne(seq int64) answer {
	c := l.contacts[seq%int64(len(l.contacts))]
	params := inboundParams(l.accountSID, c, seq, l.sids.sid(seq))
	req, err := signedPost(context.Background(), l.target, l.publicURL, messagesPath, l.authToken, params)
	if err != nil { // only for a target URL that checkTarget would refuse
		l.errs.add("other")
		return answer{errKind: "other"}
	}
	c.lastSent.Store(time.Now().UnixNano())
	l.sent.Add(1)
	a := do(l.client, req)
	l.record(a)
	return a
}

func (l *loader) record(a answer) {
	if a.errKind != "" {
		l.errs.add(a.errKind)
		return
	}
	l.answered.Add(1)
	l.latency.add(a.took)
	code := strconv.Itoa(a.status)
	l.byStatus.add(code)
	if a.status >= 200 && a.status < 300 {
		l.ok.Add(1)
	} else {
		l.errs.add("http_" + code)
	}
}
