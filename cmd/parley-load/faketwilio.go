package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fakeTwilio plays Twilio's REST API for Parley's worker: it accepts
// Messages create calls as Twilio does (201 and the message as JSON), counts
// them, and, when asked, posts signed status callbacks (sent, then
// delivered) to the StatusCallback URL each call carried.
type fakeTwilio struct {
	accountSID string
	authToken  string
	// whatsAppFrom and smsFrom are the senders Parley must use; a call from
	// another sender is refused as Twilio would (21212). Empty: not checked.
	whatsAppFrom, smsFrom string
	// contacts maps a To value to the simulated customer, to time a send
	// from that customer's latest webhook.
	contacts map[string]*contact

	// Status callbacks go to target's scheme and host (the callback URL's
	// path and query are kept), signed for the URL as given.
	callbacks     bool
	callbackDelay time.Duration
	target        *url.URL
	client        *http.Client
	queue         chan callbackJob
	workers       int

	ln   net.Listener
	srv  *http.Server
	stop chan struct{}
	wg   sync.WaitGroup

	received    atomic.Int64 // every request
	accepted    atomic.Int64 // answered 201
	rejected    tally        // refused requests, by reason
	byChannel   tally        // accepted sends, by channel
	fromInbound *samples     // accepted sends: time since the recipient's latest webhook
	unmatched   atomic.Int64 // accepted sends to a number this run never wrote from
	firstSend   atomic.Int64 // Unix nanoseconds of the first accepted send
	lastSend    atomic.Int64 // ... and of the last

	cbPosted    atomic.Int64 // status callbacks posted
	cbStatus    tally        // their answers, by HTTP status
	cbErrs      tally        // callbacks with no answer, by kind, and http_<code> for non-2xx
	cbLatency   *samples     // answered callbacks: post to end of answer
	cbDropped   atomic.Int64 // not queued: the queue was full
	cbAbandoned atomic.Int64 // still queued when the run ended
	cbPending   atomic.Int64 // queued or being posted

	activity atomic.Int64 // Unix nanoseconds of the last request or callback
}

// callbackJob is one accepted message whose status callbacks are due.
type callbackJob struct {
	url       string // StatusCallback as Parley gave it
	sid       string
	from, to  string
	whatsapp  bool
	notBefore time.Time
}

// callbackQueue bounds the callbacks waiting to be posted.
const callbackQueue = 100_000

func newFakeTwilio(accountSID, authToken string) *fakeTwilio {
	return &fakeTwilio{
		accountSID: accountSID, authToken: authToken,
		contacts:    map[string]*contact{},
		fromInbound: newSamples(maxSamples), cbLatency: newSamples(maxSamples),
		stop: make(chan struct{}), workers: 1,
	}
}

// start listens on addr (loopback only) and starts the callback posters.
func (f *fakeTwilio) start(addr string) error {
	if err := checkListen(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fake Twilio: %w", err)
	}
	f.ln = ln
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = f.srv.Serve(ln) }()
	if f.callbacks {
		f.queue = make(chan callbackJob, callbackQueue)
		for range f.workers {
			f.wg.Go(f.postCallbacks)
		}
	}
	return nil
}

// URL is the base URL to give Parley as PARLEY_TWILIO_API_URL.
func (f *fakeTwilio) URL() string { return "http://" + f.ln.Addr().String() }

// close stops taking calls, stops posting callbacks (counting those still
// queued as abandoned), and waits for the posters.
func (f *fakeTwilio) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	close(f.stop)
	f.wg.Wait()
	if f.queue != nil {
		f.cbAbandoned.Add(int64(len(f.queue)))
	}
}

func (f *fakeTwilio) touch() { f.activity.Store(time.Now().UnixNano()) }

func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.received.Add(1)
	f.touch()
	refuse := func(reason string, status, code int, message string) {
		f.rejected.add(reason)
		twilioError(w, status, code, message)
	}
	if r.URL.Path != "/2010-04-01/Accounts/"+f.accountSID+"/Messages.json" {
		refuse("not_found", http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		refuse("method", http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != f.accountSID || pass != f.authToken {
		refuse("auth", http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		refuse("content_type", http.StatusBadRequest, 20001, "Unsupported content type")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		refuse("form", http.StatusBadRequest, 20001, "Unreadable form")
		return
	}
	form := r.PostForm
	to, from := form.Get("To"), form.Get("From")
	whatsapp := strings.HasPrefix(to, "whatsapp:")
	wantFrom := f.smsFrom
	if whatsapp {
		wantFrom = f.whatsAppFrom
	}
	switch {
	case to == "":
		refuse("no_to", http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "":
		refuse("no_from", http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case wantFrom != "" && from != wantFrom:
		refuse("wrong_from", http.StatusBadRequest, 21212, "Invalid From Number: "+from)
		return
	case form.Get("Body") == "" && form.Get("ContentSid") == "" && len(form["MediaUrl"]) == 0:
		refuse("no_body", http.StatusBadRequest, 21602, "Message body is required.")
		return
	}

	now := time.Now()
	sid := "SM" + randomHex(16)
	f.accepted.Add(1)
	f.firstSend.CompareAndSwap(0, now.UnixNano())
	f.lastSend.Store(now.UnixNano())
	if whatsapp {
		f.byChannel.add("whatsapp")
	} else {
		f.byChannel.add("sms")
	}
	if c := f.contacts[to]; c != nil && c.lastSent.Load() != 0 {
		f.fromInbound.add(now.Sub(time.Unix(0, c.lastSent.Load())))
	} else {
		f.unmatched.Add(1)
	}
	stamp := now.UTC().Format(time.RFC1123Z)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": f.accountSID, "api_version": "2010-04-01", "body": form.Get("Body"),
		"date_created": stamp, "date_updated": stamp, "date_sent": nil,
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": from, "messaging_service_sid": nil,
		"num_media": strconv.Itoa(len(form["MediaUrl"])), "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": sid, "status": "queued", "to": to,
		"subresource_uris": map[string]string{"media": "/2010-04-01/Accounts/" + f.accountSID + "/Messages/" + sid + "/Media.json"},
		"uri":              "/2010-04-01/Accounts/" + f.accountSID + "/Messages/" + sid + ".json",
	})
	if cb := form.Get("StatusCallback"); f.callbacks && cb != "" {
		f.enqueue(callbackJob{url: cb, sid: sid, from: from, to: to, whatsapp: whatsapp, notBefore: now.Add(f.callbackDelay)})
	}
}

func (f *fakeTwilio) enqueue(j callbackJob) {
	f.cbPending.Add(1)
	select {
	case f.queue <- j:
	default:
		f.cbPending.Add(-1)
		f.cbDropped.Add(1)
	}
}

// postCallbacks posts the callbacks of queued messages until stopped.
func (f *fakeTwilio) postCallbacks() {
	for {
		select {
		case <-f.stop:
			return
		case j := <-f.queue:
			if wait := time.Until(j.notBefore); wait > 0 {
				select {
				case <-time.After(wait):
				case <-f.stop:
					f.cbPending.Add(-1)
					f.cbAbandoned.Add(1)
					return
				}
			}
			for _, status := range []string{"sent", "delivered"} {
				f.postCallback(j, status)
			}
			f.cbPending.Add(-1)
			f.touch()
		}
	}
}

// callbackURL is where a status callback for cb is posted: cb with the
// scheme and host of the target, since the public URL Parley builds it
// from may not be reachable from here.
func callbackURL(cb string, target *url.URL) (string, error) {
	u, err := url.Parse(cb)
	if err != nil || u.Host == "" {
		return "", errors.New("StatusCallback is not an absolute URL")
	}
	u.Scheme, u.Host, u.User, u.Fragment = target.Scheme, target.Host, nil, ""
	return u.String(), nil
}

// statusParams is the form Twilio posts to a status callback.
func statusParams(accountSID string, j callbackJob, status string) map[string]string {
	p := map[string]string{
		"AccountSid": accountSID, "ApiVersion": "2010-04-01",
		"MessageSid": j.sid, "SmsSid": j.sid,
		"MessageStatus": status, "SmsStatus": status,
		"From": j.from, "To": j.to,
	}
	if j.whatsapp {
		p["ChannelPrefix"] = "whatsapp"
		p["ChannelToAddress"] = strings.TrimPrefix(j.to, "whatsapp:")
	}
	return p
}

func (f *fakeTwilio) postCallback(j callbackJob, status string) {
	reqURL, err := callbackURL(j.url, f.target)
	if err != nil {
		f.cbErrs.add("bad_callback_url")
		return
	}
	// Twilio signs the URL it was given, without a fragment.
	signed, _, _ := strings.Cut(j.url, "#")
	req, err := signedRequest(context.Background(), reqURL, signed, f.authToken, statusParams(f.accountSID, j, status))
	if err != nil {
		f.cbErrs.add("bad_callback_url")
		return
	}
	f.cbPosted.Add(1)
	a := do(f.client, req)
	if a.errKind != "" {
		f.cbErrs.add(a.errKind)
		return
	}
	f.cbLatency.add(a.took)
	f.cbStatus.add(strconv.Itoa(a.status))
	if a.status < 200 || a.status >= 300 {
		f.cbErrs.add("http_" + strconv.Itoa(a.status))
	}
}
