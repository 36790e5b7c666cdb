package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// TwilioConfig is what the Twilio provider needs.
type TwilioConfig struct {
	AccountSID string
	AuthToken  string
	// APIURL, when set, replaces the scheme and host of every REST call.
	APIURL       string
	WhatsAppFrom string
	SMSFrom      string
	// StatusCallback is the public URL of Parley's status webhook.
	StatusCallback string
	Timeout        time.Duration
}

// Twilio sends through Twilio's Messages API.
type Twilio struct {
	rest *twilio.RestClient
	cfg  TwilioConfig
}

// NewTwilio builds the provider. twilio-go has no base-URL option, so an
// APIURL is applied by the HTTP transport, which rewrites every request's
// scheme and host; and since twilio-go reads TWILIO_EDGE and TWILIO_REGION
// from the environment to change hosts, those are cleared so the only way to
// point Parley elsewhere is its own, visible setting.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	var transport http.RoundTripper = errorStatus{next: http.DefaultTransport}
	if cfg.APIURL != "" {
		base, err := url.Parse(cfg.APIURL)
		if err != nil || base.Host == "" {
			return nil, fmt.Errorf("twilio api url %q: not an absolute URL", cfg.APIURL)
		}
		transport = rewriteHost{scheme: base.Scheme, host: base.Host, next: transport}
	}
	httpClient := &http.Client{
		Timeout:   cfg.Timeout,
		Transport: transport,
		// A redirect from the Messages API is never expected; following one
		// could resend the credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &client.Client{Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: httpClient}
	c.SetAccountSid(cfg.AccountSID)
	rest := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c, AccountSid: cfg.AccountSID})
	rest.RequestHandler.Edge, rest.RequestHandler.Region = "", ""
	return &Twilio{rest: rest, cfg: cfg}, nil
}

type rewriteHost struct {
	scheme, host string
	next         http.RoundTripper
}

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.scheme, r.host, r.host
	return r.next.RoundTrip(req)
}

// errorStatus makes every error answer carry its HTTP status in the JSON
// body, where twilio-go reads it: Twilio's own errors do, but a proxy's HTML
// page or a bare 503 would otherwise be classified by guesswork.
type errorStatus struct{ next http.RoundTripper }

func (e errorStatus) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var body map[string]any
	if json.Unmarshal(raw, &body) != nil || body == nil {
		body = map[string]any{"message": strings.TrimSpace(string(raw))}
	}
	if _, ok := body["status"].(float64); !ok {
		body["status"] = resp.StatusCode
	}
	fixed, _ := json.Marshal(body) // strings and numbers from a decoded map: cannot fail
	resp.Body = io.NopCloser(bytes.NewReader(fixed))
	resp.ContentLength = int64(len(fixed))
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}

// From returns the sender for a channel.
func (t *Twilio) from(ch Channel) (string, error) {
	from := t.cfg.SMSFrom
	if ch == WhatsApp {
		from = t.cfg.WhatsAppFrom
	}
	if from == "" {
		return "", &SendError{Message: "no sender number configured for " + string(ch)}
	}
	return from, nil
}

// Send creates one message. twilio-go has no context support; the HTTP
// client's timeout bounds the call instead.
func (t *Twilio) Send(_ context.Context, m Outbound) (Receipt, error) {
	from, err := t.from(m.To.Channel())
	if err != nil {
		return Receipt{}, err
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To.Twilio())
	p.SetFrom(from)
	if m.Template != nil {
		p.SetContentSid(m.Template.ContentSID)
		if len(m.Template.Variables) > 0 {
			vars, err := json.Marshal(m.Template.Variables)
			if err != nil {
				return Receipt{}, &SendError{Message: "template variables: " + err.Error()}
			}
			p.SetContentVariables(string(vars))
		}
	} else if m.Body != "" {
		p.SetBody(m.Body)
	}
	if len(m.MediaURLs) > 0 {
		p.SetMediaUrl(m.MediaURLs)
	}
	if t.cfg.StatusCallback != "" {
		p.SetStatusCallback(StatusCallbackFor(t.cfg.StatusCallback, m.ID))
	}
	resp, err := t.rest.Api.CreateMessage(p)
	if err != nil {
		return Receipt{}, classify(err)
	}
	var r Receipt
	if resp.Sid != nil {
		r.SID = *resp.Sid
	}
	r.Status = StatusQueued
	if resp.Status != nil && Rank(Status(*resp.Status)) > 0 {
		r.Status = Status(*resp.Status)
	}
	if r.SID == "" {
		return r, &SendError{Message: "Twilio accepted the message but returned no SID", Temporary: false}
	}
	return r, nil
}

// classify turns twilio-go's error into a SendError. Twilio's answers of 429
// and 5xx are temporary, other answers are permanent; anything that is not an
// answer (connection refused, time-out, an unreadable body) is temporary.
func classify(err error) error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		// Twilio's messages name the numbers ("The 'To' number +2782...
		// is not a valid phone number"); the text is logged and stored,
		// so it is masked here, where it is made.
		return &SendError{
			Code:       rest.Code,
			HTTPStatus: rest.Status,
			Message:    MaskNumbers(rest.Message),
			Temporary:  rest.Status == http.StatusTooManyRequests || rest.Status >= 500,
		}
	}
	return &SendError{Message: MaskNumbers(err.Error()), Temporary: true}
}
