package gateway

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
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
)

const (
	testToken   = "0123456789abcdef0123456789abcdef"
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testPublic  = "https://parley.example.test"
)

type nopDispatch struct{}

func (nopDispatch) DispatchSend(context.Context, channels.Address, string, time.Time) error {
	return nil
}

func (nopDispatch) DispatchWake(context.Context, string, time.Time) error { return nil }

func (nopDispatch) DispatchBot(context.Context, string, string) error { return nil }

func (nopDispatch) DispatchPresence(context.Context, string, time.Time) error { return nil }

type testGateway struct {
	app interface {
		Test(*http.Request, ...int) (*http.Response, error)
	}
	store *store.Store
	svc   *desk.Service
}

func newTestGateway(t testing.TB, phone bool) testGateway {
	return newGatewayWith(t, phone, func(redis.UniversalClient) desk.Dispatcher { return nopDispatch{} })
}

// newGatewayWith builds the gateway on a fresh Redis database, with the
// dispatcher that dispatch makes for it.
func newGatewayWith(t testing.TB, phone bool, dispatch func(redis.UniversalClient) desk.Dispatcher) testGateway {
	t.Helper()
	db := redistest.New(t)
	st := store.New(db.Client, store.KeyPrefix)
	sandbox := channels.NewSandbox(db.Client, store.KeyPrefix)
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	svc := desk.NewService(desk.Options{Store: st, Dispatcher: dispatch(db.Client), Provider: sandbox, Rules: &cfg.Engine, Now: time.Now, Log: zerolog.Nop()})
	verifier := channels.NewVerifier(testPublic, testToken)
	d := Deps{
		Service: svc, Redis: db.Client, Verifier: verifier, AccountSID: testAccount,
		MaxBodyBytes: 8 << 10, Admin: Credentials{User: "ops", Password: "secret"},
		Monitoring: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "dashboard") }),
		Registry:   prometheus.NewRegistry(), Log: zerolog.Nop(),
	}
	if phone {
		d.Phone = NewPhone(testToken, testAccount, "127.0.0.1:1", verifier, sandbox, svc)
	}
	return testGateway{app: New(d), store: st, svc: svc}
}

func signedRequest(path string, params map[string]string) *http.Request {
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", channels.Sign(testToken, testPublic+path, params))
	return req
}

func decodeError(t *testing.T, resp *http.Response) (msg, code string) {
	t.Helper()
	var body struct{ Error, Code string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	return body.Error, body.Code
}

func TestWebhookAnswers(t *testing.T) {
	g := newTestGateway(t, false)
	good := map[string]string{"MessageSid": "SM1", "AccountSid": testAccount, "From": "whatsapp:+27820000001", "To": "whatsapp:+14155238886", "Body": "hi"}
	for _, tc := range []struct {
		name     string
		req      *http.Request
		status   int
		code     string
		contains string
	}{
		{"accepted", signedRequest("/webhooks/twilio/messages", good), 200, "", ""},
		{"unsigned", func() *http.Request {
			r := signedRequest("/webhooks/twilio/messages", good)
			r.Header.Del("X-Twilio-Signature")
			return r
		}(), 403, "bad_signature", ""},
		{"other account", signedRequest("/webhooks/twilio/messages", map[string]string{"MessageSid": "SM2", "AccountSid": "ACother", "From": "+2782", "Body": "x"}), 403, "wrong_account", ""},
		{"missing From", signedRequest("/webhooks/twilio/messages", map[string]string{"MessageSid": "SM3", "AccountSid": testAccount, "Body": "x"}), 400, "malformed", "From"},
		{"not a form", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/messages", strings.NewReader(`{"From":"x"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}(), 400, "not_form", ""},
		{"status unknown", signedRequest("/webhooks/twilio/status", map[string]string{"MessageSid": "SM5", "AccountSid": testAccount, "MessageStatus": "exploded"}), 400, "malformed", "MessageStatus"},
		{"status early", signedRequest("/webhooks/twilio/status", map[string]string{"MessageSid": "SM6", "AccountSid": testAccount, "MessageStatus": "delivered"}), 200, "", ""},
		{"unknown route", httptest.NewRequest(http.MethodGet, "/nope", nil), 404, "not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := g.app.Test(tc.req, 5000)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.code == "" {
				return
			}
			msg, code := decodeError(t, resp)
			if code != tc.code || !strings.Contains(msg, tc.contains) {
				t.Fatalf("error %q code %q, want code %q mentioning %q", msg, code, tc.code, tc.contains)
			}
		})
	}
	if _, err := g.store.Contact(context.Background(), "sms:+2782"); err == nil {
		t.Fatal("a refused webhook stored its contact")
	}
}

func TestOperatorPagesNeedCredentials(t *testing.T) {
	g := newTestGateway(t, false)
	for _, path := range []string{"/monitoring", "/monitoring/queues", "/metrics", "/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline"} {
		resp, _ := g.app.Test(httptest.NewRequest(http.MethodGet, path, nil))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s without credentials: %d, want 401", path, resp.StatusCode)
		}
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth("ops", "wrong")
		resp, _ = g.app.Test(req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s with a wrong password: %d, want 401", path, resp.StatusCode)
		}
		req = httptest.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth("ops", "secret")
		resp, _ = g.app.Test(req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s with credentials: %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	g := newTestGateway(t, false)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, _ := g.app.Test(httptest.NewRequest(http.MethodGet, path, nil))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestPhoneOnlyInSandbox(t *testing.T) {
	off := newTestGateway(t, false)
	resp, _ := off.app.Test(httptest.NewRequest(http.MethodGet, "/dev/phone", nil))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/dev/phone without sandbox: %d, want 404", resp.StatusCode)
	}
	on := newTestGateway(t, true)
	resp, _ = on.app.Test(httptest.NewRequest(http.MethodGet, "/dev/phone", nil))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "phone simulator") {
		t.Fatalf("/dev/phone in sandbox: %d", resp.StatusCode)
	}
	req := httptest.NewRequest(http.MethodPost, "/dev/phone/send", strings.NewReader(`{"channel":"fax","number":"+27820000001","body":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, _ = on.app.Test(req)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad channel: %d, want 400", resp.StatusCode)
	}
}

// The profiler serves this process's real profiles to operators.
func TestProfilerServesProfiles(t *testing.T) {
	g := newTestGateway(t, false)
	req := httptest.NewRequest(http.MethodGet, "/debug/pprof/goroutine?debug=1", nil)
	req.SetBasicAuth("ops", "secret")
	resp, err := g.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
}

// A page on another site must not post to the phone: a form cannot send
// JSON, and a fetch from another origin is refused by its headers.
func TestPhoneRefusesCrossSitePosts(t *testing.T) {
	on := newTestGateway(t, true)
	const body = `{"channel":"whatsapp","number":"+27820000001","body":"hi"}`
	for _, tc := range []struct {
		name, contentType, header, value string
		status                           int
		code                             string
	}{
		{"form post", "application/x-www-form-urlencoded", "", "", 415, "not_json"},
		{"text/plain post", "text/plain", "", "", 415, "not_json"},
		{"cross-site fetch", "application/json", "Sec-Fetch-Site", "cross-site", 403, "cross_site"},
		{"other origin", "application/json", "Origin", "https://evil.example", 403, "cross_site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/dev/phone/send", strings.NewReader(body))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			resp, err := on.app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if _, code := decodeError(t, resp); code != tc.code {
				t.Fatalf("code %q, want %q", code, tc.code)
			}
		})
	}
}

// The browser replays the dashboard's Basic auth on any request, so a page
// on another site could drive it: its state-changing requests must come
// from its own pages.
func TestMonitoringRefusesCrossSiteWrites(t *testing.T) {
	g := newTestGateway(t, false)
	for _, tc := range []struct {
		name, method, header, value string
		status                      int
	}{
		{"cross-site pause", "POST", "Sec-Fetch-Site", "cross-site", 403},
		{"same-site but other origin", "POST", "Sec-Fetch-Site", "same-site", 403},
		{"other origin, older browser", "DELETE", "Origin", "https://evil.example", 403},
		{"its own page", "POST", "Sec-Fetch-Site", "same-origin", 200},
		{"its own origin", "POST", "Origin", "http://example.com", 200},
		{"a read from anywhere", "GET", "Sec-Fetch-Site", "cross-site", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/monitoring/api/queues/critical:pause", nil)
			req.SetBasicAuth("ops", "secret")
			req.Header.Set(tc.header, tc.value)
			resp, err := g.app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

// The desk runs under a policy that allows only this server's scripts and
// styles, and nothing here may be framed or sniffed.
func TestSecurityHeaders(t *testing.T) {
	g := newTestGateway(t, true)
	for _, tc := range []struct{ path, policy string }{
		{"/desk/", deskPolicy},
		{"/desk/main.js", deskPolicy},
		{"/api/v1/me", apiPolicy},
		{"/healthz", apiPolicy},
		{"/dev/phone", deskPolicy},
	} {
		resp, err := g.app.Test(httptest.NewRequest(http.MethodGet, tc.path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		for h, want := range map[string]string{
			"Content-Security-Policy": tc.policy, "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s %q, want %q", tc.path, h, got, want)
			}
		}
	}
	if !strings.Contains(deskPolicy, "script-src 'self'") || strings.Contains(deskPolicy, "unsafe-inline") {
		t.Fatalf("the desk policy %q must allow only the server's own scripts", deskPolicy)
	}
	// The policy holds only if the page needs no inline script or style.
	inline := regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`)
	for _, name := range []string{"index.html"} {
		raw, err := fs.ReadFile(desk.Web(), name)
		if err != nil {
			t.Fatal(err)
		}
		if m := inline.Find(raw); m != nil {
			t.Errorf("%s has inline code the policy refuses: %q", name, m)
		}
	}
}
