package desk

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/desk/store"
)

// hashValueMax is the production Redis setting the README recommends:
// Parley's documents (a few hundred bytes) then stay in Redis's compact
// hash encoding. PARLEY_FOOTPRINT_HASH_VALUE_MAX=64 measures Redis's default.
var hashValueMax = cmp.Or(os.Getenv("PARLEY_FOOTPRINT_HASH_VALUE_MAX"), "2048")

// BenchmarkConversationFootprint measures the Redis memory one open
// conversation with armed timers takes: a live chat holding one short
// customer message, its contact, its indexes and its wake-up entry. It
// starts a redis-server of its own, so nothing else counts in its
// used_memory, and reports bytes per conversation.
//
//	go test -run '^$' -bench ConversationFootprint -benchtime 20000x ./desk/
func BenchmarkConversationFootprint(b *testing.B) {
	rdb := redistest.Server(b, "--hash-max-listpack-value", hashValueMax).Client
	ctx := context.Background()
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	st := store.New(rdb, store.KeyPrefix)
	svc := NewService(Options{Store: st, Dispatcher: &fakeDispatch{}, Provider: &fakeProvider{}, Rules: &cfg.Engine, Now: time.Now, Log: zerolog.Nop()})
	if err := svc.SeedAgents(ctx, []config.Agent{{ID: "ann", Capacity: 1 << 30, Online: true}}); err != nil {
		b.Fatal(err)
	}
	used := func() int64 {
		n, err := redistest.UsedMemory(ctx, rdb)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	before := used()
	b.ResetTimer()
	for i := range b.N {
		_, err := svc.Receive(ctx, inbound(fmt.Sprintf("SM%032d", i), fmt.Sprintf("whatsapp:+2783%07d", i), "hi"))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	open, _ := rdb.ZCard(ctx, store.KeyPrefix+"due").Result()
	if open < int64(b.N) {
		b.Fatalf("%d conversations with armed timers, want %d", open, b.N)
	}
	b.ReportMetric(float64(used()-before)/float64(b.N), "bytes/conv")
}
