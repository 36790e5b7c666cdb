// Package redistest gives each test a real Redis database of its own.
//
// The server is PARLEY_TEST_REDIS (host:port, default 127.0.0.1:6379); the
// test script starts a throwaway one. Databases 1 to 15 are handed out
// through locks in database 0, so test packages running in parallel never
// share one, and each database is flushed before use.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the test Redis server's address.
func Addr() string {
	if a := os.Getenv("PARLEY_TEST_REDIS"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// DB is a claimed database.
type DB struct {
	Client *redis.Client
	// URL is redis://host:port/N, for a process under test.
	URL string
	N   int
}

// New claims a free database, flushes it, and releases it when t ends.
func New(t testing.TB) DB {
	t.Helper()
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: Addr(), DB: 0})
	t.Cleanup(func() { admin.Close() })
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("no Redis at %s (set PARLEY_TEST_REDIS, or run the README's test command, which starts one): %v", Addr(), err)
	}
	owner := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for n := 1; n <= 15; n++ {
			lock := "parley-test-lock:" + strconv.Itoa(n)
			ok, err := admin.SetNX(ctx, lock, owner, 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("claim test database: %v", err)
			}
			if !ok {
				continue
			}
			t.Cleanup(func() { admin.Del(context.Background(), lock) })
			c := redis.NewClient(&redis.Options{Addr: Addr(), DB: n})
			t.Cleanup(func() { c.Close() })
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("flush test database %d: %v", n, err)
			}
			return DB{Client: c, URL: fmt.Sprintf("redis://%s/%d", Addr(), n), N: n}
		}
		if time.Now().After(deadline) {
			t.Fatal("no free test database in 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
