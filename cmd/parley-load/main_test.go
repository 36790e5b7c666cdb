package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/desk/store"
	"github.com/parleydesk/parley/desk/users"
	"github.com/parleydesk/parley/gateway"
	"github.com/parleydesk/parley/worker"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "0123456789abcdef0123456789abcdef"
	testPublic  = "https://parley.example.test"
)

var sidPattern = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func TestPercentile(t *testing.T) {
	s := newSamples(0)
	vals := rand.Perm(100)
	for _, v := range vals {
		s.add(time.Duration(v+1) * time.Millisecond) // 1..100 ms, shuffled
	}
	l := s.summary()
	want := Latency{Count: 100, Sampled: 100, Mean: 50.5, P50: 50, P90: 90, P99: 99, Max: 100}
	if l != want {
		t.Errorf("1..100 ms: got %+v, want %+v", l, want)
	}
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]time.Duration{0: 1, 10: 1, 11: 2, 50: 5, 90: 9, 99: 10, 100: 10} {
		if got := percentile(ten, p); got != want {
			t.Errorf("p%g of 1..10: got %d, want %d", p, got, want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing: got %d", got)
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one: got %d", got)
	}
	// Beyond the bound, memory stays bounded and count, mean and max exact.
	b := newSamples(10)
	for i := 1; i <= 1000; i++ {
		b.add(time.Duration(i) * time.Millisecond)
	}
	if l := b.summary(); l.Count != 1000 || l.Sampled != 10 || l.Max != 1000 || l.Mean != 500.5 {
		t.Errorf("bounded series: %+v", l)
	}
}

func TestLoopbackOnly(t *testing.T) {
	ctx := context.Background()
	for _, raw := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.0.0.2:9", "https://127.0.0.1/"} {
		if _, err := checkTarget(ctx, raw); err != nil {
			t.Errorf("%s refused: %v", raw, err)
		}
	}
	for _, raw := range []string{"http://10.0.0.1:8080", "http://example.com", "http://192.168.1.10", "http://[2001:db8::1]:80",
		"http://0.0.0.0:8080", "ftp://127.0.0.1", "127.0.0.1:8080", "http://user:pw@127.0.0.1"} {
		_, err := checkTarget(ctx, raw)
		if err == nil {
			t.Errorf("%s accepted", raw)
			continue
		}
		if strings.HasPrefix(raw, "http://") && !strings.Contains(raw, "@") && !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: the error does not say why: %v", raw, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		if err := checkListen(addr); err != nil {
			t.Errorf("listen %s refused: %v", addr, err)
		}
	}
	for _, addr := range []string{":18999", "0.0.0.0:18999", "10.0.0.1:1", "[::]:1"} {
		if checkListen(addr) == nil {
			t.Errorf("listen %s accepted", addr)
		}
	}
	// The dial guard holds whatever a name resolved to.
	if err := loopbackOnly("tcp", "10.0.0.1:80", nil); !errors.Is(err, errNotLoopback) {
		t.Errorf("dial 10.0.0.1: %v", err)
	}
	if err := loopbackOnly("tcp", "127.0.0.1:80", nil); err != nil {
		t.Errorf("dial 127.0.0.1: %v", err)
	}
}

// fakeParley plays Parley's webhook endpoint: it checks every request with
// Parley's own Verifier and parser, and counts.
type fakeParley struct {
	t        *testing.T
	srv      *httptest.Server
	verifier *channels.Verifier

	mu       sync.Mutex
	sids     map[string]bool
	from     map[string]int
	statuses map[string][]string // MessageSid -> statuses posted
	bad      []string
}

func newFakeParley(t *testing.T) *fakeParley {
	p := &fakeParley{t: t, verifier: channels.NewVerifier(testPublic, testToken),
		sids: map[string]bool{}, from: map[string]int{}, statuses: map[string][]string{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeParley) fail(w http.ResponseWriter, format string, a ...any) {
	p.mu.Lock()
	p.bad = append(p.bad, fmt.Sprintf(format, a...))
	p.mu.Unlock()
	http.Error(w, "bad", http.StatusForbidden)
}

func (p *fakeParley) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		p.fail(w, "content type %q", r.Header.Get("Content-Type"))
		return
	}
	if err := r.ParseForm(); err != nil {
		p.fail(w, "form: %v", err)
		return
	}
	params := map[string]string{}
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	if !p.verifier.Valid(r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
		p.fail(w, "%s: signature does not verify", r.URL.Path)
		return
	}
	if params["AccountSid"] != testAccount {
		p.fail(w, "AccountSid %q", params["AccountSid"])
		return
	}
	switch r.URL.Path {
	case messagesPath:
		in, err := channels.ParseInbound(params)
		if err != nil {
			p.fail(w, "inbound: %v", err)
			return
		}
		wa := in.Channel() == channels.WhatsApp
		switch {
		case !sidPattern.MatchString(in.MessageSID):
			p.fail(w, "MessageSid %q", in.MessageSID)
			return
		case wa && (params["To"] != "whatsapp:+14155238886" || in.ProfileName == "" || "whatsapp:+"+in.WaID != params["From"]):
			p.fail(w, "WhatsApp fields: %v", params)
			return
		case !wa && (params["To"] != "+15005550006" || !strings.HasPrefix(params["From"], "+")):
			p.fail(w, "SMS fields: %v", params)
			return
		case params["NumMedia"] != "0" || params["NumSegments"] != "1" || params["ApiVersion"] != "2010-04-01":
			p.fail(w, "fields: %v", params)
			return
		}
		p.mu.Lock()
		dup := p.sids[in.MessageSID]
		p.sids[in.MessageSID] = true
		p.from[params["From"]]++
		p.mu.Unlock()
		if dup {
			p.fail(w, "MessageSid %s sent twice", in.MessageSID)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	case statusPath:
		u, err := channels.ParseStatus(params)
		if err != nil {
			p.fail(w, "status: %v", err)
			return
		}
		p.mu.Lock()
		p.statuses[u.MessageSID] = append(p.statuses[u.MessageSID], string(u.Status))
		p.mu.Unlock()
	default:
		http.NotFound(w, r)
	}
}

func (p *fakeParley) check() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.bad {
		p.t.Error(b)
	}
}

// runJSON runs parley-load with args and decodes the report it prints.
func runJSON(t *testing.T, args ...string) Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	out := t.TempDir() + "/report.json"
	args = append([]string{"-account-sid", testAccount, "-auth-token", testToken, "-json", "-out", out, "-progress", "0"}, args...)
	if code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	saved, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(saved, stdout.Bytes()) {
		t.Errorf("-out file differs from the printed report (%v)", err)
	}
	return r
}

func TestCountBoundsTheRunExactly(t *testing.T) {
	p := newFakeParley(t)
	r := runJSON(t, "-target", p.srv.URL, "-public-url", testPublic+"/", "-count", "137", "-concurrency", "8",
		"-contacts", "20", "-whatsapp-share", "0.7", "-drain", "0")
	p.check()
	if len(p.sids) != 137 {
		t.Errorf("Parley received %d distinct messages, want 137", len(p.sids))
	}
	w := r.Webhooks
	if w.Sent != 137 || w.Answered != 137 || w.OK != 137 || w.ByStatus["200"] != 137 || len(w.Errors) != 0 {
		t.Errorf("webhooks: %+v", w)
	}
	if r.StoppedBy != "count" || w.Latency.Count != 137 || w.Latency.Max <= 0 || w.Throughput <= 0 {
		t.Errorf("report: stopped by %s, latency %+v, throughput %v", r.StoppedBy, w.Latency, w.Throughput)
	}
	// 14 of the 20 contacts are on WhatsApp; each writes 6 or 7 times.
	wa := 0
	for from, n := range p.from {
		if strings.HasPrefix(from, "whatsapp:") {
			wa++
		}
		if n < 6 || n > 7 {
			t.Errorf("%s wrote %d times", from, n)
		}
	}
	if wa != 14 || len(p.from) != 20 {
		t.Errorf("%d senders, %d on WhatsApp; want 20 and 14", len(p.from), wa)
	}
}

func TestRateAndDuration(t *testing.T) {
	p := newFakeParley(t)
	start := time.Now()
	r := runJSON(t, "-target", p.srv.URL, "-public-url", testPublic, "-count", "30", "-rate", "300", "-drain", "0")
	if took := time.Since(start); took < 90*time.Millisecond {
		t.Errorf("30 messages at 300/s took %s", took)
	}
	if r.Webhooks.OK != 30 || r.StoppedBy != "count" || r.Webhooks.ScheduleLag == nil || r.Webhooks.ScheduleLag.Count != 30 {
		t.Errorf("rate run: %+v, stopped by %s", r.Webhooks, r.StoppedBy)
	}
	// The duration's timer can fire late on a busy machine, so the bound on
	// what was sent is the rate over the time the run really took (plus the
	// send at time zero), not over the 300 ms asked for.
	start = time.Now()
	r = runJSON(t, "-target", p.srv.URL, "-public-url", testPublic, "-duration", "300ms", "-rate", "100", "-drain", "0")
	most := int64(100*time.Since(start).Seconds()) + 1
	if r.StoppedBy != "duration" || r.Webhooks.Sent < 5 || r.Webhooks.Sent > most || r.Webhooks.OK != r.Webhooks.Sent {
		t.Errorf("duration run: %+v (at most %d), stopped by %s", r.Webhooks, most, r.StoppedBy)
	}
	p.check()
}

func TestInterruptStillReports(t *testing.T) {
	p := newFakeParley(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-account-sid", testAccount, "-auth-token", testToken, "-target", p.srv.URL,
		"-public-url", testPublic, "-duration", "1m", "-rate", "50", "-progress", "0"}, func(string) string { return "" }, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "stopped by interrupt") || !strings.Contains(stdout.String(), "webhook latency") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

func TestFlagsRefused(t *testing.T) {
	base := []string{"-account-sid", testAccount, "-auth-token", testToken}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-target", "http://10.0.0.1:8080"}, "loopback"},
		{[]string{"-target", "http://example.com"}, "loopback"},
		{[]string{"-duration", "11m"}, "-duration"},
		{[]string{"-count", "10000001"}, "-count"},
		{[]string{"-whatsapp-share", "1.5"}, "-whatsapp-share"},
		{[]string{"-fake-twilio-listen", "0.0.0.0:18999"}, "loopback"},
		{[]string{"-desk-user", "ann"}, "-desk-password"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(base, tc.args...), func(string) string { return "" }, &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error about %s", tc.args, code, stderr.String(), tc.want)
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), nil, func(string) string { return "" }, io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), "-account-sid") {
		t.Errorf("no credentials: exit %d, %q", code, stderr.String())
	}
}

// TestFakeTwilio drives the fake with Parley's own Twilio provider, then
// checks its refusals and the signed status callbacks it posts.
func TestFakeTwilio(t *testing.T) {
	p := newFakeParley(t)
	target, err := checkTarget(context.Background(), p.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	contacts := makeContacts(2, 0.5, "whatsapp:+14155238886", "+15005550006")
	f := newFakeTwilio(testAccount, testToken)
	f.whatsAppFrom, f.smsFrom = "whatsapp:+14155238886", "+15005550006"
	f.callbacks, f.target, f.client, f.workers = true, target, newClient(4, 5*time.Second), 2
	for _, c := range contacts {
		f.contacts[c.from] = c
	}
	contacts[0].lastSent.Store(time.Now().UnixNano())
	if err := f.start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer f.close()

	tw, err := channels.NewTwilio(channels.TwilioConfig{
		AccountSID: testAccount, AuthToken: testToken, APIURL: f.URL(),
		WhatsAppFrom: "whatsapp:+14155238886", SMSFrom: "+15005550006",
		StatusCallback: testPublic + statusPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	var sids []string
	for _, to := range []channels.Address{"whatsapp:+27830000000", "sms:+27830000001"} {
		rc, err := tw.Send(context.Background(), channels.Outbound{To: to, Body: "Thanks for writing"})
		if err != nil {
			t.Fatalf("send to %s: %v", to, err)
		}
		if !sidPattern.MatchString(rc.SID) || rc.Status != channels.StatusQueued {
			t.Errorf("receipt %+v", rc)
		}
		sids = append(sids, rc.SID)
	}
	// Parley records a callback before the fake reads Parley's answer, so
	// the wait is for both: the callbacks received and their answers counted.
	deadline := time.Now().Add(30 * time.Second)
	for {
		p.mu.Lock()
		done := len(p.statuses[sids[0]]) == 2 && len(p.statuses[sids[1]]) == 2 && f.cbStatus.snapshot()["200"] == 4
		got := fmt.Sprint(p.statuses, " answers ", f.cbStatus.snapshot())
		p.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status callbacks not received: %s", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, sid := range sids {
		if got := strings.Join(p.statuses[sid], ","); got != "sent,delivered" {
			t.Errorf("%s: callbacks %s, want sent,delivered", sid, got)
		}
	}
	p.check()
	if f.accepted.Load() != 2 || f.fromInbound.summary().Count != 1 || f.unmatched.Load() != 1 {
		t.Errorf("accepted %d, matched %d, unmatched %d", f.accepted.Load(), f.fromInbound.summary().Count, f.unmatched.Load())
	}
	if f.cbPosted.Load() != 4 || f.cbStatus.snapshot()["200"] != 4 {
		t.Errorf("callbacks posted %d, answers %v", f.cbPosted.Load(), f.cbStatus.snapshot())
	}

	// What Twilio refuses, the fake refuses the same way.
	post := func(path, user, pass string, form url.Values) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, f.URL()+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	path := "/2010-04-01/Accounts/" + testAccount + "/Messages.json"
	good := url.Values{"To": {"+27830000001"}, "From": {"+15005550006"}, "Body": {"hi"}}
	for _, tc := range []struct {
		name, path, user, pass string
		form                   url.Values
		status                 int
		code                   float64
	}{
		{"wrong token", path, testAccount, "nope", good, 401, 20003},
		{"other account", "/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json", testAccount, testToken, good, 404, 20404},
		{"wrong sender", path, testAccount, testToken, url.Values{"To": {"+27830000001"}, "From": {"+1999"}, "Body": {"hi"}}, 400, 21212},
		{"no body", path, testAccount, testToken, url.Values{"To": {"+27830000001"}, "From": {"+15005550006"}}, 400, 21602},
	} {
		status, body := post(tc.path, tc.user, tc.pass, tc.form)
		if status != tc.status || body["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d code %v", tc.name, status, body, tc.status, tc.code)
		}
	}
	if status, body := post(path, testAccount, testToken, good); status != 201 || body["status"] != "queued" || !sidPattern.MatchString(fmt.Sprint(body["sid"])) {
		t.Errorf("good send: %d %v", status, body)
	}
	if u, err := callbackURL("https://parley.example.test/webhooks/twilio/status?x=1", target); err != nil || u != p.srv.URL+"/webhooks/twilio/status?x=1" {
		t.Errorf("callback URL rewritten to %q (%v)", u, err)
	}
}

// TestAgainstParley runs parley-load against Parley's real gateway and
// worker in this process, on a Redis test database: every webhook must be
// accepted, Parley's replies must reach the fake Twilio, their status
// callbacks must be accepted, and a supervisor's desk must see every
// inbound message.
func TestAgainstParley(t *testing.T) {
	db := redistest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fakeAddr := ln.Addr().String() // the fake Twilio takes this port once Parley knows it
	ln.Close()

	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tw, err := channels.NewTwilio(channels.TwilioConfig{
		AccountSID: testAccount, AuthToken: testToken, APIURL: "http://" + fakeAddr,
		WhatsAppFrom: "whatsapp:+14155238886", SMSFrom: "+15005550006", StatusCallback: testPublic + statusPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	queue := asynq.NewClientFromRedisClient(db.Client)
	defer queue.Close()
	dispatch := worker.NewDispatcher(queue)
	svc := desk.NewService(desk.Options{Store: store.New(db.Client, store.KeyPrefix), Dispatcher: dispatch, Provider: tw,
		Rules: &cfg.Engine, Now: time.Now, Log: zerolog.Nop()})
	if err := svc.SaveUser(context.Background(), users.Spec{ID: "loadsup", Name: "Load Supervisor", Role: "supervisor"}, "load-password"); err != nil {
		t.Fatal(err)
	}
	w := worker.New(worker.Deps{Config: cfg.Worker, Redis: asynq.RedisClientOpt{Addr: redistest.Addr(), DB: db.N},
		Service: svc, Metrics: worker.NewMetrics(prometheus.NewRegistry()), Log: zerolog.Nop(), Now: time.Now})
	if err := w.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	app := gateway.New(gateway.Deps{
		Service: svc, Redis: db.Client, Verifier: channels.NewVerifier(testPublic, testToken), AccountSID: testAccount,
		MaxBodyBytes: cfg.MaxBodyBytes, Admin: gateway.Credentials{User: "ops", Password: "secret"},
		Monitoring: http.NotFoundHandler(), Registry: prometheus.NewRegistry(), Log: zerolog.Nop(), KeyPrefix: store.KeyPrefix,
	})
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(appLn) }()
	defer func(app *fiber.App) { _ = app.ShutdownWithTimeout(5 * time.Second) }(app)

	r := runJSON(t, "-target", "http://"+appLn.Addr().String(), "-public-url", testPublic,
		"-fake-twilio-listen", fakeAddr, "-count", "60", "-contacts", "12", "-concurrency", "4",
		"-status-callbacks", "-callback-delay", "0", "-desk-user", "loadsup", "-desk-password", "load-password",
		"-pid", fmt.Sprint(os.Getpid()), "-drain", "20s")
	if wh := r.Webhooks; wh.OK != 60 || wh.ByStatus["200"] != 60 {
		t.Errorf("webhooks: %+v", wh)
	}
	// With nobody online, each first message gets no_agent and the
	// leave-a-message question, and every later one the question again.
	if o := r.Outbound; o.Accepted != 60+12 || len(o.Rejected) != 0 || o.FromInbound.Count != o.Accepted {
		t.Errorf("outbound: %+v", o)
	}
	if cb := r.StatusCallbacks; cb == nil || cb.Posted != 2*r.Outbound.Accepted || cb.ByStatus["200"] != cb.Posted {
		t.Errorf("status callbacks: %+v (accepted sends %d)", cb, r.Outbound.Accepted)
	}
	if d := r.Desk; d == nil || d.MessageIn.Ours != 60 || d.InboundToDesk.Count != 60 || d.Reconnects != 0 {
		t.Errorf("desk: %+v", d)
	}
	if pr := r.Process; pr == nil || pr.VmHWMKB <= 0 || pr.RSSPeakKB <= 0 || pr.Error != "" {
		t.Errorf("process: %+v", pr)
	}
}

// TestDeskWatcher: sign-in, the stream cut and reopened, and events about
// conversations this Parley does not know (another Parley on the same
// Redis server) kept out of the latency.
func TestDeskWatcher(t *testing.T) {
	var streams atomic.Int64
	var signedOut atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		if json.NewDecoder(r.Body).Decode(&body) != nil || body["user"] != "ann" || body["password"] != "pw" {
			http.Error(w, `{"error":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "parley_session", Value: "tok", HttpOnly: true})
		io.WriteString(w, `{"id":"ann","csrf_token":"csrf1"}`)
	})
	mux.HandleFunc("DELETE /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		signedOut.Store(r.Header.Get("X-CSRF-Token") == "csrf1")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/v1/conversations/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "ours1" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{}`)
	})
	mux.HandleFunc("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("parley_session"); err != nil || c.Value != "tok" {
			http.Error(w, "sign in", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 2000\n: connected\n\n")
		now := time.Now().UTC().Format(time.RFC3339Nano)
		fmt.Fprintf(w, "event: message.in\ndata: {\"type\":\"message.in\",\"conversation_id\":\"ours1\",\"at\":%q}\n\n", now)
		w.(http.Flusher).Flush()
		if streams.Add(1) == 1 { // the first stream carries a stranger's event and is cut
			fmt.Fprint(w, "event: message.in\ndata: {\"type\":\"message.in\",\"conversation_id\":\"theirs\",\"at\":\"2025-01-01T00:00:00Z\"}\n\n: ping\n\n")
			return
		}
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	target, err := checkTarget(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := newDeskWatcher(newClient(2, 0), target, "ann", "wrong").signIn(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v", err)
	}
	d := newDeskWatcher(newClient(2, 0), target, "ann", "pw")
	if err := d.signIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.open(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.events.snapshot()["message.in"] < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	d.stop()
	d.verify(context.Background())
	d.signOut()
	r := d.report()
	if r.MessageIn != (MessageIn{Received: 3, Ours: 2, Foreign: 1}) || r.ForeignConversations != 1 {
		t.Errorf("message.in: %+v, %d foreign conversations", r.MessageIn, r.ForeignConversations)
	}
	if r.InboundToDesk.Count != 2 || r.InboundToDesk.Max > 5000 {
		t.Errorf("latency: %+v (a stranger's old event must not count)", r.InboundToDesk)
	}
	if r.Reconnects < 1 || streams.Load() < 2 || !signedOut.Load() {
		t.Errorf("reconnects %d, streams %d, signed out %v", r.Reconnects, streams.Load(), signedOut.Load())
	}
}
