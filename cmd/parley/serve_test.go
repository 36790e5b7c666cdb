package main

// In-process tests of `parley serve` in embedded mode (no Redis server
// needed): what a person trying Parley on a fresh clone meets first.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// envOf is a getenv that sees only vars: the test's own environment
// (PARLEY_*, TWILIO_*) must not leak into the process under test.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestServeRefusesPortInUseBeforeUp(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, []string{"serve"}, envOf(map[string]string{
		"PARLEY_LISTEN": taken.Addr().String(), "PARLEY_LOG_FORMAT": "json",
	}), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("serve on a port in use: exit code %d, want 1\nstderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "address already in use") || !strings.Contains(stderr.String(), "PARLEY_LISTEN") {
		t.Errorf("stderr does not name the port in use and PARLEY_LISTEN:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "parley is up") {
		t.Errorf("\"parley is up\" logged although the port could not be bound:\n%s", stderr.String())
	}
}

// TestEmbeddedRedisReachableByCommands follows the quick start: serve in
// embedded mode prints the Redis URL, with which `parley user add` and
// `parley agent presence` work on the running process, and the new user
// signs in as the README's curl example does (the CSRF token from the
// sign-in answer, sent on a write).
func TestEmbeddedRedisReachableByCommands(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"serve"}, envOf(map[string]string{
			"PARLEY_LISTEN": addr, "PARLEY_LOG_FORMAT": "json", "PARLEY_ADMIN_PASSWORD": "operator-password",
		}), &stdout, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("serve exited with %d after cancel\nstderr: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve still running 30s after cancel")
		}
	}()

	urlLine := regexp.MustCompile(`export PARLEY_REDIS_URL=(redis://127\.0\.0\.1:\d+)`)
	var redisURL string
	waitFor(t, 120*time.Second, "serve prints the embedded Redis URL and is up", func() (bool, string) {
		m := urlLine.FindStringSubmatch(stdout.String())
		if m == nil || !strings.Contains(stderr.String(), "parley is up") {
			return false, stdout.String() + stderr.String()
		}
		redisURL = m[1]
		return true, ""
	})
	if !strings.Contains(stdout.String(), "demo agents start offline") {
		t.Errorf("stdout does not say the demo agents start offline:\n%s", stdout.String())
	}

	cli := envOf(map[string]string{"PARLEY_REDIS_URL": redisURL, "PARLEY_LOG_FORMAT": "json"})
	const password = "zoe-password-1"
	var out, errOut syncBuffer
	if err := userCommand(ctx, []string{"add", "-id", "zoe", "-name", "Zoe", "-role", "agent"}, cli,
		strings.NewReader(password+"\n"), &out, &errOut); err != nil {
		t.Fatalf("parley user add against the embedded Redis: %v\n%s", err, errOut.String())
	}
	if err := agentCommand(ctx, []string{"presence", "-id", "zoe", "-presence", "online"}, cli, &out, &errOut); err != nil {
		t.Fatalf("parley agent presence against the embedded Redis: %v\n%s", err, errOut.String())
	}

	// curl -c jar -H 'Content-Type: application/json' -d '{"user":"zoe","password":"..."}' .../api/v1/session
	// Generous: sign-in runs bcrypt, slow under -race on a busy machine.
	httpc := &http.Client{Timeout: 90 * time.Second}
	resp, err := httpc.Post("http://"+addr+"/api/v1/session", "application/json",
		strings.NewReader(`{"user":"zoe","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Presence string `json:"presence"`
		CSRF     string `json:"csrf_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("sign-in as zoe: %d, %v", resp.StatusCode, err)
	}
	if me.Presence != "online" || me.CSRF == "" {
		t.Fatalf("sign-in answer: presence %q, csrf_token %q; want online (set by parley agent) and a token", me.Presence, me.CSRF)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("sign-in set no parley_session cookie")
	}
	// curl -b jar -H "X-CSRF-Token: $csrf" -X PUT -d '{"presence":"away"}' .../api/v1/me/presence
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/api/v1/me/presence", strings.NewReader(`{"presence":"away"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", me.CSRF)
	req.AddCookie(cookie)
	resp, err = httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /api/v1/me/presence with the CSRF token: %d, want 200", resp.StatusCode)
	}
}
