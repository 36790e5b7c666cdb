package main

// Fault tests: the real binaries under the faults production sees, each
// checked for what must survive it.
//
//   - TestBlackboxFaultWorkerKilled: the only worker is killed with SIGKILL
//     in the middle of inbound load and outbound sends, and started again.
//   - TestBlackboxFaultRedisRestart: Redis (a server of the test's own, with
//     an append-only file) is stopped under a stream of webhooks and started
//     again.
//   - TestBlackboxFaultTwilioErrors: Twilio answers 500 and 429 for a while;
//     then a permanent refusal.
//   - TestBlackboxFaultTripleDelivery: every webhook arrives three times at
//     once, at one gateway or spread over two.
//
// Everything runs on loopback: Parley, its Redis, the fake Twilio and the
// proxy in front of it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// faultWait polls cond until it holds or bound passes, and returns how long
// that took; cond describes what it saw, for the failure message.
func faultWait(t *testing.T, bound time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("%s: not after %s: %s", what, bound, state)
		}
		time.Sleep(bbPoll)
	}
}

// faultAnswer is what one webhook delivery got.
type faultAnswer struct {
	status int
	body   string
	start  time.Time
	took   time.Duration
	err    error // no answer at all
}

func (a faultAnswer) String() string {
	if a.err != nil {
		return fmt.Sprintf("no answer after %s: %v", a.took.Round(time.Millisecond), a.err)
	}
	return fmt.Sprintf("%d %q after %s", a.status, a.body, a.took.Round(time.Millisecond))
}

// faultDeliver posts one signed inbound-message webhook, as Twilio does, and
// reports the answer instead of failing the test: it runs in goroutines,
// and the tests judge the answers.
func (p *parley) faultDeliver(client *http.Client, params map[string]string) faultAnswer {
	return p.faultPost(client, "/webhooks/twilio/messages", params)
}

// faultPost posts a signed Twilio webhook to path (with its query), and
// reports how it went rather than failing the test.
func (p *parley) faultPost(client *http.Client, path string, params map[string]string) faultAnswer {
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	a := faultAnswer{start: time.Now()}
	req, err := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		a.err = err
		return a
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", channels.Sign(p.authToken, bbPublicURL+path, params))
	resp, err := client.Do(req)
	if err != nil {
		a.took, a.err = time.Since(a.start), err
		return a
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.took, a.status, a.body, a.err = time.Since(a.start), resp.StatusCode, string(body), err
	return a
}

// faultGet answers a GET with its status and how long it took.
func faultGet(client *http.Client, u string) (int, time.Duration, error) {
	start := time.Now()
	resp, err := client.Get(u)
	if err != nil {
		return 0, time.Since(start), err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}

// faultContact is one simulated customer.
type faultContact struct {
	number string // E.164
	sms    bool
}

func (c faultContact) addr() channels.Address {
	if c.sms {
		return channels.Address("sms:" + c.number)
	}
	return channels.Address("whatsapp:" + c.number)
}

// to is the contact as Twilio's To of a send.
func (c faultContact) to() string {
	if c.sms {
		return c.number
	}
	return "whatsapp:" + c.number
}

func (c faultContact) in(p *parley, body string) map[string]string {
	if c.sms {
		return p.smsIn(c.number, body)
	}
	return p.whatsAppIn(c.number, body)
}

// faultContacts makes n customers numbered from prefix, three in ten on SMS.
func faultContacts(prefix string, n int) []faultContact {
	out := make([]faultContact, n)
	for i := range out {
		out[i] = faultContact{number: fmt.Sprintf("%s%04d", prefix, i), sms: i%10 < 3}
	}
	return out
}

// faultState is everything the database holds about conversations: by
// contact, its conversations and their histories, and how often each
// inbound MessageSid is stored.
type faultState struct {
	convs   map[channels.Address][]*engine.Conversation
	history map[string][]engine.Message // by conversation id
	inbound map[string]int              // MessageSid → stored copies
	inOf    map[string]channels.Address
}

func (p *parley) faultState(t *testing.T) faultState {
	t.Helper()
	ctx := context.Background()
	s := faultState{
		convs: map[channels.Address][]*engine.Conversation{}, history: map[string][]engine.Message{},
		inbound: map[string]int{}, inOf: map[string]channels.Address{},
	}
	for _, c := range p.conversations(t) {
		msgs, err := p.store.History(ctx, c.ID)
		if err != nil {
			t.Fatalf("history of %s: %v", c.ID, err)
		}
		s.convs[c.Contact] = append(s.convs[c.Contact], c)
		s.history[c.ID] = msgs
		for _, m := range only(engine.DirIn, msgs) {
			s.inbound[m.SID]++
			s.inOf[m.SID] = c.Contact
		}
	}
	return s
}

// faultSweeps is how many reconciler runs Asynq has processed.
func (p *parley) faultSweeps() int64 {
	n, _ := p.rdb.Get(context.Background(), "asynq:{low}:processed").Int64()
	return n
}

// faultWaitSweeps waits until n more reconciler runs (one a second) have
// been processed: proof that a worker runs, or that a sweep that could
// repeat something has had its chance.
func (p *parley) faultWaitSweeps(t *testing.T, n int64, bound time.Duration, what string) {
	t.Helper()
	before := p.faultSweeps()
	faultWait(t, bound, what, func() (bool, string) {
		got := p.faultSweeps()
		return got >= before+n, fmt.Sprintf("%d reconciler runs, started at %d", got, before)
	})
}

// faultProcess is a process of the deployment (same Redis, configuration,
// secrets and fake Twilio as p; its own port) that the test can kill with
// SIGKILL and start again. When the test ends it must stop cleanly on
// SIGTERM.
type faultProcess struct {
	bin, subcommand string
	env             []string
	log             *syncBuffer
	proc            *process
}

func (p *parley) faultProcess(t *testing.T, subcommand string) *faultProcess {
	t.Helper()
	env := make([]string, 0, len(p.env)+1)
	for _, kv := range p.env {
		if !strings.HasPrefix(kv, "PARLEY_LISTEN=") {
			env = append(env, kv)
		}
	}
	env = append(env, fmt.Sprintf("PARLEY_LISTEN=127.0.0.1:%d", freePort(t)))
	fp := &faultProcess{bin: p.bin, subcommand: subcommand, env: env, log: p.log}
	t.Cleanup(func() {
		pr := fp.proc
		if pr == nil {
			return
		}
		_ = pr.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-pr.exited:
			if pr.waitErr != nil {
				t.Errorf("parley %s did not stop cleanly on SIGTERM: %v", subcommand, pr.waitErr)
			}
		case <-time.After(15 * time.Second):
			_ = pr.cmd.Process.Kill()
			<-pr.exited
			t.Errorf("parley %s still running 15s after SIGTERM; killed", subcommand)
		}
	})
	fp.start(t)
	return fp
}

func (fp *faultProcess) start(t *testing.T) {
	t.Helper()
	if fp.proc != nil {
		t.Fatalf("parley %s is already running", fp.subcommand)
	}
	cmd := exec.Command(fp.bin, fp.subcommand)
	cmd.Env, cmd.Stdout, cmd.Stderr = fp.env, fp.log, fp.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { pr.waitErr = cmd.Wait(); close(pr.exited) }()
	fp.proc = pr
}

// kill sends SIGKILL and returns once the process is gone.
func (fp *faultProcess) kill(t *testing.T) time.Time {
	t.Helper()
	pr := fp.proc
	if pr == nil {
		t.Fatalf("kill: parley %s is not running", fp.subcommand)
	}
	if err := pr.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 parley %s: %v", fp.subcommand, err)
	}
	<-pr.exited
	fp.proc = nil
	return time.Now()
}

// twilioProxy stands between Parley and the fake Twilio, as the network
// and Twilio itself do. It forwards each Messages create call to the fake
// (which checks it, records it and answers) and holds the answer for
// latency before passing it on: a send is then in flight for that long
// after Twilio has accepted it. While down, it answers every call itself
// with 500 and 429 in turn, as an overloaded Twilio does, and forwards
// nothing.
type twilioProxy struct {
	srv     *httptest.Server
	latency time.Duration
	client  *http.Client

	mu       sync.Mutex
	target   string
	accepted func(statusCallback, sid, to string) // called for each send accepted
	down     bool
	refuse   int // when set, the one status every call is answered while down
	refused  int
	inflight int
	calls    []proxyCall
}

// proxyCall is one Messages create call Parley made.
type proxyCall struct {
	to, text string
	arrived  time.Time // at the proxy
	answered time.Time // the answer left the proxy for Parley
	status   int       // what Parley was answered
	sid      string    // the SID of a 201
	refused  bool      // answered by the proxy while down, not by the fake
}

func newTwilioProxy(t *testing.T, latency time.Duration) *twilioProxy {
	x := &twilioProxy{latency: latency, client: &http.Client{Timeout: 10 * time.Second}}
	x.srv = httptest.NewServer(http.HandlerFunc(x.serve))
	t.Cleanup(x.srv.Close)
	return x
}

// URL is the base URL to give Parley as PARLEY_TWILIO_API_URL.
func (x *twilioProxy) URL() string { return x.srv.URL }

// forwardTo sets the fake Twilio the calls go to.
func (x *twilioProxy) forwardTo(target string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.target = target
}

// onAccepted sets what happens, besides the answer, when Twilio accepts a
// send: the test posts the status callbacks that Twilio would.
func (x *twilioProxy) onAccepted(f func(statusCallback, sid, to string)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.accepted = f
}

func (x *twilioProxy) setDown(down bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.down = down
}

// refuseWith answers every call with status (500 or 429) until called
// again with 0.
func (x *twilioProxy) refuseWith(status int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.down, x.refuse = status != 0, status
}

// inFlight is the number of calls not yet answered.
func (x *twilioProxy) inFlight() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.inflight
}

// callsFor returns the answered calls to `to` with Body (or ContentSid)
// text, oldest first.
func (x *twilioProxy) callsFor(to, text string) []proxyCall {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []proxyCall
	for _, c := range x.calls {
		if c.to == to && c.text == text {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].arrived.Before(out[j].arrived) })
	return out
}

func (x *twilioProxy) allCalls() []proxyCall {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.calls)
}

func (x *twilioProxy) serve(w http.ResponseWriter, r *http.Request) {
	call := proxyCall{arrived: time.Now()}
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	call.to, call.text = form.Get("To"), twilioRequest{Form: form}.text()
	x.mu.Lock()
	target, down, accepted, refuse := x.target, x.down, x.accepted, x.refuse
	x.inflight++
	if down {
		x.refused++
	}
	refusal := x.refused
	x.mu.Unlock()
	defer func() {
		call.answered = time.Now()
		x.mu.Lock()
		x.inflight--
		x.calls = append(x.calls, call)
		x.mu.Unlock()
	}()

	if down {
		call.refused = true
		if refuse == http.StatusTooManyRequests || (refuse == 0 && refusal%2 == 0) {
			call.status = http.StatusTooManyRequests
			twilioError(w, call.status, 20429, "Too Many Requests")
		} else {
			call.status = http.StatusInternalServerError
			twilioError(w, call.status, 20500, "Internal Server Error")
		}
		return
	}
	req, err := http.NewRequest(r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		call.status = http.StatusBadGateway
		http.Error(w, err.Error(), call.status)
		return
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Accept-Encoding")
	resp, err := x.client.Do(req)
	if err != nil {
		call.status = http.StatusBadGateway
		http.Error(w, err.Error(), call.status)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	call.status = resp.StatusCode
	if resp.StatusCode == http.StatusCreated {
		var created struct {
			SID string `json:"sid"`
		}
		_ = json.Unmarshal(answer, &created)
		call.sid = created.SID
		if accepted != nil {
			// Twilio's callbacks go out on their own, whether or not the
			// sender is still there to read the answer.
			go accepted(form.Get("StatusCallback"), call.sid, call.to)
		}
	}
	time.Sleep(x.latency)
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// TestBlackboxFaultWorkerKilled: a pure gateway and the only worker, on one
// Redis. 300 webhooks from 100 customers arrive in five waves while
// `parley send` queues replies; after the second wave the worker is killed
// with SIGKILL while a send is in flight at Twilio, stays down for 2.5 s
// (the inactivity deadlines of the first waves pass meanwhile), and is
// started again. Then: every acknowledged message is stored exactly once;
// every chat is converted to a ticket by its inactivity timer, exactly
// once; every queued send reaches Twilio and is recorded; and a send
// reaches Twilio twice only in the at-least-once window (accepted by
// Twilio, its answer not yet recorded when the worker died).
func TestBlackboxFaultWorkerKilled(t *testing.T) {
	t.Parallel()
	const (
		contacts   = 100
		perContact = 3
		waves      = 5
		perWave    = contacts / waves
		waveEvery  = 700 * time.Millisecond
		inactivity = 3 * time.Second
		senders    = 6 // webhook senders
		repliers   = 4 // `parley send` loops
		maxSends   = 150
		downFor    = 2500 * time.Millisecond
		// A send whose job was running when the worker died stays in
		// Asynq's active list until its lease (30 s) expired 30 s ago, and
		// a worker looks for such jobs once a minute: about a minute after
		// the kill, it runs again.
		orphanBound = 100 * time.Second
		// How late a timer may fire after its deadline (or after the
		// restart, for one that fell due while no worker ran).
		slack = 5 * time.Second
	)
	// Twilio takes 50 ms to answer a send (it is often slower).
	proxy := newTwilioProxy(t, 50*time.Millisecond)
	p := startParleyWith(t, parleyOptions{
		subcommand: "gateway",
		env: []string{
			"PARLEY_INACTIVITY_TIMEOUT=" + inactivity.String(),
			"PARLEY_AGENT_RESPONSE_TIMEOUT=10m",
			"PARLEY_TWILIO_API_URL=" + proxy.URL(),
		},
	})
	proxy.forwardTo(p.fake.URL())
	worker := p.faultProcess(t, "worker")
	p.faultWaitSweeps(t, 1, 30*time.Second, "the worker running its reconciler")

	cs := faultContacts("+2784100", contacts)
	client := &http.Client{Timeout: 15 * time.Second}

	// Twilio reports each send it accepted as sent, at the callback URL the
	// send gave, which names the message: so even a send whose answer the
	// killed worker never read is recorded, and not sent again.
	var (
		callbackMu   sync.Mutex
		callbackErrs []string
	)
	proxy.onAccepted(func(statusCallback, sid, to string) {
		a := p.faultPost(client, strings.TrimPrefix(statusCallback, bbPublicURL), p.status(sid, to, "sent", ""))
		if a.err != nil || a.status != http.StatusOK {
			callbackMu.Lock()
			callbackErrs = append(callbackErrs, fmt.Sprintf("callback for %s to %s: %d %v %s", sid, statusCallback, a.status, a.err, a.body))
			callbackMu.Unlock()
		}
	})

	// The inbound load. A delivery that is not answered 200 is retried
	// twice, 200 ms apart, as Twilio does with #rc=3&rp=all.
	type inbound struct {
		contact  int
		sid      string
		answers  []faultAnswer
		acked    bool
		answered time.Time
	}
	var (
		inMu     sync.Mutex
		received []*inbound
	)
	deliver := func(ci int, params map[string]string) {
		rec := &inbound{contact: ci, sid: params["MessageSid"]}
		for attempt := range 3 {
			if attempt > 0 {
				time.Sleep(200 * time.Millisecond)
			}
			a := p.faultDeliver(client, params)
			rec.answers = append(rec.answers, a)
			if a.err == nil && a.status == http.StatusOK {
				rec.acked, rec.answered = true, time.Now()
				break
			}
		}
		inMu.Lock()
		received = append(received, rec)
		inMu.Unlock()
	}

	// The outbound load: `parley send` to customers of the waves done.
	type send struct {
		id      string
		contact int
		body    string
	}
	var (
		sendMu    sync.Mutex
		sends     []send
		sendErrs  []string
		wavesDone atomic.Int32
		stopSends = make(chan struct{})
		sendWG    sync.WaitGroup
		sendCount atomic.Int32
	)
	for g := range repliers {
		sendWG.Go(func() {
			for wavesDone.Load() == 0 {
				select {
				case <-stopSends:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			for k := g; ; k += repliers {
				select {
				case <-stopSends:
					return
				default:
				}
				n := int(sendCount.Add(1))
				if n > maxSends {
					return
				}
				ci := (k * 7) % (int(wavesDone.Load()) * perWave)
				body := fmt.Sprintf("fault reply %d", n)
				stdout, stderr, err := p.send(t, "-to", string(cs[ci].addr()), "-body", body)
				sendMu.Lock()
				if err != nil {
					sendErrs = append(sendErrs, fmt.Sprintf("send %q to %s: %v: %s", body, cs[ci].addr(), err, stderr))
				} else {
					sends = append(sends, send{id: strings.TrimSpace(stdout), contact: ci, body: body})
				}
				sendMu.Unlock()
			}
		})
	}

	var (
		killStart, killedAt, restartedAt time.Time
		loadStart                        = time.Now()
	)
	for wv := range waves {
		time.Sleep(time.Until(loadStart.Add(time.Duration(wv) * waveEvery)))
		jobs := make(chan [2]int) // contact, message
		var wg sync.WaitGroup
		for range senders {
			wg.Go(func() {
				for j := range jobs {
					ci := j[0]
					deliver(ci, cs[ci].in(p, fmt.Sprintf("fault in %d.%d", ci, j[1])))
				}
			})
		}
		for m := range perContact {
			for ci := wv * perWave; ci < (wv+1)*perWave; ci++ {
				jobs <- [2]int{ci, m}
			}
		}
		close(jobs)
		wg.Wait()
		wavesDone.Store(int32(wv + 1))
		if wv == 1 {
			// Kill the worker while Twilio holds a send it has accepted.
			for end := time.Now().Add(3 * time.Second); proxy.inFlight() == 0 && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
			killStart = time.Now()
			killedAt = worker.kill(t)
			t.Logf("worker killed %s into the load, about %d sends in flight at Twilio, %d sends queued so far",
				killedAt.Sub(loadStart).Round(time.Millisecond), proxy.inFlight(), sendCount.Load())
		}
	}
	loadEnd := time.Now()
	time.Sleep(time.Until(killedAt.Add(downFor)))
	worker.start(t)
	restartedAt = time.Now()
	p.faultWaitSweeps(t, 1, 30*time.Second, "the restarted worker running its reconciler")
	time.Sleep(2 * time.Second) // replies go on a little after the restart
	close(stopSends)
	sendWG.Wait()
	t.Logf("load: %d webhooks in %s; worker down %s; %d sends queued",
		len(received), loadEnd.Sub(loadStart).Round(time.Millisecond), restartedAt.Sub(killedAt).Round(time.Millisecond), len(sends))
	for _, e := range sendErrs {
		t.Errorf("parley send failed: %s", e)
	}

	// No customer's messages may span an inactivity timeout, or a chat
	// could rightly be converted, and a new one started, between them.
	first, last := map[int]time.Time{}, map[int]time.Time{}
	var retried, lost int
	for _, r := range received {
		if len(r.answers) > 1 {
			retried++
		}
		if !r.acked {
			lost++
			t.Errorf("webhook %s of %s never answered 200: %v", r.sid, cs[r.contact].addr(), r.answers)
			continue
		}
		s := r.answers[0].start
		if f, ok := first[r.contact]; !ok || s.Before(f) {
			first[r.contact] = s
		}
		if r.answered.After(last[r.contact]) {
			last[r.contact] = r.answered
		}
	}
	t.Logf("inbound: %d webhooks, %d needed a retry, %d never answered 200", len(received), retried, lost)
	for ci := range cs {
		if span := last[ci].Sub(first[ci]); span > inactivity-time.Second {
			t.Fatalf("%s: messages spread over %s, too close to the inactivity timeout %s for this test", cs[ci].addr(), span, inactivity)
		}
	}

	// Every chat becomes a ticket through its inactivity timer.
	faultWait(t, 30*time.Second, "every chat converted to a ticket", func() (bool, string) {
		waiting := 0
		for _, c := range cs {
			ct, err := p.store.Contact(context.Background(), c.addr())
			if err != nil || ct.Chat != "" || ct.Ticket == "" {
				waiting++
			}
		}
		return waiting == 0, fmt.Sprintf("%d of %d contacts still have a chat", waiting, len(cs))
	})
	t.Logf("every chat converted by %s after the restart", time.Since(restartedAt).Round(time.Millisecond))

	// Every queued send reaches Twilio and has its SID recorded. A send
	// whose job was running when the worker died waits for Asynq to give
	// the job up: about a minute.
	faultWait(t, orphanBound, "every queued send handed to Twilio", func() (bool, string) {
		var waiting []string
		for _, s := range sends {
			m := p.message(t, s.id)
			if m.SID == "" && m.Status != channels.StatusFailed {
				waiting = append(waiting, s.id)
			}
		}
		return len(waiting) == 0 && proxy.inFlight() == 0, fmt.Sprintf("%d of %d sends waiting: %v", len(waiting), len(sends), waiting)
	})
	t.Logf("every send recorded by %s after the kill", time.Since(killedAt).Round(time.Millisecond))

	// Twilio reports each accepted send as sent.
	for _, s := range sends {
		m := p.message(t, s.id)
		if m.SID == "" {
			continue
		}
		if r := p.statusCallback(t, p.status(m.SID, cs[s.contact].to(), "sent", "")); r.status != http.StatusOK {
			t.Errorf("status callback for %s: %s", s.id, r)
		}
	}

	// Then nothing may happen twice: let two more reconciler sweeps (and any
	// wake-up or send job still around) run before looking.
	p.faultWaitSweeps(t, 2, 30*time.Second, "two more reconciler sweeps")
	st := p.faultState(t)

	// Inbound: every acknowledged message stored exactly once, on its
	// contact's one conversation.
	acked := map[int]int{}
	for _, r := range received {
		n := st.inbound[r.sid]
		switch {
		case r.acked && n != 1:
			t.Errorf("webhook %s of %s answered 200 but stored %d times", r.sid, cs[r.contact].addr(), n)
		case !r.acked && n != 0:
			t.Errorf("webhook %s of %s never answered 200 but stored %d times (answers %v)", r.sid, cs[r.contact].addr(), n, r.answers)
		}
		if r.acked {
			acked[r.contact]++
			if got := st.inOf[r.sid]; got != cs[r.contact].addr() {
				t.Errorf("webhook %s of %s stored on a conversation of %s", r.sid, cs[r.contact].addr(), got)
			}
		}
	}
	var lateness []time.Duration
	for ci, c := range cs {
		convs := st.convs[c.addr()]
		if len(convs) != 1 {
			t.Errorf("%s: %d conversations, want 1", c.addr(), len(convs))
			continue
		}
		conv := convs[0]
		msgs := st.history[conv.ID]
		if in := len(only(engine.DirIn, msgs)); in != acked[ci] {
			t.Errorf("%s: %d inbound messages stored, %d acknowledged", c.addr(), in, acked[ci])
		}
		// Timers: converted exactly once, not before the deadline, and
		// soon after it (or after the restart).
		if conv.Kind != engine.KindTicket || conv.State != engine.StateUnassigned {
			t.Errorf("%s: %s, want an unassigned ticket", c.addr(), describe(conv))
			continue
		}
		conversions := notes(msgs, "Converted to a ticket")
		if len(conversions) != 1 {
			t.Errorf("%s: converted %d times, want once: %q", c.addr(), len(conversions), bodies(msgs))
			continue
		}
		deadline := conv.LastCustomerAt.Add(inactivity)
		since := deadline
		if deadline.After(killedAt) && deadline.Before(restartedAt) {
			since = restartedAt
		}
		at := conversions[0].At
		if at.Before(deadline) || at.Sub(since) > slack {
			t.Errorf("%s: converted at %s, deadline %s; want no earlier, and at most %s after %s",
				c.addr(), at.Format(time.StampMilli), deadline.Format(time.StampMilli), slack, since.Format(time.StampMilli))
		}
		lateness = append(lateness, at.Sub(since))
		if n := len(notes(msgs, "Chat assigned to")); n != 1 {
			t.Errorf("%s: routed %d times, want once", c.addr(), n)
		}
	}
	if len(lateness) > 0 {
		slices.Sort(lateness)
		diedWith := 0
		for _, c := range cs {
			if convs := st.convs[c.addr()]; len(convs) == 1 {
				if d := convs[0].LastCustomerAt.Add(inactivity); d.After(killedAt) && d.Before(restartedAt) {
					diedWith++
				}
			}
		}
		t.Logf("timers: %d conversions, %d of them due while no worker ran; lateness after the deadline (or the restart) median %s, max %s",
			len(lateness), diedWith, lateness[len(lateness)/2].Round(time.Millisecond), lateness[len(lateness)-1].Round(time.Millisecond))
	}
	if a, err := p.store.Agent(context.Background(), "blackbox-agent"); err != nil {
		t.Error(err)
	} else if a.Load != 0 {
		t.Errorf("agent load %d after every chat was converted, want 0", a.Load)
	}

	// Outbound: every send recorded with the SID of a call Twilio
	// accepted, then sent; count the ones Twilio got twice.
	var twice int
	ours := map[[2]string]bool{}
	for _, s := range sends {
		c := cs[s.contact]
		ours[[2]string{c.to(), s.body}] = true
		m := p.message(t, s.id)
		if m.Status != channels.StatusSent || m.SID == "" {
			t.Errorf("send %s (%q to %s): status %q SID %q error %q %q, want sent", s.id, s.body, c.to(), m.Status, m.SID, m.ErrorCode, m.Error)
		}
		var accepted []proxyCall
		for _, call := range proxy.callsFor(c.to(), s.body) {
			if call.status == http.StatusCreated {
				accepted = append(accepted, call)
			}
		}
		if len(p.fake.requestsFor(c.to(), s.body)) != len(accepted) {
			t.Errorf("send %s: the fake recorded %d requests, the proxy %d accepted", s.id, len(p.fake.requestsFor(c.to(), s.body)), len(accepted))
		}
		switch {
		case len(accepted) == 0:
			t.Errorf("send %s (%q to %s): Twilio never accepted it", s.id, s.body, c.to())
			continue
		case len(accepted) == 1:
			if accepted[0].sid != m.SID {
				t.Errorf("send %s: stored SID %q, Twilio accepted it as %q", s.id, m.SID, accepted[0].sid)
			}
			continue
		}
		twice++
		var detail []string
		for _, a := range accepted {
			detail = append(detail, fmt.Sprintf("accepted as %s: arrived %s, answer left %s (relative to the kill)",
				a.sid, a.arrived.Sub(killedAt).Round(time.Millisecond), a.answered.Sub(killedAt).Round(time.Millisecond)))
		}
		t.Errorf("send %s (%q to %s) went %d times; stored SID %s; %s", s.id, s.body, c.to(), len(accepted), m.SID, strings.Join(detail, "; "))
	}
	for _, call := range proxy.allCalls() {
		if !ours[[2]string{call.to, call.text}] {
			t.Errorf("Twilio got a send the test did not queue: %q to %s", call.text, call.to)
		}
	}
	// In flight at the kill: calls that reached Twilio before the worker was
	// gone and whose answers had not left when it was signalled, so it could
	// not have recorded them. Counted from the proxy's log afterwards: a
	// count taken just before the kill misses a call that slips in between.
	inFlightAtKill := 0
	for _, c := range proxy.allCalls() {
		if !c.refused && c.arrived.Before(killedAt) && c.answered.After(killStart) {
			inFlightAtKill++
		}
	}
	// Each send in flight at the kill was recorded by its callback, so none
	// went twice (checked per send above).
	t.Logf("sends: %d queued, %d sent twice, %d were in flight at Twilio when the worker was killed",
		len(sends), twice, inFlightAtKill)
	for _, e := range callbackErrs {
		t.Errorf("status callback not taken: %s", e)
	}
	// An outbox whose head's send was recorded by its callback, not by the
	// killed worker, is moved on by the reconciler's next sweeps.
	faultWait(t, 30*time.Second, "no outbox left due", func() (bool, string) {
		due, err := p.store.Due(context.Background(), time.Now().Add(time.Hour), 10000)
		var left []string
		for _, d := range due {
			if strings.HasPrefix(d, "outbox:") {
				left = append(left, d)
			}
		}
		return err == nil && len(left) == 0, fmt.Sprintf("still due: %v (%v)", left, err)
	})
}

// redisServer is a redis-server of the test's own, which it stops and
// starts again: append-only, fsync after every write, so a stop loses
// nothing Redis acknowledged.
type redisServer struct {
	port int
	dir  string
	log  *syncBuffer
	proc *process
}

func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	rs := &redisServer{port: freePort(t), dir: t.TempDir(), log: &syncBuffer{}}
	t.Cleanup(func() {
		if rs.proc != nil {
			rs.stop(t)
		}
		if t.Failed() {
			t.Logf("redis-server log:\n%s", rs.log.String())
		}
	})
	rs.start(t)
	return rs
}

func (rs *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", rs.port) }

func (rs *redisServer) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(rs.port), "--bind", "127.0.0.1",
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", rs.dir,
		"--daemonize", "no", "--loglevel", "notice")
	cmd.Stdout, cmd.Stderr = rs.log, rs.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { pr.waitErr = cmd.Wait(); close(pr.exited) }()
	rs.proc = pr
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rs.port), MaxRetries: -1})
	defer c.Close()
	faultWait(t, 10*time.Second, "redis-server answering", func() (bool, string) {
		select {
		case <-pr.exited:
			t.Fatalf("redis-server exited: %v\n%s", pr.waitErr, rs.log.String())
		default:
		}
		err := c.Ping(context.Background()).Err()
		return err == nil, fmt.Sprint(err)
	})
}

// stop sends SIGTERM (Redis then writes and syncs its append-only file)
// and waits until the server has exited.
func (rs *redisServer) stop(t *testing.T) {
	t.Helper()
	pr := rs.proc
	_ = pr.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-pr.exited:
	case <-time.After(15 * time.Second):
		_ = pr.cmd.Process.Kill()
		<-pr.exited
		t.Errorf("redis-server still running 15s after SIGTERM; killed")
	}
	rs.proc = nil
}

// TestBlackboxFaultRedisRestart: `parley serve` on a Redis of its own. A
// stream of webhooks runs while Redis is stopped (SIGTERM), stays away for
// 3 s and is started again on the same append-only file. While it is away
// every webhook and /readyz answer 503 within a bound; once it is back
// Parley recovers by itself; and every message answered 200, before,
// during or after, is stored exactly once. The ones answered 503 are
// delivered again, as Twilio does with #rc=...&rp=all, and are then stored
// once.
func TestBlackboxFaultRedisRestart(t *testing.T) {
	t.Parallel()
	const (
		contacts = 10
		// bound is the longest a webhook may take to answer while Redis
		// is away (Twilio gives up on a webhook after 15 s).
		bound      = 5 * time.Second
		downFor    = 3 * time.Second
		recoverMax = 15 * time.Second
		// settle is how long after Parley's first 200 a 503 may still
		// come. go-redis stops dialling after a run of refused dials and
		// answers new connections with the last dial error until its
		// background re-dial, once a second, succeeds; a webhook that
		// needs a new connection in that second is answered 503 (and
		// Twilio's retry stores it, as checked below).
		settle = 1500 * time.Millisecond
	)
	rs := startRedisServer(t)
	p := startParleyWith(t, parleyOptions{redisURL: rs.url()})
	cs := faultContacts("+2784200", contacts)
	client := &http.Client{Timeout: 20 * time.Second}

	type delivery struct {
		contact int
		params  map[string]string
		answer  faultAnswer
	}
	var (
		mu      sync.Mutex
		sent    []*delivery
		stop    = make(chan struct{})
		senders sync.WaitGroup
	)
	// Three senders, as Twilio has several webhooks in flight at once.
	for g := range 3 {
		senders.Go(func() {
			for i := g; ; i += 3 {
				select {
				case <-stop:
					return
				default:
				}
				ci := i % contacts
				d := &delivery{contact: ci, params: cs[ci].in(p, fmt.Sprintf("redis fault %d", i))}
				d.answer = p.faultDeliver(client, d.params)
				mu.Lock()
				sent = append(sent, d)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	snapshot := func() []*delivery {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}

	time.Sleep(1500 * time.Millisecond)
	stoppedAt := time.Now()
	rs.stop(t)
	goneAt := time.Now()
	t.Logf("redis-server stopped in %s", goneAt.Sub(stoppedAt).Round(time.Millisecond))

	// While Redis is away: /readyz answers 503, promptly.
	var readyz []time.Duration
	for range 3 {
		status, took, err := faultGet(client, p.base+"/readyz")
		if err != nil || status != http.StatusServiceUnavailable || took > bound {
			t.Errorf("/readyz with Redis away: status %d after %s (%v), want 503 within %s", status, took, err, bound)
		}
		readyz = append(readyz, took.Round(time.Millisecond))
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("/readyz with Redis away answered 503 after %v", readyz)
	time.Sleep(time.Until(goneAt.Add(downFor)))
	rs.start(t)
	upAt := time.Now()

	// Parley recovers by itself: webhooks answer 200 again.
	var back *delivery
	faultWait(t, recoverMax, "a webhook answered 200 after Redis came back", func() (bool, string) {
		for _, d := range snapshot() {
			if d.answer.start.After(upAt) && d.answer.status == http.StatusOK {
				back = d
				return true, ""
			}
		}
		return false, "no webhook sent since answered 200"
	})
	t.Logf("Parley answered 200 again %s after Redis was back", back.answer.start.Add(back.answer.took).Sub(upAt).Round(time.Millisecond))
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	senders.Wait()
	if status, _, err := faultGet(client, p.base+"/readyz"); err != nil || status != http.StatusOK {
		t.Errorf("/readyz after Redis came back: %d %v, want 200", status, err)
	}
	select {
	case <-p.proc.exited:
		t.Fatalf("parley serve exited: %v", p.proc.waitErr)
	default:
	}

	// Judge every answer by when the webhook was sent.
	all := snapshot()
	var before, away, after, unavailable []*delivery
	var awayTook []time.Duration
	for _, d := range all {
		a := d.answer
		end := a.start.Add(a.took)
		switch {
		case end.Before(stoppedAt):
			before = append(before, d)
			if a.err != nil || a.status != http.StatusOK {
				t.Errorf("webhook before Redis stopped: %s, want 200", a)
			}
		case a.start.After(goneAt) && end.Before(upAt):
			away = append(away, d)
			awayTook = append(awayTook, a.took)
			if a.err != nil || a.status != http.StatusServiceUnavailable || a.took > bound {
				t.Errorf("webhook while Redis was away: %s, want 503 within %s", a, bound)
			} else if !strings.Contains(a.body, `"unavailable"`) {
				t.Errorf("webhook while Redis was away: body %q, want the JSON error with code unavailable", a.body)
			}
		case a.start.After(back.answer.start.Add(settle)):
			after = append(after, d)
			if a.err != nil || a.status != http.StatusOK {
				t.Errorf("webhook after Parley recovered: %s, want 200", a)
			}
		default: // across the stop or the start: 200 or 503
			if a.err != nil || (a.status != http.StatusOK && a.status != http.StatusServiceUnavailable) {
				t.Errorf("webhook across Redis's stop or start: %s, want 200 or 503", a)
			}
		}
		if a.err == nil && a.status != http.StatusOK {
			unavailable = append(unavailable, d)
		}
	}
	t.Logf("webhooks: %d in all; %d before the stop, %d while Redis was away, %d after recovery; %d answered other than 200",
		len(all), len(before), len(away), len(after), len(unavailable))
	if len(away) < 5 {
		t.Fatalf("only %d webhooks while Redis was away; the test needs more", len(away))
	}
	slices.Sort(awayTook)
	t.Logf("answers while Redis was away: min %s, median %s, max %s",
		awayTook[0].Round(time.Millisecond), awayTook[len(awayTook)/2].Round(time.Millisecond), awayTook[len(awayTook)-1].Round(time.Millisecond))

	// A message answered 503 may be stored all the same (the write
	// reached Redis, the answer did not come back); count them, then
	// deliver every one again, as Twilio would.
	st := p.faultState(t)
	storedAnyway := 0
	for _, d := range unavailable {
		if n := st.inbound[d.params["MessageSid"]]; n > 0 {
			storedAnyway++
			t.Logf("webhook %s answered %s was stored all the same", d.params["MessageSid"], d.answer)
		}
	}
	t.Logf("%d of the %d webhooks answered 503 were stored all the same", storedAnyway, len(unavailable))
	for _, d := range unavailable {
		if a := p.faultDeliver(client, d.params); a.err != nil || a.status != http.StatusOK {
			t.Errorf("webhook %s delivered again: %s, want 200", d.params["MessageSid"], a)
		}
	}

	// Every message is stored exactly once, on its contact's one
	// conversation: nothing acknowledged was lost with the restart.
	st = p.faultState(t)
	perContact := map[channels.Address]int{}
	for _, d := range all {
		sid, addr := d.params["MessageSid"], cs[d.contact].addr()
		perContact[addr]++
		if n := st.inbound[sid]; n != 1 {
			t.Errorf("webhook %s of %s (first answered %s) stored %d times, want once", sid, addr, d.answer, n)
		} else if st.inOf[sid] != addr {
			t.Errorf("webhook %s of %s stored on a conversation of %s", sid, addr, st.inOf[sid])
		}
	}
	for _, c := range cs {
		convs := st.convs[c.addr()]
		if len(convs) != 1 {
			t.Errorf("%s: %d conversations, want 1", c.addr(), len(convs))
			continue
		}
		if n := len(only(engine.DirIn, st.history[convs[0].ID])); n != perContact[c.addr()] {
			t.Errorf("%s: %d inbound messages stored, %d sent", c.addr(), n, perContact[c.addr()])
		}
	}
}

// TestBlackboxFaultTwilioErrors: Twilio answers every send with 500 and 429
// in turn until each queued send has been refused at least twice; then it
// accepts. Every send backs off and ends sent, none failed, each accepted
// once. A permanent refusal (400, code 21211) ends the message failed at
// once, with that code, and is not tried again.
func TestBlackboxFaultTwilioErrors(t *testing.T) {
	t.Parallel()
	const (
		contacts   = 10
		perContact = 2
		retries    = 8 // PARLEY_SEND_RETRIES
		base       = 200 * time.Millisecond
	)
	proxy := newTwilioProxy(t, 0)
	p := startParleyWith(t, parleyOptions{env: []string{
		"PARLEY_TWILIO_API_URL=" + proxy.URL(),
		fmt.Sprintf("PARLEY_SEND_RETRIES=%d", retries),
		"PARLEY_SEND_RETRY_BASE=" + base.String(),
	}})
	proxy.forwardTo(p.fake.URL())
	cs := faultContacts("+2784300", contacts)
	for _, c := range cs {
		p.mustAccept(t, c.in(p, "Hello"))
	}

	proxy.setDown(true)
	downAt := time.Now()
	type send struct {
		id   string
		c    faultContact
		body string
	}
	var (
		mu    sync.Mutex
		sends []send
		wg    sync.WaitGroup
	)
	for ci, c := range cs {
		wg.Go(func() {
			for k := range perContact {
				body := fmt.Sprintf("twilio fault %d.%d", ci, k)
				stdout, stderr, err := p.send(t, "-to", string(c.addr()), "-body", body)
				if err != nil {
					t.Errorf("parley send %q: %v: %s", body, err, stderr)
					continue
				}
				mu.Lock()
				sends = append(sends, send{strings.TrimSpace(stdout), c, body})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// A contact's sends wait behind its first (the outbox keeps their
	// order), so it is the first that is refused again and again.
	faultWait(t, 30*time.Second, "every contact's first send refused twice", func() (bool, string) {
		short := 0
		for ci, c := range cs {
			if len(proxy.callsFor(c.to(), fmt.Sprintf("twilio fault %d.0", ci))) < 2 {
				short++
			}
		}
		return short == 0, fmt.Sprintf("%d of %d contacts refused fewer than twice", short, len(cs))
	})
	for _, s := range sends {
		if m := p.message(t, s.id); m.Status != channels.StatusQueued || m.SID != "" {
			t.Errorf("send %s while Twilio refused: status %q SID %q error %q, want still queued", s.id, m.Status, m.SID, m.ErrorCode)
		}
	}
	proxy.setDown(false)
	upAt := time.Now()
	t.Logf("Twilio refused every send for %s", upAt.Sub(downAt).Round(time.Millisecond))

	faultWait(t, 30*time.Second, "every send accepted after the refusals", func() (bool, string) {
		waiting := 0
		for _, s := range sends {
			if m := p.message(t, s.id); m.SID == "" && m.Status != channels.StatusFailed {
				waiting++
			}
		}
		return waiting == 0, fmt.Sprintf("%d of %d sends waiting", waiting, len(sends))
	})
	t.Logf("every send accepted %s after Twilio recovered", time.Since(upAt).Round(time.Millisecond))

	// The permanent refusal, now that Twilio answers again.
	perm := cs[0]
	p.fake.script(perm.to(), "twilio fault permanent", twilioAnswer{Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number"})
	queuedAt := time.Now()
	permID := p.mustSend(t, "-to", string(perm.addr()), "-body", "twilio fault permanent")
	pm := p.waitMessage(t, permID, "failed", func(m engine.Message) bool { return m.Status == channels.StatusFailed || m.SID != "" })
	t.Logf("the permanent refusal was recorded %s after the send was queued", time.Since(queuedAt).Round(time.Millisecond))
	if pm.Status != channels.StatusFailed || pm.ErrorCode != "21211" || pm.SID != "" {
		t.Errorf("permanently refused send: status %q code %q SID %q, want failed 21211 and no SID", pm.Status, pm.ErrorCode, pm.SID)
	}

	// Two reconciler sweeps later, nothing was tried again.
	p.faultWaitSweeps(t, 2, 30*time.Second, "two more reconciler sweeps")
	if calls := proxy.callsFor(perm.to(), "twilio fault permanent"); len(calls) != 1 {
		t.Errorf("permanently refused send tried %d times, want once: %+v", len(calls), calls)
	}
	if m := p.message(t, permID); m.Status != channels.StatusFailed || m.ErrorCode != "21211" {
		t.Errorf("permanently refused send later: status %q code %q, want failed 21211", m.Status, m.ErrorCode)
	}
	var attempts []int
	var firstGaps []time.Duration
	for _, s := range sends {
		m := p.message(t, s.id)
		if m.Status == channels.StatusFailed || m.SID == "" || m.ErrorCode != "" {
			t.Errorf("send %s: status %q SID %q error %q %q, want sent with no error", s.id, m.Status, m.SID, m.ErrorCode, m.Error)
		}
		calls := proxy.callsFor(s.c.to(), s.body)
		var ok []proxyCall
		var times []string
		for i, c := range calls {
			if c.status == http.StatusCreated {
				ok = append(ok, c)
			} else if !c.refused {
				t.Errorf("send %s: Twilio itself answered %d", s.id, c.status)
			}
			if i > 0 {
				times = append(times, c.arrived.Sub(calls[i-1].arrived).Round(time.Millisecond).String())
			}
		}
		if len(ok) != 1 || ok[0].sid != m.SID {
			t.Errorf("send %s: Twilio accepted it %d times (%+v), want once, as the stored SID %s", s.id, len(ok), ok, m.SID)
		}
		if n := len(p.fake.requestsFor(s.c.to(), s.body)); n != 1 {
			t.Errorf("send %s reached the fake %d times, want once", s.id, n)
		}
		// Back-off: never more tries than retries allow, and retry i (from
		// 1) comes no sooner than base*2^(i-1) after the refusal before it.
		if len(calls) > retries+1 {
			t.Errorf("send %s tried %d times, more than 1 + %d retries", s.id, len(calls), retries)
		}
		attempts = append(attempts, len(calls))
		if len(calls) > 1 {
			firstGaps = append(firstGaps, calls[1].arrived.Sub(calls[0].arrived))
		}
		for i := 1; i < len(calls); i++ {
			gap, want := calls[i].arrived.Sub(calls[i-1].answered), base<<(i-1)
			if gap < want {
				t.Errorf("send %s: retry %d came %s after the refusal, want at least %s (the back-off); gaps between tries %v",
					s.id, i, gap.Round(time.Millisecond), want, times)
			}
		}
		t.Logf("send %s: %d tries, gaps %v", s.id, len(calls), times)
	}
	slices.Sort(attempts)
	slices.Sort(firstGaps)
	if len(attempts) > 0 && len(firstGaps) > 0 {
		t.Logf("tries per send: min %d, median %d, max %d; first retry after min %s, median %s, max %s (configured %s)",
			attempts[0], attempts[len(attempts)/2], attempts[len(attempts)-1],
			firstGaps[0].Round(time.Millisecond), firstGaps[len(firstGaps)/2].Round(time.Millisecond), firstGaps[len(firstGaps)-1].Round(time.Millisecond), base)
	}
}

// TestBlackboxFaultTripleDelivery: every webhook delivered three times at
// once, to one gateway, and across two gateways. Each message is stored
// once, each contact has one conversation, routed once.
func TestBlackboxFaultTripleDelivery(t *testing.T) {
	t.Parallel()
	for _, gateways := range []int{1, 2} {
		t.Run(fmt.Sprintf("gateways_%d", gateways), func(t *testing.T) {
			t.Parallel()
			const contacts, perContact, copies, senders = 30, 3, 3, 8
			p := startParley(t)
			targets := []*parley{p}
			if gateways == 2 {
				targets = append(targets, p.at(p.sibling(t, "gateway")))
			}
			cs := faultContacts(fmt.Sprintf("+278440%d", gateways), contacts)
			client := &http.Client{Timeout: 15 * time.Second}

			type msg struct {
				contact int
				params  map[string]string
			}
			var (
				jobs    = make(chan msg)
				mu      sync.Mutex
				answers = map[string][]faultAnswer{}
				wg      sync.WaitGroup
			)
			for range senders {
				wg.Go(func() {
					for m := range jobs {
						got := make([]faultAnswer, copies)
						start := make(chan struct{})
						var cw sync.WaitGroup
						for k := range copies {
							gw := targets[(k+m.contact)%len(targets)]
							cw.Go(func() {
								<-start
								got[k] = gw.faultDeliver(client, m.params)
							})
						}
						close(start)
						cw.Wait()
						mu.Lock()
						answers[m.params["MessageSid"]] = got
						mu.Unlock()
					}
				})
			}
			began := time.Now()
			for j := range perContact {
				for ci, c := range cs {
					jobs <- msg{ci, c.in(p, fmt.Sprintf("triple %d.%d", ci, j))}
				}
			}
			close(jobs)
			wg.Wait()
			t.Logf("%d messages delivered %d times each in %s", len(answers), copies, time.Since(began).Round(time.Millisecond))

			var slowest time.Duration
			for sid, got := range answers {
				for k, a := range got {
					slowest = max(slowest, a.took)
					if a.err != nil || a.status != http.StatusOK {
						t.Errorf("webhook %s, copy %d: %s, want 200", sid, k, a)
					}
				}
			}
			t.Logf("slowest answer %s", slowest.Round(time.Millisecond))

			st := p.faultState(t)
			for sid := range answers {
				if n := st.inbound[sid]; n != 1 {
					t.Errorf("webhook %s delivered %d times stored %d times, want once", sid, copies, n)
				}
			}
			for _, c := range cs {
				convs := st.convs[c.addr()]
				if len(convs) != 1 {
					var ids []string
					for _, cv := range convs {
						ids = append(ids, describe(cv))
					}
					t.Errorf("%s: %d conversations, want 1: %v", c.addr(), len(convs), ids)
					continue
				}
				msgs := st.history[convs[0].ID]
				if n := len(only(engine.DirIn, msgs)); n != perContact {
					t.Errorf("%s: %d inbound messages, want %d", c.addr(), n, perContact)
				}
				if n := len(notes(msgs, "Chat assigned to")); n != 1 || convs[0].State != engine.StateLive {
					t.Errorf("%s: routed %d times, %s; want once, live", c.addr(), n, describe(convs[0]))
				}
			}
			if a, err := p.store.Agent(context.Background(), "blackbox-agent"); err != nil {
				t.Error(err)
			} else if a.Load != contacts {
				t.Errorf("agent load %d, want %d: one chat per contact", a.Load, contacts)
			}
		})
	}
}
