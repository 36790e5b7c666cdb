package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk/media"
)

// phoneDo runs one request against the gateway and returns its status and body.
func phoneDo(t *testing.T, g testGateway, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := g.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func phoneJSON(path, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func phoneUpload(name, contentType string, data []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/dev/phone/attachments?name="+name, bytes.NewReader(data))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set(phoneUploadHeader, "upload")
	return req
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Code string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	return e.Code
}

// A file the customer sends is kept and served back, byte for byte, with its
// type, to whoever has its URL, and under a policy that runs nothing in it.
func TestPhoneUploadIsServedBack(t *testing.T) {
	g := newTestGateway(t, true)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)
	status, _, body := phoneDo(t, g, phoneUpload("receipt.png", "image/png", png))
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	var up struct {
		ID, Name, URL string
		ContentType   string `json:"content_type"`
		Size          int
	}
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	if up.Name != "receipt.png" || up.ContentType != "image/png" || up.Size != len(png) || up.URL != "/dev/phone/media/"+up.ID {
		t.Fatalf("upload answered %+v", up)
	}
	status, h, got := phoneDo(t, g, httptest.NewRequest(http.MethodGet, up.URL, nil))
	if status != http.StatusOK || !bytes.Equal(got, png) {
		t.Fatalf("GET %s: %d, %d bytes, want the %d uploaded", up.URL, status, len(got), len(png))
	}
	for k, want := range map[string]string{
		"Content-Type": "image/png", "Content-Security-Policy": "sandbox",
		"Content-Disposition": `inline; filename="receipt.png"`, "X-Content-Type-Options": "nosniff",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	// Without a type, the bytes decide it.
	status, _, body = phoneDo(t, g, phoneUpload("note", "", []byte("plain words")))
	if status != http.StatusCreated || !strings.Contains(string(body), `"content_type":"text/plain; charset=utf-8"`) {
		t.Fatalf("upload without a type: %d %s", status, body)
	}
}

func TestPhoneUploadRefusals(t *testing.T) {
	g := newTestGateway(t, true)
	noHeader := httptest.NewRequest(http.MethodPost, "/dev/phone/attachments?name=a.txt", strings.NewReader("hello"))
	noHeader.Header.Set("Content-Type", "text/plain")
	crossSite := phoneUpload("a.txt", "text/plain", []byte("hello"))
	crossSite.Header.Set("Sec-Fetch-Site", "cross-site")
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"a form from another page, without the header", noHeader, 403, "cross_site"},
		{"a fetch from another site", crossSite, 403, "cross_site"},
		{"nothing in it", phoneUpload("a.txt", "text/plain", nil), 400, "empty"},
		{"over 20 MB", phoneUpload("big.bin", "application/zip", make([]byte, media.MaxAttachment+1)), 413, "too_large"},
		{"a name too long", phoneUpload(strings.Repeat("n", 201), "text/plain", []byte("x")), 400, "bad_name"},
		{"not a media type", phoneUpload("a.txt", "text/", []byte("x")), 400, "bad_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := phoneDo(t, g, tc.req)
			if status != tc.status || errorCode(t, body) != tc.code {
				t.Fatalf("%d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "not-an-id", strings.Repeat("z", 32)} {
		if status, _, body := phoneDo(t, g, httptest.NewRequest(http.MethodGet, "/dev/phone/media/"+id, nil)); status != http.StatusNotFound {
			t.Errorf("GET media %s: %d %s, want 404", id, status, body)
		}
	}
}

// What no phone could send is refused before any webhook is posted (the
// test gateway's loopback address answers nothing, so a post would be 500).
func TestPhoneSendRefusals(t *testing.T) {
	g := newTestGateway(t, true)
	for _, tc := range []struct{ name, body, code string }{
		{"nothing at all", `{"channel":"whatsapp","number":"+27820000001","body":"  "}`, "empty"},
		{"too long", `{"channel":"whatsapp","number":"+27820000001","body":"` + strings.Repeat("a", 4097) + `"}`, "too_long"},
		{"a file never uploaded", `{"channel":"whatsapp","number":"+27820000001","media":["0123456789abcdef0123456789abcdef"]}`, "bad_media"},
		{"eleven files", `{"channel":"whatsapp","number":"+27820000001","media":["a","b","c","d","e","f","g","h","i","j","k"]}`, "too_many_media"},
		{"a location by SMS", `{"channel":"sms","number":"+27820000001","location":{"latitude":1,"longitude":2}}`, "bad_location"},
		{"a location with text", `{"channel":"whatsapp","number":"+27820000001","body":"here","location":{"latitude":1,"longitude":2}}`, "bad_location"},
		{"no latitude", `{"channel":"whatsapp","number":"+27820000001","location":{"longitude":2}}`, "bad_location"},
		{"latitude off the globe", `{"channel":"whatsapp","number":"+27820000001","location":{"latitude":91,"longitude":2}}`, "bad_location"},
		{"longitude off the globe", `{"channel":"whatsapp","number":"+27820000001","location":{"latitude":1,"longitude":-181}}`, "bad_location"},
		{"a label too long", `{"channel":"whatsapp","number":"+27820000001","location":{"latitude":1,"longitude":2,"label":"` + strings.Repeat("l", 257) + `"}}`, "bad_location"},
		{"a bad number", `{"channel":"whatsapp","number":"0820000001","body":"hi"}`, "bad_number"},
		{"not JSON", `{"channel":`, "bad_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := phoneDo(t, g, phoneJSON("/dev/phone/send", tc.body))
			if status != http.StatusBadRequest || errorCode(t, body) != tc.code {
				t.Fatalf("%d %s, want 400 %s", status, body, tc.code)
			}
		})
	}
}

// The history is what Parley stored for the number: the customer's message
// and what Parley sent back with its delivery state, never an internal note
// and never another number's messages.
func TestPhoneHistoryIsWhatTheCustomerSaw(t *testing.T) {
	g := newTestGateway(t, true)
	const number = "+27820000001"
	in := map[string]string{"MessageSid": "SMphone1", "AccountSid": testAccount, "From": "whatsapp:" + number, "To": "whatsapp:+14155238886", "Body": "my order is late"}
	if status, _, body := phoneDo(t, g, signedRequest("/webhooks/twilio/messages", in)); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, body)
	}
	other := map[string]string{"MessageSid": "SMphone2", "AccountSid": testAccount, "From": "whatsapp:+27820000002", "To": "whatsapp:+14155238886", "Body": "someone else"}
	if status, _, body := phoneDo(t, g, signedRequest("/webhooks/twilio/messages", other)); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, body)
	}
	ctx := context.Background()
	conv, err := g.svc.OpenConversation(ctx, channels.Address("whatsapp:"+number))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc.Comment(ctx, engine.Actor{ID: "sue", Role: "supervisor"}, conv.ID, "internal: check the courier"); err != nil {
		t.Fatal(err)
	}

	status, _, body := phoneDo(t, g, httptest.NewRequest(http.MethodGet, "/dev/phone/history?channel=whatsapp&number=%2B27820000001", nil))
	if status != http.StatusOK {
		t.Fatalf("history: %d %s", status, body)
	}
	var got struct{ Messages []phoneEntry }
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) < 2 {
		t.Fatalf("history has %d messages, want the customer's and Parley's answer: %s", len(got.Messages), body)
	}
	first := got.Messages[0]
	if first.Direction != engine.DirIn || first.Body != "my order is late" || first.Status != "" {
		t.Errorf("first message %+v, want the customer's, with no delivery state", first)
	}
	for _, m := range got.Messages[1:] {
		// Nothing is dispatched in this gateway, so Parley's answers wait in the outbox.
		if m.Direction != engine.DirOut || m.Status != channels.StatusQueued || m.Body == "" {
			t.Errorf("message %+v, want Parley's answer, queued", m)
		}
	}
	if strings.Contains(string(body), "courier") || strings.Contains(string(body), "someone else") {
		t.Errorf("history shows a note or another number's message: %s", body)
	}

	for _, q := range []string{"channel=fax&number=%2B27820000001", "channel=whatsapp&number=27820000001", "channel=sms"} {
		if status, _, body := phoneDo(t, g, httptest.NewRequest(http.MethodGet, "/dev/phone/history?"+q, nil)); status != http.StatusBadRequest {
			t.Errorf("history?%s: %d %s, want 400", q, status, body)
		}
	}
}

func TestPhoneReadReceiptRefusals(t *testing.T) {
	g := newTestGateway(t, true)
	in := map[string]string{"MessageSid": "SMphone3", "AccountSid": testAccount, "From": "whatsapp:+27820000003", "To": "whatsapp:+14155238886", "Body": "hello"}
	if status, _, body := phoneDo(t, g, signedRequest("/webhooks/twilio/messages", in)); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, body)
	}
	ctx := context.Background()
	conv, err := g.svc.OpenConversation(ctx, "whatsapp:+27820000003")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := g.store.History(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	var inID, outID string
	for _, m := range hist {
		switch m.Direction {
		case engine.DirIn:
			inID = m.ID
		case engine.DirOut:
			outID = m.ID
		}
	}
	if inID == "" || outID == "" {
		t.Fatalf("want a message in and one out, got %+v", hist)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"SMS has no read receipts", `{"channel":"sms","number":"+27820000003","ids":["` + outID + `"]}`, 400, "bad_channel"},
		{"no ids", `{"channel":"whatsapp","number":"+27820000003","ids":[]}`, 400, "bad_ids"},
		{"an unknown id", `{"channel":"whatsapp","number":"+27820000003","ids":["01NOPE"]}`, 404, "not_found"},
		{"the customer's own message", `{"channel":"whatsapp","number":"+27820000003","ids":["` + inID + `"]}`, 404, "not_found"},
		{"another number's message", `{"channel":"whatsapp","number":"+27820000004","ids":["` + outID + `"]}`, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := phoneDo(t, g, phoneJSON("/dev/phone/read", tc.body))
			if status != tc.status || errorCode(t, body) != tc.code {
				t.Fatalf("%d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	// A message not sent yet has no receipt to give: nothing is posted.
	status, _, body := phoneDo(t, g, phoneJSON("/dev/phone/read", `{"channel":"whatsapp","number":"+27820000003","ids":["`+outID+`"]}`))
	if status != http.StatusOK || !strings.Contains(string(body), `"read":0`) {
		t.Fatalf("receipt for a queued message: %d %s, want 200 with nothing read", status, body)
	}
}

func TestRenderTemplate(t *testing.T) {
	known := []config.Template{{Name: "follow_up", ContentSID: "HX1", Preview: "Hello {{1}}, about order {{ 2 }}. {{3}} stays."}}
	for _, tc := range []struct {
		name, wantName, wantText string
		t                        channels.Template
	}{
		{"filled", "follow_up", "Hello Pieter, about order 42. {{3}} stays.", channels.Template{ContentSID: "HX1", Variables: map[string]string{"1": "Pieter", "2": "42"}}},
		{"an empty value keeps its mark", "follow_up", "Hello {{1}}, about order 7. {{3}} stays.", channels.Template{ContentSID: "HX1", Variables: map[string]string{"1": "", "2": "7"}}},
		{"unknown to the settings", "HX9", "Template HX9 ({{1}} = a, {{2}} = b)", channels.Template{ContentSID: "HX9", Variables: map[string]string{"2": "b", "1": "a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, text := renderTemplate(known, tc.t)
			if name != tc.wantName || text != tc.wantText {
				t.Fatalf("got %q %q, want %q %q", name, text, tc.wantName, tc.wantText)
			}
		})
	}
}

// The page keeps to the desk's policy: its script and style are files of
// this server, served with their types, and it has no inline code.
func TestPhonePageHasNoInlineCode(t *testing.T) {
	g := newTestGateway(t, true)
	inline := regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`)
	if m := inline.Find(phoneHTML); m != nil {
		t.Errorf("phone.html has inline code the policy refuses: %q", m)
	}
	if strings.Contains(string(phoneJS), "innerHTML") {
		t.Errorf("phone.js uses innerHTML")
	}
	for path, want := range map[string]string{"/dev/phone/phone.js": "text/javascript", "/dev/phone/phone.css": "text/css"} {
		status, h, _ := phoneDo(t, g, httptest.NewRequest(http.MethodGet, path, nil))
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), want) || h.Get("Content-Security-Policy") != deskPolicy {
			t.Errorf("%s: %d %q %q", path, status, h.Get("Content-Type"), h.Get("Content-Security-Policy"))
		}
	}
}
