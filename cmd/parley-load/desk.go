package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// deskWatcher signs in to the desk as one user and holds its live-update
// stream (Server-Sent Events at /api/v1/events), as an agent's browser
// does, reconnecting at once when the stream ends. For each message.in
// event it records how long after the event's own "at" time it arrived.
//
// Parley's events travel over Redis pub/sub, which is shared by every
// database of a Redis server: another Parley on the same server, on another
// database, can show up on this stream. So after the run each conversation
// that had message.in events is looked up (GET /api/v1/conversations/{id});
// only those this Parley knows count in the latency.
type deskWatcher struct {
	client   *http.Client // no overall timeout: the stream is long-lived
	target   *url.URL
	user     string
	password string
	cookie   string
	csrf     string

	events     tally // events received, by type
	lastSeen   atomic.Int64
	reconnects atomic.Int64
	gap        atomic.Int64 // nanoseconds without a stream, between reconnects
	streamErr  atomic.Value // the last error that ended a stream

	mu      sync.Mutex
	convIdx map[string]int32
	convIDs []string
	perConv []convStat
	pairs   []inboundSample // reservoir of message.in latencies
	nPairs  int64
	unknown int64 // message.in events of conversations beyond maxConvs
	early   int64
	rng     *rand.Rand

	cancel  context.CancelFunc
	done    chan struct{}
	verdict map[int32]string // conversation index -> ours, foreign, unverified
}

type convStat struct {
	n   int64
	sum time.Duration
	max time.Duration
}

type inboundSample struct {
	conv int32
	lat  time.Duration
}

// maxConvs bounds the conversations tracked (and looked up after the run).
const maxConvs = 20_000

func newDeskWatcher(client *http.Client, target *url.URL, user, password string) *deskWatcher {
	return &deskWatcher{client: client, target: target, user: user, password: password,
		convIdx: map[string]int32{}, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		done: make(chan struct{})}
}

// signIn posts the credentials to /api/v1/session and keeps the session
// cookie and CSRF token it answers with.
func (d *deskWatcher) signIn(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"user": d.user, "password": d.password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.target.String()+"/api/v1/session", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("desk sign-in: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("desk sign-in as %s: HTTP %d: %s", d.user, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			d.cookie = c.Value
		}
	}
	if d.cookie == "" {
		return errors.New("desk sign-in: no parley_session cookie in the answer")
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal(raw, &me)
	d.csrf = me.CSRF
	return nil
}

// open starts the event stream and returns once Parley has subscribed it
// (its ": connected" comment), so no event of the run is missed. The
// stream is then read, and reopened whenever it ends, until stop.
func (d *deskWatcher) open(ctx context.Context) error {
	streamCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	body, err := d.connect(ctx, streamCtx)
	if err != nil {
		cancel()
		close(d.done)
		return err
	}
	connected := make(chan struct{})
	go d.loop(streamCtx, body, connected)
	select {
	case <-connected:
		return nil
	case <-time.After(10 * time.Second):
		d.stop()
		return errors.New("desk events: no ': connected' within 10s")
	}
}

// connect opens one stream; its body is read until streamCtx ends.
func (d *deskWatcher) connect(ctx, streamCtx context.Context) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(streamCtx, http.MethodGet, d.target.String()+"/api/v1/events", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: d.cookie})
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := d.client.Do(req)
		ch <- result{resp, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, fmt.Errorf("desk events: %w", r.err)
	}
	if r.resp.StatusCode != http.StatusOK || !strings.HasPrefix(r.resp.Header.Get("Content-Type"), "text/event-stream") {
		r.resp.Body.Close()
		return nil, fmt.Errorf("desk events: HTTP %d, Content-Type %q", r.resp.StatusCode, r.resp.Header.Get("Content-Type"))
	}
	return r.resp.Body, nil
}

// loop reads streams until streamCtx ends, reconnecting at once when one
// ends (a browser waits the stream's "retry" first). Everything here runs on
// one goroutine.
func (d *deskWatcher) loop(streamCtx context.Context, body io.ReadCloser, connected chan<- struct{}) {
	defer close(d.done)
	var lost time.Time // when the last stream ended, until the next is subscribed
	defer func() {
		if !lost.IsZero() {
			d.gap.Add(int64(time.Since(lost)))
		}
	}()
	for {
		err := d.read(body, func() {
			if connected != nil {
				close(connected)
				connected = nil
			}
			if !lost.IsZero() {
				d.gap.Add(int64(time.Since(lost)))
				lost = time.Time{}
			}
		})
		body.Close()
		if streamCtx.Err() != nil {
			return
		}
		if err == nil {
			err = io.EOF
		}
		d.streamErr.Store(err)
		d.reconnects.Add(1)
		lost = time.Now()
		for {
			if body, err = d.connect(streamCtx, streamCtx); err == nil {
				break
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-streamCtx.Done():
				return
			}
		}
	}
}

// read parses one stream until it ends: "event:" and "data:" lines, an
// empty line ending each event, and ":" comments. subscribed is called on
// Parley's ": connected" comment.
func (d *deskWatcher) read(body io.Reader, subscribed func()) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var typ string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if typ != "" || data.Len() > 0 {
				d.event(time.Now(), typ, data.String())
			}
			typ = ""
			data.Reset()
		case strings.HasPrefix(line, ":"):
			if strings.TrimSpace(line[1:]) == "connected" {
				subscribed()
			}
		case strings.HasPrefix(line, "event:"):
			typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return sc.Err()
}

// event records one event received at t.
func (d *deskWatcher) event(t time.Time, typ, data string) {
	if typ == "" {
		typ = "message"
	}
	d.events.add(typ)
	d.lastSeen.Store(t.UnixNano())
	if typ != "message.in" {
		return
	}
	var e struct {
		ConversationID string    `json:"conversation_id"`
		At             time.Time `json:"at"`
	}
	if json.Unmarshal([]byte(data), &e) != nil || e.At.IsZero() || e.ConversationID == "" {
		d.events.add("message.in (unreadable)")
		return
	}
	lat := t.Sub(e.At)
	d.mu.Lock()
	defer d.mu.Unlock()
	if lat < 0 { // one clock on loopback; count it rather than hide it
		d.early++
		lat = 0
	}
	idx, ok := d.convIdx[e.ConversationID]
	if !ok {
		if len(d.convIDs) >= maxConvs {
			d.unknown++
			return
		}
		idx = int32(len(d.convIDs))
		d.convIdx[e.ConversationID] = idx
		d.convIDs = append(d.convIDs, e.ConversationID)
		d.perConv = append(d.perConv, convStat{})
	}
	cs := &d.perConv[idx]
	cs.n++
	cs.sum += lat
	cs.max = max(cs.max, lat)
	d.nPairs++
	if len(d.pairs) < maxSamples {
		d.pairs = append(d.pairs, inboundSample{idx, lat})
	} else if j := d.rng.Int64N(d.nPairs); j < maxSamples {
		d.pairs[j] = inboundSample{idx, lat}
	}
}

// stop ends the stream.
func (d *deskWatcher) stop() {
	if d.cancel != nil {
		d.cancel()
	}
	<-d.done
}

// verify looks up every conversation that had message.in events, eight at
// a time: 200 is this Parley's, 404 another's (or one this user may not
// see), anything else unverified.
func (d *deskWatcher) verify(ctx context.Context) {
	d.mu.Lock()
	ids := append([]string(nil), d.convIDs...)
	d.mu.Unlock()
	verdict := make([]string, len(ids))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				verdict[i] = d.lookup(ctx, ids[i])
			}
		})
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	d.mu.Lock()
	d.verdict = make(map[int32]string, len(ids))
	for i, v := range verdict {
		d.verdict[int32(i)] = v
	}
	d.mu.Unlock()
}

func (d *deskWatcher) lookup(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.target.String()+"/api/v1/conversations/"+url.PathEscape(id), nil)
	if err != nil {
		return "unverified"
	}
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: d.cookie})
	resp, err := d.client.Do(req)
	if err != nil {
		return "unverified"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return "ours"
	case http.StatusNotFound:
		return "foreign"
	}
	return "unverified"
}

// signOut ends the session.
func (d *deskWatcher) signOut() {
	if d.cookie == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, d.target.String()+"/api/v1/session", nil)
	if err != nil {
		return
	}
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: d.cookie})
	req.Header.Set("X-CSRF-Token", d.csrf)
	if resp, err := d.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// report summarises the stream. Without verify, every conversation counts
// as unverified and the latency is over all message.in events.
func (d *deskWatcher) report() *Desk {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &Desk{User: d.user, Events: d.events.snapshot(), ClockEarly: d.early,
		Reconnects: d.reconnects.Load(), DisconnectedSeconds: roundTo(time.Duration(d.gap.Load()).Seconds(), 3)}
	if err, ok := d.streamErr.Load().(error); ok {
		r.StreamEnded = err.Error()
	}
	counts := func(i int32) bool { return d.verdict == nil || d.verdict[i] == "ours" }
	var n int64
	var sum, worst time.Duration
	for i, cs := range d.perConv {
		v := "unverified"
		if d.verdict != nil {
			v = d.verdict[int32(i)]
		}
		switch v {
		case "ours":
			r.MessageIn.Ours += cs.n
		case "foreign":
			r.MessageIn.Foreign += cs.n
			r.ForeignConversations++
		default:
			r.MessageIn.Unverified += cs.n
		}
		if counts(int32(i)) {
			n += cs.n
			sum += cs.sum
			worst = max(worst, cs.max)
		}
	}
	r.MessageIn.Unverified += d.unknown
	r.MessageIn.Received = r.MessageIn.Ours + r.MessageIn.Foreign + r.MessageIn.Unverified
	var lats []time.Duration
	for _, p := range d.pairs {
		if counts(p.conv) {
			lats = append(lats, p.lat)
		}
	}
	r.InboundToDesk = summarize(lats, n, sum, worst)
	return r
}
