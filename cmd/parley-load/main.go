// Command parley-load plays Twilio against a running Parley, over loopback
// only, and reports what it measured.
//
// It posts signed inbound-message webhooks as simulated WhatsApp and SMS
// customers, at a fixed rate or as fast as its senders go, until a count or
// a duration is reached; it answers Parley's outbound sends with a built-in
// fake of Twilio's REST API (start Parley with PARLEY_TWILIO_API_URL
// pointing at it), optionally posting signed status callbacks back; and it
// can hold a desk user's live-update stream to time inbound messages
// reaching the desk. See BENCHMARKS.md for how to run it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Bounds on a run: parley-load is for measuring, not for flooding.
const (
	maxDuration    = 10 * time.Minute
	maxCount       = 10_000_000
	maxContacts    = 1_000_000
	maxConcurrency = 10_000
	maxRate        = 1_000_000
	maxDrain       = 2 * time.Minute
	maxTimeout     = 5 * time.Minute
	// defaultDuration applies when neither -duration nor -count is given.
	defaultDuration = 10 * time.Second
	// quiet is how long nothing must happen for the drain to end early:
	// more than the 1.5 s an idle Asynq worker may sleep before it looks
	// at its queues again.
	quiet = 2 * time.Second
)

type options struct {
	target, publicURL       string
	authToken, accountSID   string
	contacts                int
	whatsAppShare           float64
	whatsAppNumber          string
	smsNumber               string
	rate                    float64
	concurrency             int
	duration                time.Duration
	count                   int64
	timeout                 time.Duration
	fakeListen              string
	statusCallbacks         bool
	callbackDelay           time.Duration
	deskUser, deskPassword  string
	pid                     int
	drain                   time.Duration
	wait                    time.Duration
	jsonOnly                bool
	out                     string
	progressEvery           time.Duration
	durationSet, countIsSet bool
}

const usageHead = `usage: parley-load -account-sid AC... -auth-token TOKEN [flags]

Plays Twilio against a Parley on this machine: posts signed inbound WhatsApp
and SMS webhooks, answers Parley's sends with a fake Twilio REST API, and
reports latency and throughput. Start Parley with PARLEY_TWILIO_API_URL set
to the fake's URL (fix it with -fake-twilio-listen 127.0.0.1:18999).

flags:
`

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("parley-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.target, "target", "http://127.0.0.1:8080", "Parley's base URL; must be a loopback address (127.0.0.0/8 or ::1) or a name resolving only to one")
	fs.StringVar(&o.publicURL, "public-url", "", "Parley's PARLEY_PUBLIC_URL, which webhooks are signed for (default: -target)")
	fs.StringVar(&o.authToken, "auth-token", getenv("TWILIO_AUTH_TOKEN"), "Parley's TWILIO_AUTH_TOKEN (default: $TWILIO_AUTH_TOKEN)")
	fs.StringVar(&o.accountSID, "account-sid", getenv("TWILIO_ACCOUNT_SID"), "Parley's TWILIO_ACCOUNT_SID (default: $TWILIO_ACCOUNT_SID)")
	fs.IntVar(&o.contacts, "contacts", 100, "distinct customers writing")
	fs.Float64Var(&o.whatsAppShare, "whatsapp-share", 0.7, "share of the customers on WhatsApp, 0 to 1; the rest write by SMS")
	fs.StringVar(&o.whatsAppNumber, "whatsapp-number", "whatsapp:+14155238886", "the business's WhatsApp number: To of inbound WhatsApp messages, and Parley's PARLEY_WHATSAPP_FROM")
	fs.StringVar(&o.smsNumber, "sms-number", "+15005550006", "the business's SMS number: To of inbound SMS, and Parley's PARLEY_SMS_FROM")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second on a fixed schedule; 0: as fast as the senders go")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent senders (requests in flight at most)")
	fs.DurationVar(&o.duration, "duration", 0, "stop sending after this long, at most 10m (default 10s, or 10m with -count)")
	fs.Int64Var(&o.count, "count", 0, "stop after this many messages, at most 10,000,000")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit of one request")
	fs.StringVar(&o.fakeListen, "fake-twilio-listen", "127.0.0.1:0", "loopback address of the fake Twilio REST API")
	fs.BoolVar(&o.statusCallbacks, "status-callbacks", false, "post signed status callbacks (sent, then delivered) for every send the fake Twilio accepts")
	fs.DurationVar(&o.callbackDelay, "callback-delay", 50*time.Millisecond, "wait this long after accepting a send before posting its callbacks")
	fs.StringVar(&o.deskUser, "desk-user", "", "desk user to sign in as, to time message.in events on the live-update stream")
	fs.StringVar(&o.deskPassword, "desk-password", getenv("PARLEY_LOAD_DESK_PASSWORD"), "that user's password (default: $PARLEY_LOAD_DESK_PASSWORD)")
	fs.IntVar(&o.pid, "pid", 0, "Parley's process id, to sample its memory and CPU from /proc")
	fs.DurationVar(&o.drain, "drain", 5*time.Second, "after the load, wait up to this long for sends, callbacks and desk events to finish (ends after 2s of quiet)")
	fs.DurationVar(&o.wait, "wait", 0, "before the load, wait up to this long for Parley's /readyz (e.g. while you start Parley)")
	fs.BoolVar(&o.jsonOnly, "json", false, "print the JSON report only")
	fs.StringVar(&o.out, "out", "", "also write the JSON report to this file")
	fs.DurationVar(&o.progressEvery, "progress", 5*time.Second, "progress line on stderr this often; 0: none")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "duration":
			o.durationSet = true
		case "count":
			o.countIsSet = true
		}
	})
	return o, o.validate()
}

func (o *options) validate() error {
	var bad []string
	check := func(ok bool, format string, a ...any) {
		if !ok {
			bad = append(bad, fmt.Sprintf(format, a...))
		}
	}
	check(o.accountSID != "", "-account-sid (or TWILIO_ACCOUNT_SID) is required: Parley refuses webhooks of another account")
	check(o.authToken != "", "-auth-token (or TWILIO_AUTH_TOKEN) is required: webhooks are signed with it")
	check(o.contacts >= 1 && o.contacts <= maxContacts, "-contacts must be 1 to %d", maxContacts)
	check(o.whatsAppShare >= 0 && o.whatsAppShare <= 1, "-whatsapp-share must be 0 to 1")
	check(strings.HasPrefix(o.whatsAppNumber, "whatsapp:+"), "-whatsapp-number must look like whatsapp:+14155238886")
	check(strings.HasPrefix(o.smsNumber, "+"), "-sms-number must look like +15005550006")
	check(o.rate >= 0 && o.rate <= maxRate, "-rate must be 0 to %d", maxRate)
	check(o.concurrency >= 1 && o.concurrency <= maxConcurrency, "-concurrency must be 1 to %d", maxConcurrency)
	check(o.duration >= 0 && o.duration <= maxDuration, "-duration must be at most %s", maxDuration)
	check(o.count >= 0 && o.count <= maxCount, "-count must be at most %d", maxCount)
	check((!o.durationSet || o.duration > 0) && (!o.countIsSet || o.count > 0), "-duration and -count must be positive when given")
	check(o.timeout > 0 && o.timeout <= maxTimeout, "-timeout must be more than 0 and at most %s", maxTimeout)
	check(o.drain >= 0 && o.drain <= maxDrain, "-drain must be 0 to %s", maxDrain)
	check(o.wait >= 0 && o.wait <= maxDuration, "-wait must be 0 to %s", maxDuration)
	check(o.callbackDelay >= 0 && o.callbackDelay <= time.Minute, "-callback-delay must be 0 to 1m")
	check(o.deskUser == "" || o.deskPassword != "", "-desk-user needs -desk-password (or PARLEY_LOAD_DESK_PASSWORD)")
	check(o.pid >= 0, "-pid must be a process id")
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "\n"))
	}
	if o.duration == 0 {
		o.duration = defaultDuration
		if o.count > 0 {
			o.duration = maxDuration
		}
	}
	if o.publicURL == "" {
		o.publicURL = o.target
	}
	o.publicURL = strings.TrimSuffix(o.publicURL, "/")
	return nil
}

// run is the whole program; main supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley-load: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	r, err := execute(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "parley-load: %v\n", err)
		return 1
	}
	raw, _ := json.MarshalIndent(r, "", "  ")
	raw = append(raw, '\n')
	if o.out != "" {
		if err := os.WriteFile(o.out, raw, 0o644); err != nil {
			fmt.Fprintf(stderr, "parley-load: %v\n", err)
			return 1
		}
	}
	if o.jsonOnly {
		_, _ = stdout.Write(raw)
	} else {
		printTable(stdout, r)
	}
	return 0
}

// execute sets up the fake Twilio and the desk stream, runs the load,
// drains, and builds the report.
func execute(ctx context.Context, o options, stderr io.Writer) (Report, error) {
	target, err := checkTarget(ctx, o.target)
	if err != nil {
		return Report{}, fmt.Errorf("-target %w", err)
	}
	client := newClient(o.concurrency, o.timeout)
	contacts := makeContacts(o.contacts, o.whatsAppShare, o.whatsAppNumber, o.smsNumber)

	fake := newFakeTwilio(o.accountSID, o.authToken)
	fake.whatsAppFrom, fake.smsFrom = o.whatsAppNumber, o.smsNumber
	for _, c := range contacts {
		fake.contacts[c.from] = c
	}
	fake.callbacks, fake.callbackDelay, fake.target = o.statusCallbacks, o.callbackDelay, target
	fake.client = newClient(min(o.concurrency, 64), o.timeout)
	fake.workers = min(o.concurrency, 64)
	if err := fake.start(o.fakeListen); err != nil {
		return Report{}, fmt.Errorf("-fake-twilio-listen %w", err)
	}
	fakeClosed := false
	defer func() {
		if !fakeClosed {
			fake.close()
		}
	}()
	fmt.Fprintf(stderr, "parley-load: fake Twilio at %s (Parley needs PARLEY_TWILIO_API_URL=%s)\n", fake.URL(), fake.URL())

	if o.wait > 0 {
		if err := waitReady(ctx, client, target.String()+"/readyz", o.wait); err != nil {
			return Report{}, err
		}
	}

	var dw *deskWatcher
	if o.deskUser != "" {
		dw = newDeskWatcher(newClient(2, 0), target, o.deskUser, o.deskPassword)
		signCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := dw.signIn(signCtx)
		if err == nil {
			err = dw.open(ctx)
		}
		cancel()
		if err != nil {
			dw.signOut()
			return Report{}, err
		}
	}

	var pw *procWatcher
	if o.pid > 0 {
		if pw, err = startProcWatcher(o.pid); err != nil {
			if dw != nil {
				dw.stop()
				dw.signOut()
			}
			return Report{}, fmt.Errorf("-pid: %w", err)
		}
	}

	l := newLoader()
	l.client, l.target, l.publicURL = client, target, o.publicURL
	l.authToken, l.accountSID, l.contacts = o.authToken, o.accountSID, contacts
	l.rate, l.concurrency, l.duration, l.count = o.rate, o.concurrency, o.duration, o.count

	cpu0 := selfCPU()
	startedAt := time.Now()
	stopProgress := progress(stderr, o.progressEvery, l, fake)
	res := l.run(ctx)
	drained := drain(ctx, res.ended, o.drain, fake, dw)
	stopProgress()
	// Parley's CPU and memory, and this tool's CPU, over the load and the
	// drain only: not the desk look-ups below.
	var proc *Process
	if pw != nil {
		p := pw.finish(time.Since(res.started))
		proc = &p
	}
	selfUsed := selfCPU() - cpu0
	// Sends and callbacks count until the end of the drain.
	fake.close()
	fakeClosed = true

	r := Report{
		Tool: "parley-load", StartedAt: startedAt.UTC(), Target: target.String(), PublicURL: o.publicURL,
		Settings: Settings{
			Contacts: o.contacts, WhatsAppShare: o.whatsAppShare, Rate: o.rate, Concurrency: o.concurrency,
			DurationLimit: o.duration.String(), CountLimit: o.count, Timeout: o.timeout.String(),
			StatusCallbacks: o.statusCallbacks, FakeTwilioURL: fake.URL(), DeskUser: o.deskUser,
		},
		StoppedBy:    res.stoppedBy,
		DrainSeconds: roundTo(drained.Seconds(), 2),
	}
	if dw != nil {
		dw.stop()
		if ctx.Err() == nil {
			dw.verify(ctx)
		}
		dw.signOut()
		r.Desk = dw.report()
	}
	r.Process = proc
	r.LoadToolCPUSeconds = roundTo(selfUsed.Seconds(), 2)

	elapsed := res.ended.Sub(res.started)
	r.DurationSeconds = roundTo(elapsed.Seconds(), 3)
	r.Webhooks = Webhooks{
		Sent: l.sent.Load(), Answered: l.answered.Load(), OK: l.ok.Load(),
		Throughput: perSecond(l.answered.Load(), elapsed), OKPerSecond: perSecond(l.ok.Load(), elapsed),
		Latency: l.latency.summary(), ByStatus: l.byStatus.snapshot(), Errors: l.errs.snapshot(),
		AchievedRate: perSecond(l.sent.Load(), elapsed),
	}
	if o.rate > 0 {
		lag := l.lag.summary()
		r.Webhooks.ScheduleLag = &lag
	}
	r.Outbound = Outbound{
		Received: fake.received.Load(), Accepted: fake.accepted.Load(),
		Rejected: fake.rejected.snapshot(), ByChannel: fake.byChannel.snapshot(),
		FromInbound: fake.fromInbound.summary(), Unmatched: fake.unmatched.Load(),
	}
	if last := fake.lastSend.Load(); last != 0 {
		lastAt := time.Unix(0, last)
		r.Outbound.PerSecond = perSecond(fake.accepted.Load(), lastAt.Sub(res.started))
		if after := lastAt.Sub(res.ended); after > 0 {
			r.Outbound.LastAfterLoadSeconds = roundTo(after.Seconds(), 2)
		}
	}
	if o.statusCallbacks {
		r.StatusCallbacks = &Callbacks{
			Posted: fake.cbPosted.Load(), ByStatus: fake.cbStatus.snapshot(), Errors: fake.cbErrs.snapshot(),
			Latency: fake.cbLatency.summary(), Dropped: fake.cbDropped.Load(), Abandoned: fake.cbAbandoned.Load(),
		}
	}
	return r, nil
}

// drain waits, after the load phase ended at loadEnd, until nothing has
// happened for the quiet period (no send reached the fake Twilio, no callback is
// due, no desk event came), or limit has passed, or ctx ends. It returns
// how long it waited.
func drain(ctx context.Context, loadEnd time.Time, limit time.Duration, fake *fakeTwilio, dw *deskWatcher) time.Duration {
	start := time.Now()
	deadline := loadEnd.Add(limit)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		last := max(loadEnd.UnixNano(), fake.activity.Load())
		if dw != nil {
			last = max(last, dw.lastSeen.Load())
		}
		if fake.cbPending.Load() == 0 && time.Since(time.Unix(0, last)) >= quiet {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return time.Since(start)
}

// waitReady polls url until it answers 200, for up to limit.
func waitReady(ctx context.Context, client *http.Client, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("-wait: %s did not answer 200 within %s", url, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// progress prints a line to w every period until the returned stop is called.
func progress(w io.Writer, every time.Duration, l *loader, fake *fakeTwilio) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "parley-load: %5.1fs  sent %d  2xx %d  failed %d  outbound %d\n",
					time.Since(start).Seconds(), l.sent.Load(), l.ok.Load(), l.sent.Load()-l.ok.Load()-inFlight(l), fake.accepted.Load())
			}
		}
	}()
	return func() { close(done); <-finished }
}

// inFlight estimates the webhooks sent but not yet answered or failed.
func inFlight(l *loader) int64 {
	var failed int64
	for k, v := range l.errs.snapshot() {
		if !strings.HasPrefix(k, "http_") {
			failed += v
		}
	}
	return l.sent.Load() - l.answered.Load() - failed
}
