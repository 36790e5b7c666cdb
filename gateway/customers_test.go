package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/media"
)

func decodeInto(t *testing.T, r io.Reader, v any) {
	t.Helper()
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// closedChatWithInfo makes a chat of ann's with a customer and closes it
// with a note, a tag and a link as reference.
func closedChatWithInfo(t *testing.T, f deskFixture, ann *client, from, sid string) string {
	t.Helper()
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	chat := f.inbound(t, sid, from, "whatsapp:+15550000001", "my router blinks red")
	ann.want("POST", "/api/v1/conversations/"+chat+"/messages", map[string]string{"body": "Let me check"}, 201, "")
	ann.want("POST", "/api/v1/conversations/"+chat+"/close", map[string]any{"sentiment": "negative", "notes": "Replaced the router",
		"tag": "technical", "refs": []string{"https://jira.example.com/browse/NET-42", "RMA-7"}}, 200, "")
	return chat
}

// The profile: its agent and supervisors see it, with every conversation
// and its close information; an agent who never had the customer gets
// 404, as for an unknown number; a malformed number is 400.
func TestCustomerProfileAccess(t *testing.T) {
	f := newDeskFixture(t)
	ann, bob, sue := f.signIn(t, "ann"), f.signIn(t, "bob"), f.signIn(t, "sue")
	const from = "whatsapp:+27820000601"
	chat := closedChatWithInfo(t, f, ann, from, "SMp1")
	f.svc.Rules() // settings as configured
	path := "/api/v1/customers/" + from

	var p desk.Profile
	decodeInto(t, ann.want("GET", path, nil, 200, "").Body, &p)
	if p.Contact.Address != from || p.Channel != channels.WhatsApp || p.Contact.OptedOut || !p.WindowOpen || len(p.Conversations) != 1 {
		t.Fatalf("profile %+v", p)
	}
	e := p.Conversations[0]
	if e.ID != chat || e.Closed == nil || e.Closed.Notes != "Replaced the router" || e.Closed.Tag != "technical" ||
		e.Closed.Sentiment != "negative" || len(e.Closed.Refs) != 2 || e.AgentName != "Ann" {
		t.Fatalf("engagement %+v closed %+v", e, e.Closed)
	}
	sue.want("GET", path, nil, 200, "")
	sue.want("GET", "/api/v1/customers/"+url.PathEscape(from), nil, 200, "") // encoded as a browser sends it
	bob.want("GET", path, nil, 404, "not_found")
	sue.want("GET", "/api/v1/customers/whatsapp:+27820009999", nil, 404, "not_found")
	for _, bad := range []string{"hello", "whatsapp:27820000601", "+0123", "+1234567890123456", "telegram:+27820000601"} {
		sue.want("GET", "/api/v1/customers/"+url.PathEscape(bad), nil, 400, "invalid")
	}
}

// The note: whoever may see the customer keeps it, each change audited
// with its text; others get 404; bad input 400.
func TestCustomerNoteIsAudited(t *testing.T) {
	f := newDeskFixture(t)
	ann, bob := f.signIn(t, "ann"), f.signIn(t, "bob")
	const from = "whatsapp:+27820000602"
	closedChatWithInfo(t, f, ann, from, "SMn1")
	path := "/api/v1/customers/" + from + "/note"

	var n store.CustomerNote
	decodeInto(t, ann.want("PUT", path, map[string]string{"text": "Prefers calls after 17:00"}, 200, "").Body, &n)
	if n.Text != "Prefers calls after 17:00" || n.By != "ann" || n.At.IsZero() {
		t.Fatalf("note %+v", n)
	}
	bob.want("PUT", path, map[string]string{"text": "not mine"}, 404, "not_found")
	ann.want("PUT", path, map[string]string{"text": strings.Repeat("x", desk.MaxCustomerNote+1)}, 400, "invalid")
	ann.want("PUT", path, map[string]string{}, 400, "invalid")
	ann.want("PUT", "/api/v1/customers/nonsense/note", map[string]string{"text": "x"}, 400, "invalid")

	var p desk.Profile
	decodeInto(t, ann.want("GET", "/api/v1/customers/"+from, nil, 200, "").Body, &p)
	if p.Note.Text != "Prefers calls after 17:00" || p.Note.By != "ann" {
		t.Fatalf("profile note %+v", p.Note)
	}
	log, err := f.svc.AuditLog(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "customer.note" || log[0].Actor != "ann" || log[0].Target != from ||
		!strings.Contains(log[0].Detail, "Prefers calls after 17:00") {
		t.Fatalf("audit %+v, want one entry for ann's note", log)
	}
}

// A returning customer's new chat carries the earlier engagements' close
// information beside their messages.
func TestReturningChatShowsEarlierEngagements(t *testing.T) {
	f := newDeskFixture(t)
	ann := f.signIn(t, "ann")
	const from = "whatsapp:+27820000603"
	first := closedChatWithInfo(t, f, ann, from, "SMe1")
	again := f.inbound(t, "SMe2", from, "whatsapp:+15550000001", "it blinks again")
	var d struct {
		History     []engine.Message  `json:"history"`
		Engagements []desk.Engagement `json:"engagements"`
	}
	decodeInto(t, ann.want("GET", "/api/v1/conversations/"+again, nil, 200, "").Body, &d)
	if len(d.Engagements) != 1 || d.Engagements[0].ID != first || d.Engagements[0].Closed == nil ||
		d.Engagements[0].Closed.Refs[0] != "https://jira.example.com/browse/NET-42" || d.Engagements[0].Closed.Notes != "Replaced the router" {
		t.Fatalf("engagements %+v", d.Engagements)
	}
	if d.History[0].ConversationID != first {
		t.Fatalf("history starts with %s, want the earlier chat", d.History[0].ConversationID)
	}
}

// One-way SMS: supervisors only; the number and the text are checked; an
// opted-out number is refused; a sent one is a closed chat signed by its
// sender, on the customer's profile.
func TestOneWaySMS(t *testing.T) {
	f := newDeskFixture(t)
	ann, sue := f.signIn(t, "ann"), f.signIn(t, "sue")
	ok := map[string]string{"to": "+27820000604", "body": "Your order is ready for collection."}
	ann.want("POST", "/api/v1/sms", ok, 403, "forbidden")
	for name, bad := range map[string]map[string]string{
		"no plus":      {"to": "27820000604", "body": "x"},
		"letters":      {"to": "+2782abc", "body": "x"},
		"whatsapp":     {"to": "whatsapp:+27820000604", "body": "x"},
		"empty body":   {"to": "+27820000604", "body": "  "},
		"long body":    {"to": "+27820000604", "body": strings.Repeat("x", engine.MaxSMSBody+1)},
		"unknown dept": {"to": "+27820000604", "body": "x", "department": "nowhere"},
	} {
		t.Run(name, func(t *testing.T) { sue.want("POST", "/api/v1/sms", bad, 400, "invalid") })
	}
	if err := f.svc.SetOptedOut(context.Background(), "sms:+27820000605", true); err != nil {
		t.Fatal(err)
	}
	sue.want("POST", "/api/v1/sms", map[string]string{"to": "+27820000605", "body": "hello"}, 409, "opted_out")

	var c engine.Conversation
	decodeInto(t, sue.want("POST", "/api/v1/sms", ok, 201, "").Body, &c)
	if c.State != engine.StateClosed || c.Kind != engine.KindChat || c.Contact != "sms:+27820000604" || c.Assignee != "sue" ||
		c.Closed == nil || c.Closed.Reason != engine.ReasonOneWaySMS || c.Closed.By != "sue" {
		t.Fatalf("recorded as %+v closed %+v", c, c.Closed)
	}
	var p desk.Profile
	decodeInto(t, sue.want("GET", "/api/v1/customers/sms:+27820000604", nil, 200, "").Body, &p)
	if len(p.Conversations) != 1 || p.Conversations[0].ID != c.ID || p.Conversations[0].Preview != ok["body"] {
		t.Fatalf("profile after the SMS %+v", p.Conversations)
	}
}

// The transcript page opens from a fresh signed link, escapes what the
// customer wrote, and refuses a forged or an expired link.
func TestTranscriptPage(t *testing.T) {
	f := newDeskFixture(t)
	ann := f.signIn(t, "ann")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	chat := f.inbound(t, "SMq1", "whatsapp:+27820000606", "whatsapp:+15550000001", `<script>alert(1)</script> & hi`)
	ann.want("POST", "/api/v1/conversations/"+chat+"/comments", map[string]string{"body": "secret team note"}, 201, "")
	signer := media.NewSigner([]byte(strings.Repeat("k", 32)), "") // the fixture's media secret
	get := func(link string, status int) string {
		t.Helper()
		resp, err := f.app.Test(httptest.NewRequest("GET", link, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Fatalf("GET %s: %d, want %d: %s", link, resp.StatusCode, status, body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Fatalf("CSP %q", csp)
		}
		return string(body)
	}
	page := get(signer.TranscriptURL(chat, time.Now().Add(time.Hour)), 200)
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; hi") ||
		strings.Contains(page, "secret team note") {
		t.Fatalf("page:\n%s", page)
	}
	forged := strings.Replace(signer.TranscriptURL(chat, time.Now().Add(time.Hour)), "sig=", "sig=AA", 1)
	get(forged, 403)
	get(signer.TranscriptURL(chat, time.Now().Add(-time.Minute)), 410)
	other := media.NewSigner([]byte(strings.Repeat("z", 32)), "")
	get(other.TranscriptURL(chat, time.Now().Add(time.Hour)), 403)
}
