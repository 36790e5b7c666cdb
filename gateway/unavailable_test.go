package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/desk/store"
	"github.com/parleydesk/parley/desk/users"
)

// redisLink stands between Parley and Redis so that a test can take Redis
// away: cut closes every connection and refuses new ones.
type redisLink struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newRedisLink(t *testing.T, target string) *redisLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &redisLink{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.conns = append(l.conns, c, up)
			l.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(l.cut)
	return l
}

func (l *redisLink) cut() {
	l.ln.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// With Redis out of reach, the desk API answers 503 unavailable, as the
// webhooks do, never 500 with a dial error.
func TestDeskAPIUnavailableWithoutRedis(t *testing.T) {
	db := redistest.New(t)
	if db.Mode != "server" {
		t.Skip("needs a plain Redis server")
	}
	link := newRedisLink(t, redistest.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: link.ln.Addr().String(), DB: db.Client.(*redis.Client).Options().DB,
		MaxRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	svc := desk.NewService(desk.Options{Store: store.New(rdb, store.KeyPrefix), Dispatcher: nopDispatch{},
		Provider: channels.NewSandbox(rdb, store.KeyPrefix), Rules: &cfg.Engine, Now: time.Now, Log: zerolog.Nop()})
	if err := svc.SaveUser(context.Background(), users.Spec{ID: "ann", Name: "Ann", Role: "agent"}, password); err != nil {
		t.Fatal(err)
	}
	app := New(Deps{
		Service: svc, Redis: rdb, Verifier: channels.NewVerifier(testPublic, testToken), AccountSID: testAccount,
		MaxBodyBytes: 64 << 10, Admin: Credentials{User: "ops", Password: "secret"},
		Monitoring: http.NotFoundHandler(), Registry: prometheus.NewRegistry(), Log: zerolog.Nop(), KeyPrefix: store.KeyPrefix,
	})
	ann := deskFixture{app: app, svc: svc}.signIn(t, "ann")
	ann.want("GET", "/api/v1/conversations?tab=live", nil, http.StatusOK, "")

	link.cut()
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/conversations?tab=live"},
		{"GET", "/api/v1/me"},
		{"PUT", "/api/v1/me/presence"},
		{"GET", "/api/v1/counts"},
	} {
		ann.want(r.method, r.path, map[string]string{"presence": "online"}, http.StatusServiceUnavailable, "unavailable")
	}
	stranger := &client{t: t, app: app}
	stranger.want("POST", "/api/v1/session", map[string]string{"user": "ann", "password": password}, http.StatusServiceUnavailable, "unavailable")
}
