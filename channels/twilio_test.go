package channels_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/parleydesk/parley/channels"
)

const (
	testAccountSID     = "AC0123456789abcdef0123456789abcdef"
	testAuthToken      = "x7Kp2mQ9vR4tW8yZ3bN6cF1hJ5lD0sGa"
	testWhatsAppFrom   = "whatsapp:+14155238886"
	testSMSFrom        = "+15005550006"
	testStatusCallback = "https://example.test/webhooks/twilio/status"
	messagesPath       = "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"
)

// twilioRequest is what the fake saw of one Messages API call.
type twilioRequest struct {
	Method      string
	Path        string
	ContentType string
	User, Pass  string
	AuthOK      bool
	Form        url.Values
}

// fakeTwilio is an httptest stand-in for Twilio's REST API: it records every
// request and answers with the status and body it is told to.
type fakeTwilio struct {
	*httptest.Server
	mu       sync.Mutex
	requests []twilioRequest
	status   int
	body     string
}

func newFakeTwilio(t *testing.T, status int, body string) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{status: status, body: body}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			t.Errorf("fake Twilio: body is not a form: %v", err)
		}
		user, pass, ok := r.BasicAuth()
		f.mu.Lock()
		f.requests = append(f.requests, twilioRequest{
			Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			User: user, Pass: pass, AuthOK: ok, Form: form,
		})
		f.mu.Unlock()
		if strings.HasPrefix(f.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) only(t *testing.T) twilioRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 1 {
		t.Fatalf("fake Twilio got %d requests, want 1", len(f.requests))
	}
	return f.requests[0]
}

func newTestTwilio(t *testing.T, apiURL string) *channels.Twilio {
	t.Helper()
	tw, err := channels.NewTwilio(channels.TwilioConfig{
		AccountSID:     testAccountSID,
		AuthToken:      testAuthToken,
		APIURL:         apiURL,
		WhatsAppFrom:   testWhatsAppFrom,
		SMSFrom:        testSMSFrom,
		StatusCallback: testStatusCallback,
	})
	if err != nil {
		t.Fatalf("NewTwilio: %v", err)
	}
	return tw
}

// checkWire asserts the parts of the request every send shares.
func checkWire(t *testing.T, got twilioRequest) {
	t.Helper()
	if got.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.Method)
	}
	if got.Path != messagesPath {
		t.Errorf("path = %q, want %q", got.Path, messagesPath)
	}
	if !strings.HasPrefix(got.ContentType, "application/x-www-form-urlencoded") {
		t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", got.ContentType)
	}
	if !got.AuthOK || got.User != testAccountSID || got.Pass != testAuthToken {
		t.Errorf("basic auth = (%q, %q, ok=%v), want (%q, %q, ok=true)", got.User, got.Pass, got.AuthOK, testAccountSID, testAuthToken)
	}
}

func TestTwilioSend(t *testing.T) {
	const created = `{"sid":"SM1f0e2d3c4b5a69788796a5b4c3d2e1f0","status":"queued","account_sid":"` + testAccountSID + `","api_version":"2010-04-01","direction":"outbound-api","num_segments":"1"}`
	tests := []struct {
		name     string
		msg      channels.Outbound
		wantForm url.Values
	}{
		{
			name: "whatsapp text",
			msg:  channels.Outbound{ID: "01J0000000000000000000000A", To: "whatsapp:+27820000001", Body: "Hi Thandi, your parcel ships today."},
			wantForm: url.Values{
				"To":             {"whatsapp:+27820000001"},
				"From":           {testWhatsAppFrom},
				"Body":           {"Hi Thandi, your parcel ships today."},
				"StatusCallback": {testStatusCallback + "?m=01J0000000000000000000000A"}, // names the message
			},
		},
		{
			name: "whatsapp text with two media",
			msg: channels.Outbound{
				To: "whatsapp:+27820000001", Body: "Your invoice",
				MediaURLs: []string{"https://cdn.example.test/invoice-4471.pdf", "https://cdn.example.test/label.png"},
			},
			wantForm: url.Values{
				"To":             {"whatsapp:+27820000001"},
				"From":           {testWhatsAppFrom},
				"Body":           {"Your invoice"},
				"MediaUrl":       {"https://cdn.example.test/invoice-4471.pdf", "https://cdn.example.test/label.png"},
				"StatusCallback": {testStatusCallback},
			},
		},
		{
			name: "sms text",
			msg:  channels.Outbound{To: "sms:+27820000001", Body: "We open at 9 on Saturday & close at 1."},
			wantForm: url.Values{
				"To":             {"+27820000001"},
				"From":           {testSMSFrom},
				"Body":           {"We open at 9 on Saturday & close at 1."},
				"StatusCallback": {testStatusCallback},
			},
		},
		{
			name: "whatsapp template",
			msg: channels.Outbound{
				To:   "whatsapp:+27820000001",
				Body: "ignored: a template carries its own text",
				Template: &channels.Template{
					ContentSID: "HXb5b62575e6e4ff6129ad7c8efe1f983e",
					Variables:  map[string]string{"2": "14 March", "1": "Thandi"},
				},
			},
			wantForm: url.Values{
				"To":               {"whatsapp:+27820000001"},
				"From":             {testWhatsAppFrom},
				"ContentSid":       {"HXb5b62575e6e4ff6129ad7c8efe1f983e"},
				"ContentVariables": {`{"1":"Thandi","2":"14 March"}`},
				"StatusCallback":   {testStatusCallback},
			},
		},
		{
			name: "whatsapp template without variables",
			msg: channels.Outbound{
				To:       "whatsapp:+27820000001",
				Template: &channels.Template{ContentSID: "HX0123456789abcdef0123456789abcdef"},
			},
			wantForm: url.Values{
				"To":             {"whatsapp:+27820000001"},
				"From":           {testWhatsAppFrom},
				"ContentSid":     {"HX0123456789abcdef0123456789abcdef"},
				"StatusCallback": {testStatusCallback},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeTwilio(t, http.StatusCreated, created)
			tw := newTestTwilio(t, fake.URL)

			r, err := tw.Send(context.Background(), tc.msg)
			if err != nil {
				t.Fatalf("Send: unexpected error %v", err)
			}
			want := channels.Receipt{SID: "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", Status: channels.StatusQueued}
			if r != want {
				t.Errorf("Receipt = %+v, want %+v", r, want)
			}

			got := fake.only(t)
			checkWire(t, got)
			if !reflect.DeepEqual(got.Form, tc.wantForm) {
				t.Errorf("form mismatch (-want +got):\n%s", diff(tc.wantForm, got.Form))
			}
		})
	}
}

func TestTwilioSendErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   channels.SendError
	}{
		{
			name:   "invalid To",
			status: http.StatusBadRequest,
			body:   `{"code":21211,"message":"Invalid 'To' Phone Number: +2782000000","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`,
			// Numbers in Twilio's text are masked where the error is made,
			// since the worker logs it and the desk stores it.
			want: channels.SendError{Code: 21211, HTTPStatus: 400, Message: "Invalid 'To' Phone Number: +2782****00", Temporary: false},
		},
		{
			name:   "number written with spaces",
			status: http.StatusBadRequest,
			body:   `{"code":63016,"message":"Failed to send to whatsapp:+27 82 000 0001 from +1 415 523 8886","status":400}`,
			want:   channels.SendError{Code: 63016, HTTPStatus: 400, Message: "Failed to send to whatsapp:+27 8********01 from +1 41********86", Temporary: false},
		},
		{
			name:   "opted out",
			status: http.StatusBadRequest,
			body:   `{"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400}`,
			want:   channels.SendError{Code: channels.ErrorCodeOptedOut, HTTPStatus: 400, Message: "Attempt to send to unsubscribed recipient", Temporary: false},
		},
		{
			name:   "bad credentials",
			status: http.StatusUnauthorized,
			body:   `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`,
			want:   channels.SendError{Code: 20003, HTTPStatus: 401, Message: "Authenticate", Temporary: false},
		},
		{
			name:   "rate limited",
			status: http.StatusTooManyRequests,
			body:   `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`,
			want:   channels.SendError{Code: 20429, HTTPStatus: 429, Message: "Too Many Requests", Temporary: true},
		},
		{
			name:   "server error with JSON",
			status: http.StatusInternalServerError,
			body:   `{"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500}`,
			want:   channels.SendError{Code: 20500, HTTPStatus: 500, Message: "Internal Server Error", Temporary: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeTwilio(t, tc.status, tc.body)
			tw := newTestTwilio(t, fake.URL)

			r, err := tw.Send(context.Background(), channels.Outbound{To: "whatsapp:+27820000001", Body: "hello"})
			if err == nil {
				t.Fatalf("Send = %+v, nil; want a *SendError", r)
			}
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error %T %v, want *channels.SendError", err, err)
			}
			if *se != tc.want {
				t.Errorf("SendError = %+v, want %+v", *se, tc.want)
			}
			if got := channels.IsTemporary(err); got != tc.want.Temporary {
				t.Errorf("IsTemporary = %v, want %v", got, tc.want.Temporary)
			}
			checkWire(t, fake.only(t))
		})
	}
}

// TestTwilioSendUnreadableAnswers covers failures that are not a Twilio error
// document: they are all worth retrying.
func TestTwilioSendUnreadableAnswers(t *testing.T) {
	t.Run("503 with HTML body", func(t *testing.T) {
		fake := newFakeTwilio(t, http.StatusServiceUnavailable, "<html><body><h1>503 Service Unavailable</h1></body></html>")
		tw := newTestTwilio(t, fake.URL)
		_, err := tw.Send(context.Background(), channels.Outbound{To: "sms:+27820000001", Body: "hello"})
		var se *channels.SendError
		if !errors.As(err, &se) {
			t.Fatalf("Send error %T %v, want *channels.SendError", err, err)
		}
		if !se.Temporary || se.Code != 0 {
			t.Errorf("SendError = %+v, want Temporary true, Code 0", *se)
		}
		if !channels.IsTemporary(err) {
			t.Errorf("IsTemporary = false, want true")
		}
		checkWire(t, fake.only(t))
	})

	// Error answers are classified by their HTTP status even when the body
	// is not Twilio's JSON or lacks its status field.
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		temporary bool
	}{
		{"403 HTML from a proxy is permanent", http.StatusForbidden, "<html>forbidden</html>", false},
		{"429 JSON without a status field is temporary", http.StatusTooManyRequests, `{"code":20429,"message":"Too Many Requests"}`, true},
		{"502 empty body is temporary", http.StatusBadGateway, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeTwilio(t, tc.status, tc.body)
			tw := newTestTwilio(t, fake.URL)
			_, err := tw.Send(context.Background(), channels.Outbound{To: "sms:+27820000001", Body: "hello"})
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error %T %v, want *channels.SendError", err, err)
			}
			if se.HTTPStatus != tc.status || se.Temporary != tc.temporary {
				t.Errorf("SendError = %+v, want HTTPStatus %d, Temporary %v", *se, tc.status, tc.temporary)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		fake := newFakeTwilio(t, http.StatusCreated, `{}`)
		addr := fake.URL
		fake.Close()
		tw := newTestTwilio(t, addr)
		_, err := tw.Send(context.Background(), channels.Outbound{To: "sms:+27820000001", Body: "hello"})
		var se *channels.SendError
		if !errors.As(err, &se) {
			t.Fatalf("Send error %T %v, want *channels.SendError", err, err)
		}
		want := channels.SendError{HTTPStatus: 0, Code: 0, Temporary: true}
		if se.HTTPStatus != want.HTTPStatus || se.Code != want.Code || se.Temporary != want.Temporary {
			t.Errorf("SendError = %+v, want HTTPStatus 0, Code 0, Temporary true", *se)
		}
		if se.Message == "" {
			t.Errorf("SendError.Message is empty, want the network error")
		}
	})

	t.Run("201 without a SID", func(t *testing.T) {
		fake := newFakeTwilio(t, http.StatusCreated, `{"status":"queued"}`)
		tw := newTestTwilio(t, fake.URL)
		_, err := tw.Send(context.Background(), channels.Outbound{To: "sms:+27820000001", Body: "hello"})
		var se *channels.SendError
		if !errors.As(err, &se) {
			t.Fatalf("Send error %T %v, want *channels.SendError", err, err)
		}
		if se.Temporary {
			t.Errorf("SendError = %+v, want Temporary false", *se)
		}
	})
}

func TestTwilioNoSender(t *testing.T) {
	fake := newFakeTwilio(t, http.StatusCreated, `{"sid":"SM1","status":"queued"}`)
	tw, err := channels.NewTwilio(channels.TwilioConfig{
		AccountSID: testAccountSID, AuthToken: testAuthToken, APIURL: fake.URL,
		WhatsAppFrom: testWhatsAppFrom,
	})
	if err != nil {
		t.Fatalf("NewTwilio: %v", err)
	}
	_, err = tw.Send(context.Background(), channels.Outbound{To: "sms:+27820000001", Body: "hello"})
	var se *channels.SendError
	if !errors.As(err, &se) || se.Temporary {
		t.Fatalf("Send to SMS without an SMS sender = %v, want a permanent *SendError", err)
	}
	fake.mu.Lock()
	n := len(fake.requests)
	fake.mu.Unlock()
	if n != 0 {
		t.Errorf("fake Twilio got %d requests, want 0", n)
	}
}

func TestNewTwilioBadAPIURL(t *testing.T) {
	for _, u := range []string{"not a url", "/relative/path", "::"} {
		if _, err := channels.NewTwilio(channels.TwilioConfig{AccountSID: testAccountSID, AuthToken: testAuthToken, APIURL: u}); err == nil {
			t.Errorf("NewTwilio(APIURL %q) = nil error, want one", u)
		}
	}
}

// TestTwilioIgnoresEdgeAndRegion checks that TWILIO_EDGE and TWILIO_REGION in
// the environment do not send the request anywhere but the configured API URL.
func TestTwilioIgnoresEdgeAndRegion(t *testing.T) {
	t.Setenv("TWILIO_EDGE", "sydney")
	t.Setenv("TWILIO_REGION", "au1")
	fake := newFakeTwilio(t, http.StatusCreated, `{"sid":"SM1f0e2d3c4b5a69788796a5b4c3d2e1f0","status":"queued"}`)
	tw := newTestTwilio(t, fake.URL)
	r, err := tw.Send(context.Background(), channels.Outbound{To: "whatsapp:+27820000001", Body: "hello"})
	if err != nil {
		t.Fatalf("Send: unexpected error %v (the request did not reach the fake)", err)
	}
	if r.SID != "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0" {
		t.Errorf("Receipt.SID = %q, want the fake's SID", r.SID)
	}
	checkWire(t, fake.only(t))
}

// recordingTransport answers every request itself, remembering its URL.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, req.URL.String())
	rt.mu.Unlock()
	body := `{"sid":"SM1f0e2d3c4b5a69788796a5b4c3d2e1f0","status":"queued"}`
	return &http.Response{
		StatusCode: http.StatusCreated,
		Status:     "201 Created",
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}, nil
}

// TestTwilioIgnoresEdgeAndRegionWithoutAPIURL checks the host twilio-go
// builds when no API URL rewrites it: with TWILIO_EDGE and TWILIO_REGION set
// twilio-go would call api.sydney.au1.twilio.com; Parley must still call
// api.twilio.com. No request leaves the process: http.DefaultTransport, which
// NewTwilio uses, is replaced for the duration of the test.
func TestTwilioIgnoresEdgeAndRegionWithoutAPIURL(t *testing.T) {
	t.Setenv("TWILIO_EDGE", "sydney")
	t.Setenv("TWILIO_REGION", "au1")
	rt := &recordingTransport{}
	saved := http.DefaultTransport
	http.DefaultTransport = rt
	t.Cleanup(func() { http.DefaultTransport = saved })

	tw := newTestTwilio(t, "")
	if _, err := tw.Send(context.Background(), channels.Outbound{To: "sms:+27820000001", Body: "hello"}); err != nil {
		t.Fatalf("Send: unexpected error %v", err)
	}
	want := []string{"https://api.twilio.com" + messagesPath}
	if !reflect.DeepEqual(rt.urls, want) {
		t.Errorf("request URLs = %q, want %q", rt.urls, want)
	}
}

func TestSendErrorMessage(t *testing.T) {
	tests := []struct {
		err  channels.SendError
		want string
	}{
		{channels.SendError{Code: 21211, HTTPStatus: 400, Message: "Invalid 'To' Phone Number"}, "permanent send error (http 400, code 21211): Invalid 'To' Phone Number"},
		{channels.SendError{HTTPStatus: 0, Message: "dial tcp: connection refused", Temporary: true}, "temporary send error (http 0, code 0): dial tcp: connection refused"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	wrapped := fmt.Errorf("send job: %w", &channels.SendError{Temporary: true})
	if !channels.IsTemporary(wrapped) {
		t.Errorf("IsTemporary(wrapped temporary) = false, want true")
	}
	if channels.IsTemporary(errors.New("plain")) {
		t.Errorf("IsTemporary(plain error) = true, want false")
	}
}
