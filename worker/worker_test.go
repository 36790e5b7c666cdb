package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/worker"
)

// The presence check as jobs, on real Redis and Asynq: ann's last desk closed
// (her check is a scheduled job), bob's desk vanished without closing (only
// the reconciler can find his check). Both desks are set in the past, so both
// checks are already due when the worker starts.
func TestPresenceChecksRunAsJobs(t *testing.T) {
	db := redistest.New(t)
	ctx := context.Background()
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	target, err := config.ParseRedis(db.Mode, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	queue := asynq.NewClientFromRedisClient(db.Client)
	defer queue.Close()
	dispatch := worker.NewDispatcher(queue)
	var skew atomic.Int64 // how far the service's clock is behind
	now := func() time.Time { return time.Now().Add(-time.Duration(skew.Load())) }
	svc := desk.NewService(desk.Options{Store: store.New(db.Client, store.KeyPrefix), Dispatcher: dispatch,
		Rules: &cfg.Engine, Now: now, Log: zerolog.Nop()})
	agents := []config.Agent{{ID: "ann", Name: "Ann", Capacity: 3, Online: true}, {ID: "bob", Name: "Bob", Capacity: 3, Online: true}}
	if err := svc.SeedAgents(ctx, agents); err != nil {
		t.Fatal(err)
	}

	skew.Store(int64(store.DeskLease + store.PresenceGrace + time.Minute))
	for _, step := range []func() error{
		func() error { return svc.DeskOpened(ctx, "ann", "tab") },
		func() error { return svc.DeskClosed(ctx, "ann", "tab") },
		func() error { return svc.DeskOpened(ctx, "bob", "tab") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	skew.Store(0)

	w := worker.New(worker.Deps{Config: cfg.Worker, Redis: target, Service: svc,
		Metrics: worker.NewMetrics(prometheus.NewRegistry()), Log: zerolog.Nop(), Now: now})
	if err := w.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	deadline := time.Now().Add(20 * time.Second)
	for _, id := range []string{"ann", "bob"} {
		for {
			a, err := svc.Store().Agent(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.Presence == engine.Offline {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is still %s: the presence check did not run", id, a.Presence)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
