package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/desk/store"
)

// signInFrom tries a password from a client address (through the trusted
// proxy of the fixture) and answers the status.
func signInFrom(t *testing.T, app *fiber.App, user, pass, addr string) int {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"user":"`+user+`","password":"`+pass+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// 100 guesses at once get the same 10 checks as 100 in a row: each attempt
// is reserved before its password is checked.
func TestParallelGuessesGetTheSameBudget(t *testing.T) {
	f := newDeskFixture(t)
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := signInFrom(t, f.app, "bob", "guess guess guess", "198.51.100.7")
			mu.Lock()
			got[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[401] != defaultSignInLimits.pair || got[429] != 100-defaultSignInLimits.pair {
		t.Fatalf("answers %v, want %d × 401 (checked) and the rest 429", got, defaultSignInLimits.pair)
	}
}

// A stranger's failures lock their own address out for that user, not the
// user at theirs, and they do not renew the window.
func TestStrangerCannotLockAUserOut(t *testing.T) {
	f := newDeskFixture(t)
	for range defaultSignInLimits.pair {
		if s := signInFrom(t, f.app, "bob", "guess guess guess", "198.51.100.7"); s != 401 {
			t.Fatalf("a wrong password: %d, want 401", s)
		}
	}
	if s := signInFrom(t, f.app, "bob", password, "198.51.100.7"); s != 429 {
		t.Fatalf("the guesser's address after %d failures: %d, want 429", defaultSignInLimits.pair, s)
	}
	if s := signInFrom(t, f.app, "bob", password, "203.0.113.5"); s != 200 {
		t.Fatalf("bob from his own address: %d, want 200", s)
	}
}

// The per-user ceiling stops guessing from many addresses, but not the user
// at an address they signed in from before.
func TestUserCeilingSparesAKnownAddress(t *testing.T) {
	db := redistest.New(t)
	ctx := context.Background()
	l := &signInLimiter{rdb: db.Client, prefix: store.KeyPrefix, limits: signInLimits{
		pair: 2, address: 100, user: 3, pairWindow: time.Minute, addressWindow: time.Minute, userWindow: time.Minute, knownFor: time.Minute,
	}}
	reserve := func(ip string) bool {
		ok, err := l.reserve(ctx, "bob", ip)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !reserve("203.0.113.5") {
		t.Fatal("bob's first attempt refused")
	}
	if err := l.succeeded(ctx, "bob", "203.0.113.5"); err != nil {
		t.Fatal(err)
	}
	for i, ip := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		if !reserve(ip) {
			t.Fatalf("guess %d from a new address refused before the ceiling", i+1)
		}
	}
	if reserve("198.51.100.4") {
		t.Fatal("a fourth address got past a ceiling of 3 for the user")
	}
	if !reserve("203.0.113.5") {
		t.Fatal("bob's known address was refused by the ceiling strangers reached")
	}
}

func TestSignInNeedsJSON(t *testing.T) {
	f := newDeskFixture(t)
	// What a cross-site form can send without a preflight.
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"user":"ann","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain sign-in: %d, want 415", resp.StatusCode)
	}
	if _, code := decodeError(t, resp); code != "not_json" {
		t.Fatalf("code %q, want not_json", code)
	}
}

func TestClientAddressBehindProxies(t *testing.T) {
	app := fiber.New()
	var got string
	trusted := parseProxies([]string{"0.0.0.0", "10.0.0.0/8"})
	app.Get("/", func(c *fiber.Ctx) error { got = trusted.clientIP(c); return nil })
	none := fiber.New()
	none.Get("/", func(c *fiber.Ctx) error { got = parseProxies(nil).clientIP(c); return nil })
	for _, tc := range []struct {
		app       *fiber.App
		forwarded string
		want      string
	}{
		{app, "", "0.0.0.0"},
		{app, "203.0.113.5", "203.0.113.5"},
		// The client's own claim is left of what the proxies saw.
		{app, "1.2.3.4, 203.0.113.5, 10.1.2.3", "203.0.113.5"},
		{app, "garbage, 10.1.2.3", "0.0.0.0"},
		// With no trusted proxy the header is anyone's and is ignored.
		{none, "203.0.113.5", "0.0.0.0"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Forwarded-For", tc.forwarded)
		if _, err := tc.app.Test(req, -1); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("X-Forwarded-For %q: address %q, want %q", tc.forwarded, got, tc.want)
		}
	}
}
