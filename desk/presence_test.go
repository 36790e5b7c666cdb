package desk

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

// The presence check on a real Redis: an agent whose desks are all gone is
// set offline once the grace has passed, whether the last desk closed cleanly
// or simply stopped renewing its lease (a gateway that died).
func TestPresenceFollowsOpenDesks(t *testing.T) {
	ctx := context.Background()
	presence := func(t *testing.T, f fixture, id string) engine.Presence {
		t.Helper()
		a, err := f.store.Agent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a.Presence
	}
	check := func(t *testing.T, f fixture, id string, want engine.Presence) {
		t.Helper()
		if err := f.svc.CheckPresence(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got := presence(t, f, id); got != want {
			t.Fatalf("after the check at %s: presence %s, want %s", f.clock.Now().Format("15:04:05"), got, want)
		}
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("last desk closed", func(t *testing.T) {
		f := newFixture(t)
		seed(t, f, online("ann", 3))
		must(t, f.svc.DeskOpened(ctx, "ann", "tab1"))
		must(t, f.svc.DeskOpened(ctx, "ann", "tab2"))
		must(t, f.svc.DeskClosed(ctx, "ann", "tab1"))
		if len(f.dispatch.presence) != 0 {
			t.Fatalf("a desk is still open, yet a check was scheduled: %v", f.dispatch.presence)
		}
		must(t, f.svc.DeskClosed(ctx, "ann", "tab2"))
		if want := []string{"ann@10:01:00"}; !slices.Equal(f.dispatch.presence, want) {
			t.Fatalf("checks scheduled %v, want %v", f.dispatch.presence, want)
		}
		f.clock.Add(store.PresenceGrace - time.Second)
		check(t, f, "ann", engine.Online) // an early check changes nothing
		f.clock.Add(time.Second)
		check(t, f, "ann", engine.Offline)
		if due, _ := f.store.Due(ctx, f.clock.Now().Add(time.Hour), 10); slices.Contains(due, store.PresenceWake("ann")) {
			t.Errorf("the check left its due entry behind: %v", due)
		}
	})

	t.Run("desk back within the grace", func(t *testing.T) {
		f := newFixture(t)
		seed(t, f, online("ann", 3))
		must(t, f.svc.DeskOpened(ctx, "ann", "tab1"))
		must(t, f.svc.DeskClosed(ctx, "ann", "tab1"))
		f.clock.Add(10 * time.Second)
		must(t, f.svc.DeskOpened(ctx, "ann", "tab1-reloaded"))
		f.clock.Add(store.PresenceGrace)
		check(t, f, "ann", engine.Online)
	})

	t.Run("desk vanished without closing", func(t *testing.T) {
		f := newFixture(t)
		seed(t, f, online("ann", 3))
		must(t, f.svc.DeskOpened(ctx, "ann", "tab1"))
		f.clock.Add(store.DeskLease - time.Second)
		must(t, f.svc.DeskOpened(ctx, "ann", "tab1")) // a renewal: the lease now ends later
		f.clock.Add(store.DeskLease + store.PresenceGrace - time.Second)
		// No job was scheduled (nothing closed): the reconciler finds the
		// check in the due set once the lease and the grace have passed.
		if due, _ := f.store.Due(ctx, f.clock.Now(), 10); slices.Contains(due, store.PresenceWake("ann")) {
			t.Fatalf("check due before the renewed lease and grace ended: %v", due)
		}
		check(t, f, "ann", engine.Online)
		f.clock.Add(time.Second)
		if due, _ := f.store.Due(ctx, f.clock.Now(), 10); !slices.Contains(due, store.PresenceWake("ann")) {
			t.Fatalf("check not due after the lease and the grace: %v", due)
		}
		check(t, f, "ann", engine.Offline)
	})

	t.Run("online without a desk", func(t *testing.T) {
		// Agents put online by configuration or `parley agent` never had a
		// desk: nothing sets them offline.
		f := newFixture(t)
		seed(t, f, online("ann", 3))
		f.clock.Add(24 * time.Hour)
		check(t, f, "ann", engine.Online)
	})
}
