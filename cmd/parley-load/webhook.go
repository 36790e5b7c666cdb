package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parleydesk/parley/channels"
)

const (
	messagesPath = "/webhooks/twilio/messages"
	statusPath   = "/webhooks/twilio/status"
)

// contact is one simulated customer.
type contact struct {
	// from is the customer's address as Twilio writes it in From (and as
	// Parley writes it in To when it answers): "whatsapp:+2783..." or "+2783...".
	from     string
	to       string // the business number written to, in the same form
	whatsapp bool
	name     string
	// lastSent is when the latest webhook from this contact was sent
	// (Unix nanoseconds; 0 before the first), for matching Parley's sends.
	lastSent atomic.Int64
}

// makeContacts builds n contacts, the first round(n*whatsAppShare) on
// WhatsApp and the rest on SMS, with numbers +2783 followed by seven digits.
func makeContacts(n int, whatsAppShare float64, whatsAppTo, smsTo string) []*contact {
	wa := int(float64(n)*whatsAppShare + 0.5)
	out := make([]*contact, n)
	for i := range out {
		number := fmt.Sprintf("+2783%07d", i)
		c := &contact{from: number, to: smsTo, name: "Load Customer " + strconv.Itoa(i)}
		if i < wa {
			c.from, c.to, c.whatsapp = "whatsapp:"+number, whatsAppTo, true
		}
		out[i] = c
	}
	return out
}

// sidSource makes MessageSids: "SM" and 32 hex digits, the first 16 random
// per run and the last 16 the message's sequence number, so that they are
// unique within a run by construction and across runs by chance.
type sidSource struct{ run string }

func newSIDSource() sidSource {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return sidSource{run: hex.EncodeToString(b)}
}

func (s sidSource) sid(seq int64) string { return fmt.Sprintf("SM%s%016x", s.run, uint64(seq)) }

// bodies are ordinary customer texts; none is a keyword Parley acts on
// (YES, NO, //end, STOP and the like).
var bodies = []string{
	"Hello, I need help with my order",
	"Hi, my parcel has not arrived yet",
	"Good morning, can someone call me back?",
	"I was charged twice this month",
	"How do I change my delivery address?",
	"The app keeps logging me out",
	"Is the shop open on Saturday?",
	"Thanks, that helps",
}

// inboundParams is the form Twilio posts for one incoming text message.
func inboundParams(accountSID string, c *contact, seq int64, sid string) map[string]string {
	p := map[string]string{
		"MessageSid":    sid,
		"SmsMessageSid": sid,
		"SmsSid":        sid,
		"SmsStatus":     "received",
		"AccountSid":    accountSID,
		"From":          c.from,
		"To":            c.to,
		"Body":          fmt.Sprintf("%s (ref %d)", bodies[seq%int64(len(bodies))], seq),
		"NumMedia":      "0",
		"NumSegments":   "1",
		"ApiVersion":    "2010-04-01",
	}
	if c.whatsapp {
		p["ProfileName"] = c.name
		p["WaId"] = strings.TrimPrefix(c.from, "whatsapp:+")
		p["MessageType"] = "text"
		p["ReferralNumMedia"] = "0"
	} else {
		p["FromCountry"] = "ZA"
		p["ToCountry"] = "US"
	}
	return p
}

// signedPost builds a POST of params to target+path, signed as Twilio signs
// a call to signedBase+path: the URL it was configured with, followed by the
// parameters sorted by name, under HMAC-SHA1 with the auth token.
func signedPost(ctx context.Context, target *url.URL, signedBase, path, authToken string, params map[string]string) (*http.Request, error) {
	return signedRequest(ctx, target.String()+path, strings.TrimSuffix(signedBase, "/")+path, authToken, params)
}

// signedRequest builds a form POST of params to requestURL carrying the
// X-Twilio-Signature of a call to signedURL. The two differ when the URL
// Twilio is configured with (Parley's public URL) is not the one this tool
// reaches Parley at.
func signedRequest(ctx context.Context, requestURL, signedURL, authToken string, params map[string]string) (*http.Request, error) {
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, requestURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1 (parley-load)")
	req.Header.Set("X-Twilio-Signature", channels.Sign(authToken, signedURL, params))
	return req, nil
}

// answer is what became of one request.
type answer struct {
	status  int           // HTTP status; 0 when there was no answer
	errKind string        // set when there was no answer: see errorKind
	took    time.Duration // from just before sending to the end of the answer's body
}

// do sends req and reads the whole answer, so the connection is reused.
func do(client *http.Client, req *http.Request) answer {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{errKind: errorKind(err), took: time.Since(start)}
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return answer{errKind: errorKind(err), took: time.Since(start)}
	}
	return answer{status: resp.StatusCode, took: time.Since(start)}
}

// errorKind names a transport failure: connect (no connection could be
// made), timeout (no complete answer in time), reset (the connection was
// closed or reset mid-request), not_loopback (refused by parley-load), or
// other.
func errorKind(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, errNotLoopback):
		return "not_loopback"
	case errors.As(err, &op) && op.Op == "dial":
		return "connect"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "reset"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
