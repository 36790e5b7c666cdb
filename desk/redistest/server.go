package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server starts a redis-server of its own on a free loopback port, for a
// measurement that must have Redis to itself (its used_memory, or a load
// that would flood the shared test server), and stops it when tb ends. It
// keeps nothing on disk; args are extra redis-server options. tb is skipped
// where redis-server is not installed.
func Server(tb testing.TB, args ...string) DB {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Skip("redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	base := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tb.TempDir()}
	srv := exec.Command("redis-server", append(base, args...)...)
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	tb.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); rdb.Ping(ctx).Err() != nil; {
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server on port %d did not answer in 10 s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return DB{Client: rdb, URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Mode: "server"}
}

// UsedMemory is the server's used_memory (INFO memory), in bytes.
func UsedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}
