package worker

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/redistest"
)

// timerRig is Parley's timer path as it runs in production: the desk
// service with an Asynq dispatcher, and the worker (Asynq server, scheduler
// and reconciler) on the same Redis. Every new chat is routed to one of a
// few online agents and left unanswered, so its inactivity deadline turns
// it into a ticket: one rule, run once per conversation.
type timerRig struct {
	svc        *desk.Service
	inactivity time.Duration
}

func newTimerRig(tb testing.TB, db redistest.DB, inactivity time.Duration, concurrency int) *timerRig {
	tb.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.Worker.Concurrency = concurrency
	cfg.Engine.Timeouts.Inactivity = inactivity
	// Later than inactivity, so that the chats are not re-routed first.
	cfg.Engine.Timeouts.AgentResponse = time.Hour
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	target, err := config.ParseRedis(db.Mode, db.URL)
	if err != nil {
		tb.Fatal(err)
	}
	queue := asynq.NewClientFromRedisClient(db.Client)
	dispatch := NewDispatcher(queue)
	svc := desk.NewService(desk.Options{Store: store.New(db.Client, store.KeyPrefix), Dispatcher: dispatch,
		Provider: noSends{tb}, Rules: &cfg.Engine, Now: time.Now, Log: zerolog.Nop()})
	// A handful of agents: routing reads the department's agents on every
	// message, and they share the chats' commits.
	var agents []config.Agent
	for i := range 20 {
		agents = append(agents, config.Agent{ID: fmt.Sprintf("agent%02d", i), Capacity: 1 << 30, Online: true})
	}
	if err := svc.SeedAgents(ctx, agents); err != nil {
		tb.Fatal(err)
	}
	w := New(Deps{Config: cfg.Worker, Redis: target,
		Service: svc, Metrics: NewMetrics(prometheus.NewRegistry()), Log: zerolog.Nop(), Now: time.Now})
	if err := w.Run(cfg.Worker.ReconcileEvery); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Close)
	return &timerRig{svc: svc, inactivity: inactivity}
}

// noSends fails the run if anything is sent: a chat turned into a ticket by
// its inactivity timer sends nothing, and the measurement must not include
// sends.
type noSends struct{ tb testing.TB }

func (p noSends) Send(context.Context, channels.Outbound) (channels.Receipt, error) {
	p.tb.Error("unexpected send")
	return channels.Receipt{}, fmt.Errorf("no sends here: %w", asynq.SkipRetry)
}

// open receives the first message of n new customers through the webhook's
// path (Service.Receive), from senders goroutines, paced evenly over
// window so that the deadlines are spread over it too. It returns the
// conversation ids, by customer.
func (r *timerRig) open(ctx context.Context, n, senders int, window time.Duration) ([]string, error) {
	ids := make([]string, n)
	errs := make(chan error, senders)
	start := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < n; i += senders {
				time.Sleep(time.Until(start.Add(window * time.Duration(i) / time.Duration(n))))
				from, err := channels.ParseAddress(fmt.Sprintf("whatsapp:+2783%07d", i))
				if err != nil {
					errs <- err
					return
				}
				in := channels.Inbound{MessageSID: fmt.Sprintf("SM%032d", i), AccountSID: "AC1", From: from, Body: "hi", ProfileName: "Customer"}
				res, err := r.svc.Receive(ctx, in)
				if err != nil {
					errs <- fmt.Errorf("customer %d: %w", i, err)
					return
				}
				ids[i] = res.ConversationID
			}
		}()
	}
	wg.Wait()
	close(errs)
	return ids, <-errs
}

// waitFired waits until no deadline up to last is left in the due set, or
// for at most limit. It reports whether they all went.
func (r *timerRig) waitFired(ctx context.Context, last time.Time, limit time.Duration) (bool, error) {
	for end := time.Now().Add(limit); ; {
		due, err := r.svc.Store().Due(ctx, last, 1)
		if err != nil || len(due) == 0 {
			return err == nil, err
		}
		if time.Now().After(end) {
			return false, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// firing is what became of one conversation's inactivity deadline.
type firing struct {
	conv     *engine.Conversation
	deadline time.Time
	// late is the time the rule ran (the engine's clock, recorded as the
	// ticket's update time) minus the deadline; meaningful once fired.
	late  time.Duration
	fired bool
}

// firings reads every conversation back, from a few goroutines.
func (r *timerRig) firings(ctx context.Context, ids []string) ([]firing, error) {
	out := make([]firing, len(ids))
	const readers = 8
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for k := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(ids); i += readers {
				c, err := r.svc.Store().Conversation(ctx, ids[i])
				if err != nil {
					errs <- err
					return
				}
				// The chat's deadline was armed when it was created.
				f := firing{conv: c, deadline: c.CreatedAt.Add(r.inactivity), fired: c.Kind == engine.KindTicket}
				f.late = c.UpdatedAt.Sub(f.deadline)
				out[i] = f
			}
		}()
	}
	wg.Wait()
	close(errs)
	return out, <-errs
}

// TestTimersFireOnce runs a few dozen inactivity timers through the real
// worker and checks that each one took effect exactly once, never before
// its deadline. How late they are is the benchmark's business.
func TestTimersFireOnce(t *testing.T) {
	db := redistest.New(t)
	ctx := context.Background()
	r := newTimerRig(t, db, time.Second, config.Default().Worker.Concurrency)
	const n = 40
	ids, err := r.open(ctx, n, 4, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]int{}
	for _, id := range ids {
		c, err := r.svc.Store().Conversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.State != engine.StateLive || c.Deadlines[engine.TimerInactivity].IsZero() {
			t.Fatalf("conversation %s: state %s, deadlines %v; want a live chat with an inactivity deadline", id, c.State, c.Deadlines)
		}
		hist, err := r.svc.Store().History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		notes[id] = len(hist)
	}
	ok, err := r.waitFired(ctx, time.Now().Add(r.inactivity), 30*time.Second)
	if err != nil || !ok {
		t.Fatalf("deadlines still due after 30 s (err %v)", err)
	}
	fs, err := r.firings(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		if !f.fired || f.conv.State != engine.StateUnassigned {
			t.Errorf("conversation %s: %s %s, want an unassigned ticket", ids[i], f.conv.Kind, f.conv.State)
		}
		if f.late < 0 {
			t.Errorf("conversation %s: the rule ran %v before its deadline", ids[i], -f.late)
		}
		hist, err := r.svc.Store().History(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		// The conversion adds one system note, once.
		if got := len(hist) - notes[ids[i]]; got != 1 {
			t.Errorf("conversation %s: %d messages added by its timer, want 1", ids[i], got)
		}
	}
	agents, err := r.svc.Store().Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if a.Load != 0 {
			t.Errorf("agent %s holds %d chats after every chat became a ticket, want 0", a.ID, a.Load)
		}
	}
}

// BenchmarkTimersAtScale opens PARLEY_TIMERS_N live chats (default
// 100,000) through the webhook's path from PARLEY_TIMERS_SENDERS
// goroutines (8), paced over PARLEY_TIMERS_WINDOW_S seconds (60), each with
// its inactivity deadline armed 20 s more than the window after it opened,
// and lets the real worker (PARLEY_WORKER_CONCURRENCY handlers, 20) fire
// them all on a redis-server of its own (with the README's recommended
// hash-max-listpack-value 2048). It reports how late the deadlines took
// effect (p50, p99, max, in ms), how many fired, and the growth of Redis's
// used_memory per open conversation before the first deadline (message
// bodies are "hi"). One run takes about twice the window plus half a
// minute; it ignores b.N:
//
//	go test -run '^$' -bench TimersAtScale -benchtime 1x -timeout 30m ./worker/
func BenchmarkTimersAtScale(b *testing.B) {
	n := envInt(b, "PARLEY_TIMERS_N", 100_000)
	window := time.Duration(envInt(b, "PARLEY_TIMERS_WINDOW_S", 60)) * time.Second
	senders := envInt(b, "PARLEY_TIMERS_SENDERS", 8)
	db := redistest.Server(b, "--hash-max-listpack-value", "2048")
	rdb := db.Client
	ctx := context.Background()
	workers := envInt(b, "PARLEY_WORKER_CONCURRENCY", config.Default().Worker.Concurrency)
	r := newTimerRig(b, db, window+20*time.Second, workers)
	before, err := redistest.UsedMemory(ctx, rdb)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("load average at start: %s", loadAverage())
	start := time.Now()
	ids, err := r.open(ctx, n, senders, window)
	if err != nil {
		b.Fatal(err)
	}
	opened := time.Since(start)
	after, err := redistest.UsedMemory(ctx, rdb)
	if err != nil {
		b.Fatal(err)
	}
	armed, err := r.svc.Store().Due(ctx, time.Now().Add(24*time.Hour), int64(n)+1)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("opened %d chats in %v (%d with a deadline due within a day), load average %s", n, opened.Round(time.Millisecond), len(armed), loadAverage())
	last := start.Add(opened + r.inactivity)
	ok, err := r.waitFired(ctx, last, time.Until(last)+time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	if !ok {
		b.Log("deadlines were still due a minute after the last one")
	}
	b.Logf("load average after firing: %s", loadAverage())
	fs, err := r.firings(ctx, ids)
	if err != nil {
		b.Fatal(err)
	}
	var late []time.Duration
	for _, f := range fs {
		if f.fired {
			late = append(late, f.late)
		}
	}
	slices.Sort(late)
	b.ReportMetric(float64(after-before)/float64(n), "bytes/conv")
	b.ReportMetric(float64(len(late)), "fired")
	b.ReportMetric(float64(n-len(late)), "unfired")
	if len(late) > 0 {
		// Nearest rank, as parley-load reports.
		ms := func(p float64) float64 {
			i := int(math.Ceil(p*float64(len(late)))) - 1
			return float64(late[max(i, 0)].Microseconds()) / 1000
		}
		b.ReportMetric(ms(0.5), "p50-late-ms")
		b.ReportMetric(ms(0.99), "p99-late-ms")
		b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "max-late-ms")
		b.ReportMetric(float64(late[0].Microseconds())/1000, "min-late-ms")
	}
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, for the
// log: other work on the machine moves the figures.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
