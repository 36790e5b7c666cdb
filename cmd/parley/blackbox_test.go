package main

// Black-box tests: the real binary, built once, runs as a subprocess against
// a real Redis database; the tests play Twilio on both sides, posting signed
// webhooks to it and answering its REST calls with a fake (faketwilio_test.go).
// State is checked by reading Redis through store.Store.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/redistest"
)

const (
	bbPublicURL    = "https://parley.example.test"
	bbWhatsAppFrom = "whatsapp:+14155238886"
	bbSMSFrom      = "+15005550006"
	bbMaxBody      = 4096
	// bbWait bounds every wait for an outcome; polls are bbPoll apart.
	bbWait = 10 * time.Second
	bbPoll = 50 * time.Millisecond
)

// bbConfig is the PARLEY_CONFIG file of the process under test.
const bbConfig = `agents:
  - id: blackbox-agent
    name: Blackbox Agent
    capacity: 1000
    online: true
`

var (
	bbDir      string // holds the binary; made and removed by TestMain
	bbBuild    sync.Once
	bbBin      string
	bbBuildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-blackbox-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bbDir = dir
	// The black-box tests spend their time waiting for the process under
	// test (whose timers run for seconds), not computing: unless -parallel
	// is given, run up to four at once rather than one per CPU.
	_ = flag.Set("test.parallel", strconv.Itoa(max(4, runtime.GOMAXPROCS(0))))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// raceBuild reports whether this test binary has the race detector; the
// binary under test is then built with it too.
func raceBuild() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return true
			}
		}
	}
	return false
}

// parleyBinary builds the command once per test binary.
func parleyBinary(t *testing.T) string {
	t.Helper()
	bbBuild.Do(func() {
		bin := filepath.Join(bbDir, "parley")
		args := []string{"build", "-o", bin}
		if raceBuild() {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, ".")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			bbBuildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		bbBin = bin
	})
	if bbBuildErr != nil {
		t.Fatal(bbBuildErr)
	}
	return bbBin
}

// syncBuffer collects a subprocess's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// parley is one running `parley serve` and what the test needs around it.
type parley struct {
	bin        string
	env        []string
	base       string // where it listens: http://127.0.0.1:port
	accountSID string
	authToken  string
	rdb        redis.UniversalClient
	store      *store.Store
	fake       *fakeTwilio
	log        *syncBuffer // every run's output, restarts included
	http       *http.Client
	proc       *process // the running process; nil after crash
	subcommand string   // what it runs: "serve" unless parleyOptions say
}

// process is one run of the binary.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when it has exited; waitErr is then set
	waitErr error
}

// parleyOptions tunes the process startParleyWith runs.
type parleyOptions struct {
	// config is the content of its PARLEY_CONFIG file; empty means bbConfig.
	config string
	// env is added to its environment as KEY=VALUE, after (so over) the
	// defaults startParley sets.
	env []string
	// subcommand is what the process runs: "serve" when empty, or
	// "gateway" (then no job runs unless the test starts a worker).
	subcommand string
	// redisURL, when set, is a Redis of the test's own (redis://host:port/db)
	// used instead of a database claimed from the shared test server; the
	// test's store then reads it too. It is not flushed.
	redisURL string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// randAlnum returns n random characters from [A-Za-z0-9].
func randAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(out)
}

// conversations reads every conversation stored, open or not.
func (p *parley) conversations(t *testing.T) []*engine.Conversation {
	t.Helper()
	ctx := context.Background()
	keys, err := redistest.Keys(ctx, p.rdb, store.KeyPrefix+"conv:*")
	if err != nil {
		t.Fatalf("list conversations: %v", err)
	}
	var out []*engine.Conversation
	for _, k := range keys {
		id := strings.TrimPrefix(k, store.KeyPrefix+"conv:")
		if strings.Contains(id, ":") { // a conversation's history or other sub-key
			continue
		}
		c, err := p.store.Conversation(ctx, id)
		if errors.Is(err, engine.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("conversation %s: %v", id, err)
		}
		out = append(out, c)
	}
	return out
}

// startParley runs `parley serve` on a free port with its own Redis database
// and its own fake Twilio, and waits until /readyz answers 200. It is stopped
// (SIGTERM, and it must exit 0) when t ends; its log is printed if t failed.
func startParley(t *testing.T) *parley {
	t.Helper()
	return startParleyWith(t, parleyOptions{})
}

// startParleyWith is startParley with another configuration file and more
// environment.
func startParleyWith(t *testing.T, opts parleyOptions) *parley {
	t.Helper()
	bin := parleyBinary(t)
	var db redistest.DB
	if opts.redisURL != "" {
		ro, err := redis.ParseURL(opts.redisURL)
		if err != nil {
			t.Fatalf("redisURL: %v", err)
		}
		db = redistest.DB{Client: redis.NewClient(ro), URL: opts.redisURL, Mode: "server", N: ro.DB}
		t.Cleanup(func() { db.Client.Close() })
	} else {
		db = redistest.New(t)
	}
	subcommand := opts.subcommand
	if subcommand == "" {
		subcommand = "serve"
	}
	p := &parley{
		bin:        bin,
		accountSID: "AC" + randomHex(16),
		authToken:  randAlnum(32),
		rdb:        db.Client,
		store:      store.New(db.Client, store.KeyPrefix),
		log:        &syncBuffer{},
		http:       &http.Client{Timeout: 10 * time.Second},
		subcommand: subcommand,
	}
	p.fake = newFakeTwilio(t, p.accountSID, p.authToken, bbWhatsAppFrom, bbSMSFrom, bbPublicURL+"/webhooks/twilio/status")
	port := freePort(t)
	p.base = fmt.Sprintf("http://127.0.0.1:%d", port)

	// By default, one online agent with room for every chat: each
	// customer's first message starts a live chat with them, so Parley
	// sends nothing on its own and every send the fake sees is one the test
	// asked for.
	config := opts.config
	if config == "" {
		config = bbConfig
	}
	cfgFile := filepath.Join(t.TempDir(), "parley.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	// The environment is the test's, minus anything that configures Parley
	// or twilio-go, plus the settings below.
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PARLEY_") || strings.HasPrefix(kv, "TWILIO_") || strings.HasPrefix(kv, "GORACE=") {
			continue
		}
		p.env = append(p.env, kv)
	}
	p.env = append(p.env,
		"PARLEY_CONFIG="+cfgFile,
		"PARLEY_LISTEN=127.0.0.1:"+fmt.Sprint(port),
		"PARLEY_PUBLIC_URL="+bbPublicURL,
		"PARLEY_MAX_BODY_BYTES="+fmt.Sprint(bbMaxBody),
		"PARLEY_LOG_FORMAT=json",
		"PARLEY_LOG_LEVEL=info",
		"TWILIO_ACCOUNT_SID="+p.accountSID,
		"TWILIO_AUTH_TOKEN="+p.authToken,
		"PARLEY_TWILIO_API_URL="+p.fake.URL(),
		"PARLEY_WHATSAPP_FROM="+bbWhatsAppFrom,
		"PARLEY_SMS_FROM="+bbSMSFrom,
		"PARLEY_ADMIN_PASSWORD="+randAlnum(16),
		"PARLEY_SEND_RETRY_BASE=200ms",
		"PARLEY_RECONCILE_EVERY=1s",
		"GORACE=halt_on_error=0",
	)
	p.env = append(p.env, db.Env()...)
	p.env = append(p.env, opts.env...)

	t.Cleanup(func() {
		if pr := p.proc; pr != nil {
			_ = pr.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-pr.exited:
				if pr.waitErr != nil {
					t.Errorf("parley %s did not stop cleanly on SIGTERM: %v", p.subcommand, pr.waitErr)
				}
			case <-time.After(15 * time.Second):
				_ = pr.cmd.Process.Kill()
				<-pr.exited
				t.Errorf("parley %s still running 15s after SIGTERM; killed", p.subcommand)
			}
		}
		logs := p.log.String()
		if strings.Contains(logs, "WARNING: DATA RACE") {
			t.Errorf("the race detector reported a data race in parley %s", p.subcommand)
		}
		if t.Failed() {
			t.Logf("parley %s log:\n%s", p.subcommand, logs)
		}
	})
	p.launch(t)
	return p
}

// launch starts the process and waits until /readyz answers 200.
func (p *parley) launch(t *testing.T) {
	t.Helper()
	cmd := exec.Command(p.bin, p.subcommand)
	cmd.Env = p.env
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { pr.waitErr = cmd.Wait(); close(pr.exited) }()
	p.proc = pr

	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-pr.exited:
			t.Fatalf("parley %s exited before it was ready: %v", p.subcommand, pr.waitErr)
		default:
		}
		resp, err := p.http.Get(p.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("parley %s not ready after 20s (last: %v)", p.subcommand, err)
		}
		time.Sleep(bbPoll)
	}
}

// crash kills the process with SIGKILL: no shutdown, no draining of jobs.
func (p *parley) crash(t *testing.T) {
	t.Helper()
	pr := p.proc
	if pr == nil {
		t.Fatal("crash: parley serve is not running")
	}
	if err := pr.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 parley serve: %v", err)
	}
	<-pr.exited
	p.proc = nil
}

// restart runs the process again with the same environment: the same
// Redis database, configuration, port and fake Twilio.
func (p *parley) restart(t *testing.T) {
	t.Helper()
	if p.proc != nil {
		t.Fatal("restart: parley serve is still running")
	}
	p.launch(t)
}

// response is what a webhook answered.
type response struct {
	status      int
	contentType string
	body        string
}

func (r response) String() string {
	return fmt.Sprintf("%d %s %q", r.status, r.contentType, r.body)
}

// apiError decodes the JSON error body: {"error": ..., "code": ...}.
func (r response) apiError(t *testing.T) (message, code string) {
	t.Helper()
	var e struct{ Error, Code string }
	mt, _, _ := mime.ParseMediaType(r.contentType)
	if mt != "application/json" {
		t.Errorf("error answer has Content-Type %q, want application/json: %s", r.contentType, r)
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error answer is not JSON: %v: %s", err, r)
	}
	return e.Error, e.Code
}

// sign is how a test signs a webhook.
type sign int

const (
	signed       sign = iota // as Twilio does: auth token, public URL, params
	signedBadKey             // with another auth token
	signedLocal              // over the listen URL instead of the public one
	unsigned                 // no X-Twilio-Signature at all
)

// post sends one Twilio webhook to path.
func (p *parley) post(t *testing.T, path string, params map[string]string, how sign) response {
	t.Helper()
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	switch how {
	case signed:
		req.Header.Set("X-Twilio-Signature", channels.Sign(p.authToken, bbPublicURL+path, params))
	case signedBadKey:
		req.Header.Set("X-Twilio-Signature", channels.Sign(randAlnum(32), bbPublicURL+path, params))
	case signedLocal:
		req.Header.Set("X-Twilio-Signature", channels.Sign(p.authToken, p.base+path, params))
	}
	resp, err := p.http.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", path, err)
	}
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(body)}
}

func (p *parley) inbound(t *testing.T, params map[string]string, how sign) response {
	t.Helper()
	return p.post(t, "/webhooks/twilio/messages", params, how)
}

func (p *parley) statusCallback(t *testing.T, params map[string]string) response {
	t.Helper()
	return p.post(t, "/webhooks/twilio/status", params, signed)
}

// whatsAppIn is an inbound WhatsApp webhook's form, as Twilio posts it.
func (p *parley) whatsAppIn(number, body string) map[string]string {
	sid := "SM" + randomHex(16)
	return map[string]string{
		"SmsMessageSid": sid, "MessageSid": sid, "SmsSid": sid, "AccountSid": p.accountSID,
		"From": "whatsapp:" + number, "To": bbWhatsAppFrom, "Body": body,
		"ProfileName": "Thandi Nkosi", "WaId": strings.TrimPrefix(number, "+"),
		"NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "MessageType": "text",
		"ReferralNumMedia": "0", "ApiVersion": "2010-04-01",
	}
}

// smsIn is an inbound SMS webhook's form, as Twilio posts it.
func (p *parley) smsIn(number, body string) map[string]string {
	sid := "SM" + randomHex(16)
	return map[string]string{
		"SmsMessageSid": sid, "MessageSid": sid, "SmsSid": sid, "AccountSid": p.accountSID,
		"From": number, "To": bbSMSFrom, "Body": body, "FromCountry": "ZA", "ToCountry": "US",
		"NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
	}
}

// status is a delivery-status callback's form for an outbound message.
func (p *parley) status(sid, to, status string, errorCode string) map[string]string {
	from := bbSMSFrom
	if strings.HasPrefix(to, "whatsapp:") {
		from = bbWhatsAppFrom
	}
	f := map[string]string{
		"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
		"AccountSid": p.accountSID, "To": to, "From": from, "ApiVersion": "2010-04-01",
	}
	if errorCode != "" {
		f["ErrorCode"] = errorCode
	}
	return f
}

// send runs `parley send` with args and the server's environment.
func (p *parley) send(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append([]string{"send"}, args...)...)
	cmd.Env = p.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if strings.Contains(errOut.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector reported a data race in parley send:\n%s", errOut.String())
	}
	return out.String(), errOut.String(), err
}

// mustSend runs `parley send`, which must succeed, and returns the new
// message's id.
func (p *parley) mustSend(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := p.send(t, args...)
	if err != nil {
		t.Fatalf("parley send %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	id := strings.TrimSpace(stdout)
	if id == "" || strings.ContainsAny(id, " \n") {
		t.Fatalf("parley send %s printed %q, want one message id", strings.Join(args, " "), stdout)
	}
	return id
}

// eventually polls cond until it holds or bbWait passes; cond describes
// what it saw, for the failure message.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(bbWait)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: still not %s; last saw: %s", bbWait, what, saw)
		}
		time.Sleep(bbPoll)
	}
}

// openConversation is the id of the contact's open conversation (its chat,
// else its ticket, as `parley send` picks it), "" if it has none.
func openConversation(c engine.Contact) string {
	if c.Chat != "" {
		return c.Chat
	}
	return c.Ticket
}

// history is the contact's open conversation's messages; found is false
// when the contact or its conversation does not exist.
func (p *parley) history(t *testing.T, addr channels.Address) (msgs []engine.Message, found bool) {
	t.Helper()
	ctx := context.Background()
	c, err := p.store.Contact(ctx, addr)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("contact %s: %v", addr, err)
	}
	id := openConversation(c)
	if id == "" {
		return nil, false
	}
	msgs, err = p.store.History(ctx, id)
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	return msgs, true
}

// withBody keeps the messages whose body is body.
func withBody(msgs []engine.Message, body string) []engine.Message {
	var out []engine.Message
	for _, m := range msgs {
		if m.Body == body {
			out = append(out, m)
		}
	}
	return out
}

// only keeps the messages going in direction d (the engine may add system
// notes to a history).
func only(d engine.Direction, msgs []engine.Message) []engine.Message {
	var out []engine.Message
	for _, m := range msgs {
		if m.Direction == d {
			out = append(out, m)
		}
	}
	return out
}

// assertUnknown checks that nothing at all was stored for addr.
func (p *parley) assertUnknown(t *testing.T, addr channels.Address) {
	t.Helper()
	c, err := p.store.Contact(context.Background(), addr)
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("contact %s: got %+v, %v; want nothing stored", addr, c, err)
	}
}

func (p *parley) contact(t *testing.T, addr channels.Address) engine.Contact {
	t.Helper()
	c, err := p.store.Contact(context.Background(), addr)
	if err != nil {
		t.Fatalf("contact %s: %v", addr, err)
	}
	return c
}

func (p *parley) message(t *testing.T, id string) engine.Message {
	t.Helper()
	m, err := p.store.Message(context.Background(), id)
	if err != nil {
		t.Fatalf("message %s: %v", id, err)
	}
	return m
}

// waitMessage polls message id until cond holds.
func (p *parley) waitMessage(t *testing.T, id, what string, cond func(engine.Message) bool) engine.Message {
	t.Helper()
	var m engine.Message
	eventually(t, what, func() (bool, string) {
		m = p.message(t, id)
		return cond(m), fmt.Sprintf("status %q, error code %q, sid %q, error %q", m.Status, m.ErrorCode, m.SID, m.Error)
	})
	return m
}

// mustAccept posts a signed inbound webhook that must be stored.
func (p *parley) mustAccept(t *testing.T, params map[string]string) {
	t.Helper()
	if r := p.inbound(t, params, signed); r.status != http.StatusOK {
		t.Fatalf("inbound webhook: got %s, want 200", r)
	}
}

// assertEmptyTwiML checks a messaging webhook's answer: 200, text/xml, and
// an empty <Response>.
func assertEmptyTwiML(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("got %s, want 200", r)
	}
	if mt, _, err := mime.ParseMediaType(r.contentType); err != nil || mt != "text/xml" {
		t.Errorf("Content-Type %q, want text/xml", r.contentType)
	}
	var doc struct {
		XMLName xml.Name
		Inner   string `xml:",innerxml"`
	}
	if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("answer is not XML: %v: %q", err, r.body)
	}
	if doc.XMLName.Local != "Response" || strings.TrimSpace(doc.Inner) != "" {
		t.Errorf("answer %q, want an empty TwiML <Response></Response>", r.body)
	}
}

func TestBlackboxInboundWebhooks(t *testing.T) {
	t.Parallel()
	p := startParley(t)

	t.Run("accepted_whatsapp", func(t *testing.T) {
		in := p.whatsAppIn("+27820000001", "Hello, is anyone there?")
		assertEmptyTwiML(t, p.inbound(t, in, signed))
		all, ok := p.history(t, "whatsapp:+27820000001")
		msgs := only(engine.DirIn, all)
		if !ok || len(msgs) != 1 {
			t.Fatalf("history: found %v, %d inbound messages, want 1: %+v", ok, len(msgs), all)
		}
		m := msgs[0]
		if m.Direction != engine.DirIn || m.Body != "Hello, is anyone there?" || m.SID != in["MessageSid"] {
			t.Errorf("stored message %+v, want inbound %q with SID %s", m, in["Body"], in["MessageSid"])
		}
		c := p.contact(t, "whatsapp:+27820000001")
		if c.Name != "Thandi Nkosi" || c.WaID != "27820000001" || c.OptedOut || c.LastInbound.IsZero() {
			t.Errorf("contact %+v: want name and WaId from the webhook, last inbound set, not opted out", c)
		}
		conv, err := p.store.Conversation(context.Background(), openConversation(c))
		if err != nil || conv.Channel != channels.WhatsApp || conv.Contact != "whatsapp:+27820000001" {
			t.Errorf("conversation %+v, %v: want a WhatsApp conversation with the contact", conv, err)
		}
	})

	t.Run("accepted_sms", func(t *testing.T) {
		in := p.smsIn("+27820000002", "Where is my order?")
		assertEmptyTwiML(t, p.inbound(t, in, signed))
		all, ok := p.history(t, "sms:+27820000002")
		msgs := only(engine.DirIn, all)
		if !ok || len(msgs) != 1 || msgs[0].Body != "Where is my order?" {
			t.Fatalf("history: found %v, %+v; want 1 inbound message with the body", ok, all)
		}
		// One number on two channels is two contacts.
		p.assertUnknown(t, "whatsapp:+27820000002")
	})

	t.Run("forged", func(t *testing.T) {
		cases := []struct {
			name   string
			number string
			how    sign
			edit   func(map[string]string)
			code   string
		}{
			{"wrong_signature", "+27820000101", signedBadKey, nil, "bad_signature"},
			{"missing_signature", "+27820000102", unsigned, nil, "bad_signature"},
			{"signed_over_listen_url", "+27820000103", signedLocal, nil, "bad_signature"},
			{"wrong_account", "+27820000104", signed, func(f map[string]string) { f["AccountSid"] = "AC" + randomHex(16) }, "wrong_account"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				in := p.whatsAppIn(c.number, "let me in")
				if c.edit != nil {
					c.edit(in)
				}
				r := p.inbound(t, in, c.how)
				if r.status != http.StatusForbidden {
					t.Fatalf("got %s, want 403", r)
				}
				if _, code := r.apiError(t); code != c.code {
					t.Errorf("error code %q, want %q", code, c.code)
				}
				p.assertUnknown(t, channels.Address("whatsapp:"+c.number))
			})
		}
		// A body tampered with after signing is refused too.
		in := p.whatsAppIn("+27820000105", "original")
		sig := channels.Sign(p.authToken, bbPublicURL+"/webhooks/twilio/messages", in)
		in["Body"] = "tampered"
		form := url.Values{}
		for k, v := range in {
			form.Set(k, v)
		}
		req, _ := http.NewRequest(http.MethodPost, p.base+"/webhooks/twilio/messages", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := p.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("tampered body: got %d, want 403", resp.StatusCode)
		}
		p.assertUnknown(t, "whatsapp:+27820000105")
	})

	t.Run("duplicate", func(t *testing.T) {
		in := p.whatsAppIn("+27820000201", "sent twice")
		assertEmptyTwiML(t, p.inbound(t, in, signed))
		assertEmptyTwiML(t, p.inbound(t, in, signed))
		all, _ := p.history(t, "whatsapp:+27820000201")
		if msgs := only(engine.DirIn, all); len(msgs) != 1 {
			t.Errorf("after a retried webhook: %d inbound messages, want 1: %+v", len(msgs), all)
		}

		// Ten identical deliveries at once, for a new MessageSid.
		in = p.whatsAppIn("+27820000202", "sent ten times at once")
		var wg sync.WaitGroup
		answers := make([]response, 10)
		start := make(chan struct{})
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				answers[i] = p.inbound(t, in, signed)
			}()
		}
		close(start)
		wg.Wait()
		for i, r := range answers {
			if r.status != http.StatusOK {
				t.Errorf("concurrent delivery %d: got %s, want 200", i, r)
			}
		}
		all, _ = p.history(t, "whatsapp:+27820000202")
		if msgs := only(engine.DirIn, all); len(msgs) != 1 {
			t.Errorf("after 10 concurrent deliveries: %d inbound messages, want exactly 1: %+v", len(msgs), all)
		}
	})

	t.Run("oversized", func(t *testing.T) {
		in := p.whatsAppIn("+27820000301", strings.Repeat("x", bbMaxBody+1))
		r := p.inbound(t, in, signed)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("body over PARLEY_MAX_BODY_BYTES: got %d, want 413", r.status)
		}
		if _, code := r.apiError(t); code != "too_large" {
			t.Errorf("body over PARLEY_MAX_BODY_BYTES: error code %q, want too_large", code)
		}
		p.assertUnknown(t, "whatsapp:+27820000301")
	})

	t.Run("malformed", func(t *testing.T) {
		in := p.whatsAppIn("+27820000401", "no sender")
		delete(in, "From")
		r := p.inbound(t, in, signed)
		if r.status != http.StatusBadRequest {
			t.Fatalf("missing From: got %s, want 400", r)
		}
		if msg, code := r.apiError(t); code != "malformed" || !strings.Contains(msg, "From") {
			t.Errorf("missing From: error %q code %q, want code malformed naming From", msg, code)
		}

		in = p.whatsAppIn("+27820000402", "no sid")
		delete(in, "MessageSid")
		delete(in, "SmsMessageSid")
		delete(in, "SmsSid")
		r = p.inbound(t, in, signed)
		if r.status != http.StatusBadRequest {
			t.Fatalf("missing MessageSid: got %s, want 400", r)
		}
		if msg, code := r.apiError(t); code != "malformed" || !strings.Contains(msg, "MessageSid") {
			t.Errorf("missing MessageSid: error %q code %q, want code malformed naming MessageSid", msg, code)
		}
		p.assertUnknown(t, "whatsapp:+27820000402")
	})

	t.Run("sms_stop_start", func(t *testing.T) {
		const number, addr = "+27820000501", channels.Address("sms:+27820000501")
		p.mustAccept(t, p.smsIn(number, "Hi"))
		if p.contact(t, addr).OptedOut {
			t.Fatal("contact opted out before saying STOP")
		}
		p.mustAccept(t, p.smsIn(number, " stop "))
		if !p.contact(t, addr).OptedOut {
			t.Fatal(`after "stop": contact not opted out`)
		}
		if _, stderr, err := p.send(t, "-to", string(addr), "-body", "Are you sure?"); err == nil || !strings.Contains(stderr, "opted out") {
			t.Errorf("send to an opted-out SMS contact: err %v, stderr %q; want a failure mentioning opted out", err, stderr)
		}
		p.mustAccept(t, p.smsIn(number, "START"))
		if p.contact(t, addr).OptedOut {
			t.Fatal(`after "START": contact still opted out`)
		}
		id := p.mustSend(t, "-to", string(addr), "-body", "Welcome back")
		m := p.waitMessage(t, id, "sent to Twilio", func(m engine.Message) bool { return m.SID != "" || m.Status == channels.StatusFailed })
		if m.Status == channels.StatusFailed {
			t.Fatalf("send after START failed: %+v", m)
		}
		reqs := p.fake.requestsFor(number, "Welcome back")
		if len(reqs) != 1 || reqs[0].get("From") != bbSMSFrom {
			t.Errorf("Twilio saw %+v; want one SMS from %s with the body", reqs, bbSMSFrom)
		}
		all, _ := p.history(t, addr)
		if in := only(engine.DirIn, all); len(in) != 3 {
			t.Errorf("history %+v: want 3 inbound messages (Hi, stop, START)", all)
		}
		if out := withBody(only(engine.DirOut, all), "Welcome back"); len(out) != 1 || out[0].ID != id {
			t.Errorf("history %+v: want the reply %s once", all, id)
		}
		if refused := withBody(all, "Are you sure?"); len(refused) != 0 {
			t.Errorf("the send refused while opted out was stored: %+v", refused)
		}
	})
}

func TestBlackboxOutboundSends(t *testing.T) {
	t.Parallel()
	p := startParley(t)
	// Each subtest says how many requests Twilio must have seen for its
	// contact; the counts are checked again at the end, seconds later, to
	// catch a late resend.
	type count struct {
		to, text string
		n        int
	}
	var counts []count
	expectRequests := func(t *testing.T, to, text string, n int) {
		t.Helper()
		if got := p.fake.requestsFor(to, text); len(got) != n {
			t.Errorf("Twilio saw %d requests to %s of %q, want %d: %+v", len(got), to, text, n, got)
		}
		counts = append(counts, count{to, text, n})
	}

	t.Run("send_and_status_callbacks", func(t *testing.T) {
		const to = "whatsapp:+27820001001"
		p.mustAccept(t, p.whatsAppIn("+27820001001", "Can I get help?"))
		id := p.mustSend(t, "-to", to, "-body", "Hello")
		m := p.waitMessage(t, id, "accepted by Twilio", func(m engine.Message) bool { return m.SID != "" || m.Status == channels.StatusFailed })
		reqs := p.fake.requestsFor(to, "Hello")
		if len(reqs) != 1 {
			t.Fatalf("Twilio saw %d requests, want 1: %+v", len(reqs), reqs)
		}
		r := reqs[0]
		if r.get("Body") != "Hello" || r.get("From") != bbWhatsAppFrom || r.get("To") != to ||
			r.get("StatusCallback") != bbPublicURL+"/webhooks/twilio/status?m="+id || r.get("ContentSid") != "" {
			t.Errorf("Twilio request %v: want Body Hello, From %s, To %s, the status callback, no ContentSid", r.Form, bbWhatsAppFrom, to)
		}
		if m.SID != r.SID || m.Status != channels.StatusQueued || m.Direction != engine.DirOut || m.Body != "Hello" {
			t.Fatalf("message %+v: want queued (Twilio's answer) with SID %s", m, r.SID)
		}
		all, _ := p.history(t, to)
		if out := withBody(only(engine.DirOut, all), "Hello"); len(only(engine.DirIn, all)) != 1 || len(out) != 1 || out[0].ID != id {
			t.Errorf("history %+v: want the inbound message and %s", all, id)
		}

		// Callbacks out of order: delivered, then a late sent, then read.
		for _, step := range []struct{ status, want string }{
			{"delivered", "delivered"},
			{"sent", "delivered"},
			{"read", "read"},
		} {
			if r := p.statusCallback(t, p.status(r.SID, to, step.status, "")); r.status != http.StatusOK {
				t.Fatalf("status callback %s: got %s, want 200", step.status, r)
			}
			if got := p.message(t, id); string(got.Status) != step.want {
				t.Fatalf("after callback %q: status %q, want %q", step.status, got.Status, step.want)
			}
		}
		// A callback with a bad signature changes nothing.
		forged := p.post(t, "/webhooks/twilio/status", p.status(r.SID, to, "failed", "30008"), signedBadKey)
		if forged.status != http.StatusForbidden {
			t.Errorf("forged status callback: got %s, want 403", forged)
		}
		if got := p.message(t, id); got.Status != channels.StatusRead || got.ErrorCode != "" {
			t.Errorf("after a forged callback: %+v, want read with no error code", got)
		}

		// A second message fails at the carrier: the error code is kept.
		id2 := p.mustSend(t, "-to", to, "-body", "Are you still there?")
		m2 := p.waitMessage(t, id2, "accepted by Twilio", func(m engine.Message) bool { return m.SID != "" || m.Status == channels.StatusFailed })
		if m2.SID == "" || m2.SID == m.SID {
			t.Fatalf("second message %+v: want its own SID", m2)
		}
		for _, st := range []string{"sent", "failed"} {
			code := ""
			if st == "failed" {
				code = "30008"
			}
			if r := p.statusCallback(t, p.status(m2.SID, to, st, code)); r.status != http.StatusOK {
				t.Fatalf("status callback %s: got %s, want 200", st, r)
			}
		}
		if got := p.message(t, id2); got.Status != channels.StatusFailed || got.ErrorCode != "30008" {
			t.Errorf("after a failed callback: status %q code %q, want failed 30008", got.Status, got.ErrorCode)
		}
		if got := p.message(t, id); got.Status != channels.StatusRead {
			t.Errorf("first message changed to %q by the second's callback", got.Status)
		}
		if p.contact(t, to).OptedOut {
			t.Error("a 30008 failure opted the contact out")
		}
		expectRequests(t, to, "Hello", 1)
		expectRequests(t, to, "Are you still there?", 1)

		// A callback for an unknown SID, or a malformed one, is handled too.
		if r := p.statusCallback(t, p.status("SM"+randomHex(16), to, "delivered", "")); r.status != http.StatusOK {
			t.Errorf("callback for an unknown SID: got %s, want 200", r)
		}
		bad := p.status(m2.SID, to, "bogus", "")
		if r := p.statusCallback(t, bad); r.status != http.StatusBadRequest {
			t.Errorf("callback with an unknown MessageStatus: got %s, want 400", r)
		}
	})

	t.Run("callback_before_the_send_is_recorded", func(t *testing.T) {
		// Twilio may call back before its answer to the create call has
		// reached Parley: the status must not be lost.
		const to = "whatsapp:+27820001006"
		sid, hold := "SM"+randomHex(16), make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(hold) }) }
		defer release()
		p.fake.script(to, "Quick", twilioAnswer{SID: sid, Hold: hold})
		p.mustAccept(t, p.whatsAppIn("+27820001006", "Hi"))
		id := p.mustSend(t, "-to", to, "-body", "Quick")
		eventually(t, "the create call at Twilio", func() (bool, string) {
			n := len(p.fake.requestsFor(to, "Quick"))
			return n == 1, fmt.Sprintf("%d requests", n)
		})
		r := p.statusCallback(t, p.status(sid, to, "delivered", ""))
		release()
		if r.status != http.StatusOK {
			t.Fatalf("early status callback: got %s, want 200", r)
		}
		m := p.waitMessage(t, id, "recorded with its SID", func(m engine.Message) bool { return m.SID != "" || m.Status == channels.StatusFailed })
		if m.SID != sid || m.Status != channels.StatusDelivered {
			t.Errorf("message %+v: want SID %s and the early status delivered", m, sid)
		}
		expectRequests(t, to, "Quick", 1)
	})

	t.Run("callback_opt_out_and_wrong_account", func(t *testing.T) {
		const to = "whatsapp:+27820001007"
		p.mustAccept(t, p.whatsAppIn("+27820001007", "Hi"))
		id := p.mustSend(t, "-to", to, "-body", "Hello")
		m := p.waitMessage(t, id, "accepted by Twilio", func(m engine.Message) bool { return m.SID != "" || m.Status == channels.StatusFailed })
		if m.SID == "" {
			t.Fatalf("message %+v: want a SID", m)
		}
		// Signed with the right token but for another account: refused.
		other := p.status(m.SID, to, "failed", "21610")
		other["AccountSid"] = "AC" + randomHex(16)
		if r := p.statusCallback(t, other); r.status != http.StatusForbidden {
			t.Errorf("callback for another account: got %s, want 403", r)
		}
		if got := p.message(t, id); got.Status != channels.StatusQueued || p.contact(t, to).OptedOut {
			t.Fatalf("after a callback for another account: message %q, contact opted out %v; want nothing changed", got.Status, p.contact(t, to).OptedOut)
		}
		if r := p.statusCallback(t, p.status(m.SID, to, "undelivered", "21610")); r.status != http.StatusOK {
			t.Fatalf("undelivered callback: got %s, want 200", r)
		}
		if got := p.message(t, id); got.Status != channels.StatusUndelivered || got.ErrorCode != "21610" {
			t.Errorf("after an undelivered 21610 callback: status %q code %q, want undelivered 21610", got.Status, got.ErrorCode)
		}
		if !p.contact(t, to).OptedOut {
			t.Error("an undelivered callback with 21610 did not opt the contact out")
		}
		expectRequests(t, to, "Hello", 1)
	})

	t.Run("permanent_rejection", func(t *testing.T) {
		const to = "whatsapp:+27820001002"
		p.fake.script(to, "Hello", twilioAnswer{Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number"})
		p.mustAccept(t, p.whatsAppIn("+27820001002", "Hi"))
		id := p.mustSend(t, "-to", to, "-body", "Hello")
		m := p.waitMessage(t, id, "failed", func(m engine.Message) bool { return m.Status == channels.StatusFailed })
		if m.ErrorCode != "21211" || m.SID != "" {
			t.Errorf("message %+v: want error code 21211 and no SID", m)
		}
		expectRequests(t, to, "Hello", 1)
	})

	t.Run("transient_then_accepted", func(t *testing.T) {
		const to = "whatsapp:+27820001003"
		p.fake.script(to, "Hello after retries",
			twilioAnswer{Status: 500, Code: 20500, Message: "Internal Server Error"},
			twilioAnswer{Status: 500, Code: 20500, Message: "Internal Server Error"},
		)
		p.mustAccept(t, p.whatsAppIn("+27820001003", "Hi"))
		id := p.mustSend(t, "-to", to, "-body", "Hello after retries")
		m := p.waitMessage(t, id, "accepted by Twilio after retries", func(m engine.Message) bool {
			return m.SID != "" || m.Status == channels.StatusFailed
		})
		if m.Status == channels.StatusFailed || m.SID == "" {
			t.Fatalf("message %+v: want it sent after two 500s", m)
		}
		reqs := p.fake.requestsFor(to, "Hello after retries")
		var ok []twilioRequest
		for _, r := range reqs {
			if r.Status == http.StatusCreated {
				ok = append(ok, r)
			}
		}
		if len(ok) != 1 || ok[0].SID != m.SID {
			t.Errorf("Twilio accepted %d requests, want exactly 1 with the stored SID %s: %+v", len(ok), m.SID, reqs)
		}
		expectRequests(t, to, "Hello after retries", 3)
	})

	t.Run("opted_out_at_twilio", func(t *testing.T) {
		const to = "whatsapp:+27820001004"
		p.fake.script(to, "Hello", twilioAnswer{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"})
		p.mustAccept(t, p.whatsAppIn("+27820001004", "Hi"))
		id := p.mustSend(t, "-to", to, "-body", "Hello")
		m := p.waitMessage(t, id, "failed", func(m engine.Message) bool { return m.Status == channels.StatusFailed })
		if m.ErrorCode != "21610" {
			t.Errorf("message %+v: want error code 21610", m)
		}
		eventually(t, "contact opted out", func() (bool, string) {
			c := p.contact(t, to)
			return c.OptedOut, fmt.Sprintf("%+v", c)
		})
		stdout, stderr, err := p.send(t, "-to", to, "-body", "Hello again")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("send to an opted-out contact: err %v, want a non-zero exit", err)
		}
		if !strings.Contains(stderr, "opted out") || strings.TrimSpace(stdout) != "" {
			t.Errorf("send to an opted-out contact: stdout %q, stderr %q; want no id and an opted-out error", stdout, stderr)
		}
		all, _ := p.history(t, to)
		if out := withBody(only(engine.DirOut, all), "Hello"); len(out) != 1 || out[0].ID != id {
			t.Errorf("history %+v: want the failed message %s once", all, id)
		}
		if refused := withBody(all, "Hello again"); len(refused) != 0 {
			t.Errorf("the send refused while opted out was stored: %+v", refused)
		}
		expectRequests(t, to, "Hello", 1)
		expectRequests(t, to, "Hello again", 0)
	})

	t.Run("template", func(t *testing.T) {
		const to = "whatsapp:+27820001005"
		contentSID := "HX" + randomHex(16)
		p.mustAccept(t, p.whatsAppIn("+27820001005", "Hi"))
		id := p.mustSend(t, "-to", to, "-template", contentSID)
		m := p.waitMessage(t, id, "accepted by Twilio", func(m engine.Message) bool { return m.SID != "" || m.Status == channels.StatusFailed })
		if m.Status == channels.StatusFailed {
			t.Fatalf("template message failed: %+v", m)
		}
		reqs := p.fake.requestsFor(to, contentSID)
		if len(reqs) != 1 {
			t.Fatalf("Twilio saw %d requests, want 1", len(reqs))
		}
		if _, hasBody := reqs[0].Form["Body"]; hasBody || reqs[0].get("ContentSid") != contentSID || reqs[0].get("From") != bbWhatsAppFrom {
			t.Errorf("Twilio request %v: want ContentSid %s, no Body, From %s", reqs[0].Form, contentSID, bbWhatsAppFrom)
		}
		if m.Template == nil || m.Template.ContentSID != contentSID {
			t.Errorf("stored message %+v: want the template recorded", m)
		}
		expectRequests(t, to, contentSID, 1)
	})

	t.Run("send_usage_errors", func(t *testing.T) {
		if _, stderr, err := p.send(t, "-to", "whatsapp:+27820001099", "-body", "nobody wrote"); err == nil || !strings.Contains(stderr, "no open conversation") {
			t.Errorf("send without a conversation: err %v, stderr %q; want a failure naming the missing conversation", err, stderr)
		}
		if _, _, err := p.send(t, "-to", "whatsapp:+27820001099"); err == nil {
			t.Error("send without -body or -template succeeded")
		}
		expectRequests(t, "whatsapp:+27820001099", "nobody wrote", 0)
	})

	// Let two more reconciler sweeps (every 1s) and any job retry (200ms
	// base) pass, then check that no message was sent again.
	eventually(t, "no send left due", func() (bool, string) {
		due, err := p.store.Due(context.Background(), time.Now().Add(time.Hour), 1000)
		var sends []string
		for _, d := range due {
			if strings.HasPrefix(d, "outbox:") {
				sends = append(sends, d)
			}
		}
		return err == nil && len(sends) == 0, fmt.Sprintf("due sends %v, err %v", sends, err)
	})
	sweeps := func() int64 {
		n, _ := p.rdb.Get(context.Background(), "asynq:{low}:processed").Int64()
		return n
	}
	before := sweeps()
	eventually(t, "two more reconciler sweeps", func() (bool, string) {
		n := sweeps()
		return n >= before+2, fmt.Sprintf("%d sweeps, started at %d", n, before)
	})
	for _, c := range counts {
		if got := p.fake.requestsFor(c.to, c.text); len(got) != c.n {
			t.Errorf("at the end: Twilio saw %d requests to %s of %q, want %d: %+v", len(got), c.to, c.text, c.n, got)
		}
	}
}
