package main

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTwilio plays Twilio's REST API for the process under test: it checks
// the wire format of every Messages create call, records it, and answers as
// scripted per recipient (To). Any departure from the wire format is recorded
// as a violation and fails the test at its end.
type fakeTwilio struct {
	srv            *httptest.Server
	accountSID     string
	authToken      string
	whatsAppFrom   string
	smsFrom        string
	statusCallback string

	mu         sync.Mutex
	requests   []twilioRequest
	violations []string
	scripts    map[scriptKey][]twilioAnswer
	wiring     fakeWiring  // the account's numbers and senders (faketwilio_wiring_test.go)
	media      fakeMedia   // media resources (faketwilio_media_test.go)
	content    fakeContent // the Content API's resources (faketwilio_content_test.go)
}

// scriptKey picks the requests a script answers: those to To whose Body (or,
// for a template, ContentSid) is Text. Keying on the text too keeps messages
// Parley sends by itself from using up a test's script.
type scriptKey struct{ To, Text string }

// twilioRequest is one Messages create call the fake received.
type twilioRequest struct {
	Form   url.Values
	Status int    // what the fake answered
	SID    string // the SID it returned, for a 201
}

func (r twilioRequest) get(k string) string { return r.Form.Get(k) }

// twilioAnswer is one scripted answer: an error (Status and Code), or, with
// Hold set, an acceptance under SID that is only sent once Hold is closed.
// Once a recipient's script is used up, the fake accepts its messages.
type twilioAnswer struct {
	Status  int
	Code    int
	Message string
	SID     string
	Hold    <-chan struct{}
}

// twilioFields are the Messages create parameters Parley may send.
var twilioFields = map[string]bool{
	"To": true, "From": true, "Body": true, "StatusCallback": true,
	"ContentSid": true, "ContentVariables": true, "MediaUrl": true,
}

func newFakeTwilio(t *testing.T, accountSID, authToken, whatsAppFrom, smsFrom, statusCallback string) *fakeTwilio {
	f := &fakeTwilio{
		accountSID: accountSID, authToken: authToken,
		whatsAppFrom: whatsAppFrom, smsFrom: smsFrom, statusCallback: statusCallback,
		scripts: map[scriptKey][]twilioAnswer{},
		wiring:  fakeWiring{accountStatus: "active"},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		for _, v := range f.Violations() {
			t.Errorf("fake Twilio: wire-format violation: %s", v)
		}
	})
	return f
}

// URL is the base URL to give Parley as PARLEY_TWILIO_API_URL.
func (f *fakeTwilio) URL() string { return f.srv.URL }

// script sets the answers for messages to `to` (a Twilio To value such as
// "whatsapp:+27820000001" or "+27820000001") whose Body (or ContentSid) is
// text.
func (f *fakeTwilio) script(to, text string, answers ...twilioAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := scriptKey{to, text}
	f.scripts[k] = append(f.scripts[k], answers...)
}

func (r twilioRequest) text() string {
	if c := r.get("ContentSid"); c != "" {
		return c
	}
	return r.get("Body")
}

// requestsFor returns the recorded requests to `to` whose Body (or
// ContentSid) is text, oldest first.
func (f *fakeTwilio) requestsFor(to, text string) []twilioRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []twilioRequest
	for _, r := range f.requests {
		if r.get("To") == to && r.text() == text {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeTwilio) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.violations...)
}

func (f *fakeTwilio) violation(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	if f.serveWiring(w, r) || f.serveMedia(w, r) || f.serveContent(w, r) {
		return
	}
	wantPath := "/2010-04-01/Accounts/" + f.accountSID + "/Messages.json"
	if r.Method != http.MethodPost {
		f.violation("%s %s: want POST", r.Method, r.URL.Path)
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	if r.URL.Path != wantPath {
		f.violation("POST %s: want path %s", r.URL.Path, wantPath)
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if r.URL.RawQuery != "" {
		f.violation("POST %s?%s: parameters belong in the body, not the query", r.URL.Path, r.URL.RawQuery)
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.accountSID || pass != f.authToken {
		f.violation("POST %s: wrong or missing basic auth (user %q, ok %v)", r.URL.Path, user, ok)
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		f.violation("POST %s: Content-Type %q, want application/x-www-form-urlencoded", r.URL.Path, r.Header.Get("Content-Type"))
		twilioError(w, http.StatusBadRequest, 20001, "Unsupported content type")
		return
	}
	if err := r.ParseForm(); err != nil {
		f.violation("POST %s: unreadable form: %v", r.URL.Path, err)
		twilioError(w, http.StatusBadRequest, 20001, "Unreadable form")
		return
	}
	form := r.PostForm
	if bad := checkMessageForm(form, f.whatsAppFrom, f.smsFrom, f.statusCallback); len(bad) > 0 {
		for _, b := range bad {
			f.violation("POST %s (To %q): %s", r.URL.Path, form.Get("To"), b)
		}
		f.record(twilioRequest{Form: form, Status: http.StatusBadRequest})
		twilioError(w, http.StatusBadRequest, 21604, "Invalid message parameters: "+strings.Join(bad, "; "))
		return
	}

	to := form.Get("To")
	f.mu.Lock()
	var answer *twilioAnswer
	k := scriptKey{to, twilioRequest{Form: form}.text()}
	if s := f.scripts[k]; len(s) > 0 {
		answer, f.scripts[k] = &s[0], s[1:]
	}
	f.mu.Unlock()
	sid := "SM" + randomHex(16)
	if answer != nil && answer.Hold == nil {
		f.record(twilioRequest{Form: form, Status: answer.Status})
		twilioError(w, answer.Status, answer.Code, answer.Message)
		return
	}
	if answer != nil {
		sid = answer.SID
		f.record(twilioRequest{Form: form, Status: http.StatusCreated, SID: sid})
		select {
		case <-answer.Hold:
		case <-r.Context().Done():
			return
		}
	} else {
		f.record(twilioRequest{Form: form, Status: http.StatusCreated, SID: sid})
	}
	now := time.Now().UTC().Format(time.RFC1123Z)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": f.accountSID, "api_version": "2010-04-01", "body": form.Get("Body"),
		"date_created": now, "date_updated": now, "date_sent": nil,
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": form.Get("From"), "messaging_service_sid": nil,
		"num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": sid, "status": "queued", "to": to,
		"subresource_uris": map[string]string{"media": "/2010-04-01/Accounts/" + f.accountSID + "/Messages/" + sid + "/Media.json"},
		"uri":              "/2010-04-01/Accounts/" + f.accountSID + "/Messages/" + sid + ".json",
	})
}

func (f *fakeTwilio) record(r twilioRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
}

// checkMessageForm lists what is wrong with a Messages create form.
func checkMessageForm(form url.Values, whatsAppFrom, smsFrom, statusCallback string) []string {
	var bad []string
	var unknown []string
	for k, vs := range form {
		if !twilioFields[k] {
			unknown = append(unknown, k)
		}
		if k != "MediaUrl" && len(vs) != 1 {
			bad = append(bad, fmt.Sprintf("%s given %d times", k, len(vs)))
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		bad = append(bad, "unexpected parameter "+k)
	}
	to, from := form.Get("To"), form.Get("From")
	switch {
	case to == "":
		bad = append(bad, "To is missing")
	case strings.HasPrefix(to, "whatsapp:"):
		if !strings.HasPrefix(to, "whatsapp:+") {
			bad = append(bad, fmt.Sprintf("To %q is not whatsapp:+<E.164>", to))
		}
		if from != whatsAppFrom {
			bad = append(bad, fmt.Sprintf("From %q, want the WhatsApp sender %q", from, whatsAppFrom))
		}
	default:
		if !strings.HasPrefix(to, "+") {
			bad = append(bad, fmt.Sprintf("To %q is not E.164", to))
		}
		if from != smsFrom {
			bad = append(bad, fmt.Sprintf("From %q, want the SMS sender %q", from, smsFrom))
		}
	}
	body, content := form.Get("Body"), form.Get("ContentSid")
	if body == "" && content == "" && len(form["MediaUrl"]) == 0 {
		bad = append(bad, "none of Body, ContentSid, MediaUrl")
	}
	if body != "" && content != "" {
		bad = append(bad, "both Body and ContentSid")
	}
	if content != "" && (!strings.HasPrefix(content, "HX") || len(content) != 34) {
		bad = append(bad, fmt.Sprintf("ContentSid %q is not HX + 32 characters", content))
	}
	if form.Get("ContentVariables") != "" && content == "" {
		bad = append(bad, "ContentVariables without ContentSid")
	}
	// Parley names the message in its callback URL: ?m= and a 26-character id.
	if got := form.Get("StatusCallback"); !strings.HasPrefix(got, statusCallback+"?m=") || len(got) != len(statusCallback)+3+26 {
		bad = append(bad, fmt.Sprintf("StatusCallback %q, want %q?m= and the message's id", got, statusCallback))
	}
	return bad
}
