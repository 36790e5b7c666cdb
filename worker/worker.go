package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
)

// Worker runs the Asynq server (the job handlers) and the scheduler (the
// periodic reconciler).
type Worker struct {
	server    *asynq.Server
	scheduler *asynq.Scheduler
	mux       *asynq.ServeMux
	log       zerolog.Logger
	// templatesSync is how often templates are synced; 0 is never.
	templatesSync time.Duration
}

// Deps is what the worker needs.
type Deps struct {
	Config config.Worker
	// Redis is the connection Asynq's server and scheduler open for
	// themselves (they close what they own on shutdown).
	Redis   asynq.RedisConnOpt
	Service *desk.Service
	Metrics *Metrics
	Log     zerolog.Logger
	Now     func() time.Time
}

// New builds a worker; Run starts it.
func New(d Deps) *Worker {
	base := d.Config.SendRetryBase
	server := asynq.NewServer(d.Redis, asynq.Config{
		Concurrency: d.Config.Concurrency,
		Queues:      map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1},
		// How often scheduled jobs that have come due move to their queue.
		// A wake-up already runs up to a second after its deadline (Asynq
		// keeps whole seconds; NewWakeTask rounds up), and a 1s check added
		// up to another second on top (BENCHMARKS.md, "Timers at scale").
		// The check is one small script per queue.
		DelayedTaskCheckInterval: 200 * time.Millisecond,
		// An idle worker looks for new jobs this often: a reply waits at
		// most this long before its send starts (Asynq's default is 1s).
		TaskCheckInterval: 100 * time.Millisecond,
		RetryDelayFunc: func(n int, _ error, _ *asynq.Task) time.Duration {
			return wholeSecond(time.Now(), desk.Backoff(base, n))
		},
		// A permanent failure is already recorded on the message; it is not
		// an error of the job system.
		IsFailure: func(err error) bool { return !errors.Is(err, asynq.SkipRetry) },
		Logger:    asynqLogger{d.Log},
		LogLevel:  asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	mux.Use(observe(d.Log, d.Metrics))
	mux.Handle(TypeSend, handleSend(d.Service))
	mux.Handle(TypeWake, handleWake(d.Service))
	mux.Handle(TypeBotEvent, handleBot(d.Service))
	mux.Handle(TypePresence, handlePresence(d.Service))
	mux.Handle(TypeMediaFetch, handleMediaFetch(d.Service))
	mux.Handle(TypeReconcile, handleReconcile(d.Service, d.Now, d.Log))
	mux.Handle(TypeTemplatesSync, handleTemplatesSync(d.Service, d.Log))

	scheduler := asynq.NewScheduler(d.Redis, &asynq.SchedulerOpts{Logger: asynqLogger{d.Log}, LogLevel: asynq.WarnLevel})
	every := d.Config.TemplatesSync
	if !d.Service.CanSyncTemplates() {
		every = 0 // sandbox mode: nothing to sync from
	}
	return &Worker{server: server, scheduler: scheduler, mux: mux, log: d.Log, templatesSync: every}
}

// wholeSecond lengthens a retry delay d from now so that it ends on a
// whole second. Asynq keeps a retry time in whole seconds (truncated) and
// retries once that second has begun: a send refused at 10.5 s with a retry
// due at 10.7 s could be retried at once, before its back-off (seen: 130 ms
// after a 429, with a 200 ms base). As for wake-ups (NewWakeTask), the time
// is rounded up instead, so a retry never comes early.
func wholeSecond(now time.Time, d time.Duration) time.Duration {
	return roundUp(now.Add(d)).Sub(now)
}

// Run starts processing and returns once the server and scheduler run.
func (w *Worker) Run(reconcileEvery time.Duration) error {
	// Unique keeps several worker processes from each enqueuing the sweep.
	spec := fmt.Sprintf("@every %s", reconcileEvery)
	if _, err := w.scheduler.Register(spec, NewReconcileTask(), asynq.Unique(reconcileEvery)); err != nil {
		return fmt.Errorf("register reconciler: %w", err)
	}
	if w.templatesSync > 0 {
		spec := fmt.Sprintf("@every %s", w.templatesSync)
		if _, err := w.scheduler.Register(spec, NewTemplatesSyncTask(), asynq.Unique(w.templatesSync)); err != nil {
			return fmt.Errorf("register templates sync: %w", err)
		}
	}
	if err := w.server.Start(w.mux); err != nil {
		return fmt.Errorf("start asynq server: %w", err)
	}
	if err := w.scheduler.Start(); err != nil {
		w.server.Shutdown()
		return fmt.Errorf("start asynq scheduler: %w", err)
	}
	return nil
}

// Close stops taking jobs, waits for the running ones, and stops the scheduler.
func (w *Worker) Close() {
	w.scheduler.Shutdown()
	w.server.Shutdown()
}

// observe logs one line per job and records its duration.
func observe(log zerolog.Logger, m *Metrics) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := time.Now()
			err := next.ProcessTask(ctx, t)
			elapsed := time.Since(start)
			outcome := "ok"
			switch {
			case errors.Is(err, asynq.SkipRetry):
				outcome = "failed"
			case err != nil:
				outcome = "retry"
			}
			m.observe(t.Type(), outcome, elapsed)
			id, _ := asynq.GetTaskID(ctx)
			ev := log.Info()
			if err != nil {
				ev = log.Warn().Err(err)
			}
			ev.Str("job", t.Type()).Str("id", id).Str("outcome", outcome).Dur("took", elapsed).Msg("job")
			return err
		})
	}
}

// Metrics are the worker's Prometheus series.
type Metrics struct {
	jobs  *prometheus.HistogramVec
	sends *prometheus.CounterVec
}

// NewMetrics registers the worker's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_job_duration_seconds", Help: "Time taken by each job, by type and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"type", "outcome"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_sends_total", Help: "Outbound send attempts by outcome (ok, retry, failed).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.jobs, m.sends)
	return m
}

func (m *Metrics) observe(typ, outcome string, took time.Duration) {
	m.jobs.WithLabelValues(typ, outcome).Observe(took.Seconds())
	if typ == TypeSend {
		m.sends.WithLabelValues(outcome).Inc()
	}
}

// asynqLogger routes Asynq's own log lines into zerolog.
type asynqLogger struct{ log zerolog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug().Msg(fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info().Msg(fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn().Msg(fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error().Msg(fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.log.Fatal().Msg(fmt.Sprint(args...)) }
