// Package redistest gives each test a real Redis database of its own.
//
// The server is PARLEY_TEST_REDIS (host:port, default 127.0.0.1:6379); the
// test script starts a throwaway one. Databases 1 to 15 are handed out
// through locks in database 0, so test packages running in parallel never
// share one, and each database is flushed before use.
//
// With PARLEY_TEST_REDIS_CLUSTER (host:port,host:port,... of a Redis
// Cluster's masters) tests run on that cluster instead. A cluster has only
// database 0, so each test takes the whole cluster in turn, through a file
// lock that also holds across test processes, and finds it flushed.
//
// With PARLEY_TEST_REDIS_SENTINEL (host:port of a Redis Sentinel watching
// PARLEY_TEST_REDIS as master "parley-test") databases are claimed as
// above, and the clients and URLs find the master through the sentinel.
package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// SentinelMaster is the master name the test sentinel watches.
const SentinelMaster = "parley-test"

// DB is a claimed database.
type DB struct {
	Client redis.UniversalClient
	// URL and Mode are PARLEY_REDIS_URL and PARLEY_REDIS_MODE for a process
	// under test.
	URL  string
	Mode string
	N    int
}

// Env is the environment a process under test needs to use the database.
func (d DB) Env() []string {
	return []string{"PARLEY_REDIS_URL=" + d.URL, "PARLEY_REDIS_MODE=" + d.Mode}
}

// New claims a free database, flushes it, and releases it when t ends.
func New(t testing.TB) DB {
	t.Helper()
	if nodes := os.Getenv("PARLEY_TEST_REDIS_CLUSTER"); nodes != "" {
		return claimCluster(t, strings.Split(nodes, ","))
	}
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
			db := DB{Client: redis.NewClient(&redis.Options{Addr: Addr(), DB: n}), URL: fmt.Sprintf("redis://%s/%d", Addr(), n), Mode: "server", N: n}
			if sentinel := os.Getenv("PARLEY_TEST_REDIS_SENTINEL"); sentinel != "" {
				db.Client.Close()
				db.Client = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: []string{sentinel}, DB: n})
				db.URL, db.Mode = fmt.Sprintf("redis://%s/%d?master_name=%s", sentinel, n, SentinelMaster), "sentinel"
			}
			t.Cleanup(func() { db.Client.Close() })
			if err := db.Client.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("flush test database %d: %v", n, err)
			}
			return db
		}
		if time.Now().After(deadline) {
			t.Fatal("no free test database in 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func claimCluster(t testing.TB, nodes []string) DB {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "parley-test-cluster.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// Released when the test ends, or by the kernel if its process dies.
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodes})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.FlushDB(ctx).Err() })
	if err != nil {
		t.Fatalf("flush the test cluster %v: %v", nodes, err)
	}
	url, sep := "redis://"+nodes[0], "?"
	for _, n := range nodes[1:] {
		url, sep = url+sep+"addr="+n, "&"
	}
	return DB{Client: c, URL: url, Mode: "cluster"}
}

// Keys lists the keys matching pattern, on every master of a cluster.
func Keys(ctx context.Context, c redis.UniversalClient, pattern string) ([]string, error) {
	scan := func(ctx context.Context, n redis.Cmdable) ([]string, error) {
		var out []string
		iter := n.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			out = append(out, iter.Val())
		}
		return out, iter.Err()
	}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return scan(ctx, c)
	}
	var all []string
	var mu sync.Mutex // ForEachMaster runs its function on every master at once
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		keys, err := scan(ctx, m)
		mu.Lock()
		all = append(all, keys...)
		mu.Unlock()
		return err
	})
	return all, err
}
