package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/desk/sessions"
	"github.com/parleydesk/parley/desk/store"
)

// streamGateway is a gateway listening on loopback with a running hub, for
// tests of real event streams.
type streamGateway struct {
	base string
	svc  *desk.Service
	db   redistest.DB
	hub  *Hub
}

func newStreamGateway(t *testing.T, agents []config.Agent) streamGateway {
	t.Helper()
	db := redistest.New(t)
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := store.New(db.Client, store.KeyPrefix)
	svc := desk.NewService(desk.Options{Store: st, Dispatcher: nopDispatch{}, Provider: channels.NewSandbox(db.Client, store.KeyPrefix),
		Rules: &cfg.Engine, Now: time.Now, Log: zerolog.Nop()})
	if err := svc.SeedAgents(context.Background(), agents); err != nil {
		t.Fatal(err)
	}
	hub := NewHub(db.Client, st.Events())
	go hub.Run(context.Background())
	app := New(Deps{Service: svc, Redis: db.Client, Verifier: channels.NewVerifier(testPublic, testToken), AccountSID: testAccount,
		MaxBodyBytes: 64 << 10, Monitoring: http.NotFoundHandler(), Registry: prometheus.NewRegistry(), Log: zerolog.Nop(),
		KeyPrefix: store.KeyPrefix, Hub: hub})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() {
		hub.Close()
		_ = app.ShutdownWithTimeout(10 * time.Second)
	})
	return streamGateway{base: "http://" + ln.Addr().String(), svc: svc, db: db, hub: hub}
}

// openStream opens /api/v1/events with a session and waits until it is
// connected; lines delivers what it sends, and is closed when it ends.
func (g streamGateway) openStream(t *testing.T, hc *http.Client, token string) (lines <-chan string) {
	t.Helper()
	req, _ := http.NewRequest("GET", g.base+"/api/v1/events", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	out := make(chan string, 64)
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before it connected: %v", err)
		}
		if strings.HasPrefix(line, ": connected") {
			break
		}
	}
	go func() {
		defer close(out)
		defer resp.Body.Close()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			out <- strings.TrimSpace(line)
		}
	}()
	return out
}

func streamClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, DisableCompression: true}}
}

// waitFor reads a stream until a line starts with prefix, or it ends.
func waitFor(lines <-chan string, prefix string, within time.Duration) (found, ended bool) {
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false, true
			}
			if strings.HasPrefix(l, prefix) {
				return true, false
			}
		case <-deadline:
			return false, false
		}
	}
}

// clientsOf counts the Redis connections that use the test's database.
func clientsOf(t *testing.T, db redistest.DB) int {
	t.Helper()
	list, err := db.Client.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(list, fmt.Sprintf(" db=%d ", db.N))
}

// subscribersOf counts the test database's connections in pub/sub mode.
func subscribersOf(t *testing.T, db redistest.DB) int {
	t.Helper()
	list, err := db.Client.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, fmt.Sprintf(" db=%d ", db.N)) && strings.Contains(line, " sub=1 ") {
			n++
		}
	}
	return n
}

// A thousand open streams on one gateway use the same few Redis
// connections as one: the hub holds the one subscription, and every event
// still reaches every stream that may see it.
func TestThousandStreamsShareOneSubscription(t *testing.T) {
	const users, perUser = 125, streamsPerUser
	var agents []config.Agent
	for i := range users {
		agents = append(agents, config.Agent{ID: fmt.Sprintf("sup%d", i), Role: "supervisor"})
	}
	g := newStreamGateway(t, agents)
	if g.db.Mode != "server" || g.db.N == 0 {
		t.Skip("counts connections by database number: needs a plain Redis server")
	}
	ctx := context.Background()
	hc := streamClient()
	tokens := make([]string, users)
	for i := range users {
		se, err := g.svc.Sessions().Create(ctx, agents[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = se.Token
	}
	first := g.openStream(t, hc, tokens[0])
	before := clientsOf(t, g.db)

	streams := []<-chan string{first}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50) // opening, not holding, is throttled
	for i := 1; i < users*perUser; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s := g.openStream(t, hc, tokens[i%users])
			mu.Lock()
			streams = append(streams, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := g.hub.streams(); n != users*perUser {
		t.Fatalf("the hub holds %d streams, want %d", n, users*perUser)
	}
	after := clientsOf(t, g.db)
	// The command pool may grow under the burst of openings (go-redis
	// allocates past PoolSize while every connection is busy); one
	// subscription per stream would add a thousand.
	if after-before > 100 {
		t.Fatalf("Redis connections went from %d to %d with %d streams open; want them flat", before, after, users*perUser)
	}
	t.Logf("Redis connections: %d with 1 stream, %d with %d", before, after, users*perUser)
	if n := subscribersOf(t, g.db); n != 1 {
		t.Fatalf("%d subscribed connections, want the hub's one", n)
	}

	// One event reaches every stream.
	if err := g.db.Client.Publish(ctx, g.svc.Store().Events(), `{"type":"agent.changed","agent":"sup1"}`).Err(); err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	for _, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := waitFor(s, "event: agent.changed", time.Minute); ok {
				got.Add(1)
			}
		}()
	}
	wg.Wait()
	if got.Load() != users*perUser {
		t.Fatalf("%d of %d streams received the event", got.Load(), users*perUser)
	}
}

// A user's ninth stream closes their oldest.
func TestStreamsPerUserAreCapped(t *testing.T) {
	g := newStreamGateway(t, []config.Agent{{ID: "ann"}})
	se, err := g.svc.Sessions().Create(context.Background(), "ann")
	if err != nil {
		t.Fatal(err)
	}
	hc := streamClient()
	var open []<-chan string
	for range streamsPerUser {
		open = append(open, g.openStream(t, hc, se.Token))
	}
	g.openStream(t, hc, se.Token)
	if _, ended := waitFor(open[0], "never", 20*time.Second); !ended {
		t.Fatal("the oldest stream is still open after the user opened one too many")
	}
	if n := g.hub.streams(); n != streamsPerUser {
		t.Fatalf("%d streams open, want %d", n, streamsPerUser)
	}
}

// A stream ends soon after its session does (sign-out, password change,
// disabled user): well before its 30-second re-check, since the user event
// tells it at once.
func TestStreamEndsWithItsSession(t *testing.T) {
	g := newStreamGateway(t, []config.Agent{{ID: "ann"}, {ID: "bob"}, {ID: "cy"}})
	ctx := context.Background()
	hc := streamClient()
	for _, tc := range []struct {
		user string
		end  func(sessions.Session) error
	}{
		{"ann", func(se sessions.Session) error { return g.svc.Sessions().End(ctx, se) }},
		{"bob", func(sessions.Session) error { return g.svc.SetPassword(ctx, "bob", "a brand new secret", true, "") }},
		{"cy", func(sessions.Session) error { return g.svc.DisableUser(ctx, "cy") }},
	} {
		se, err := g.svc.Sessions().Create(ctx, tc.user)
		if err != nil {
			t.Fatal(err)
		}
		s := g.openStream(t, hc, se.Token)
		if err := tc.end(se); err != nil {
			t.Fatal(err)
		}
		if _, ended := waitFor(s, "never", recheckEvery/2); !ended {
			t.Fatalf("%s: the stream outlived its session", tc.user)
		}
	}
}
