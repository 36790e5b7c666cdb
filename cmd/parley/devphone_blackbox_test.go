package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// sandboxOnRealRedis turns the black-box process's Twilio account off, so it
// runs in sandbox mode on the test's real Redis.
var sandboxOnRealRedis = []string{"TWILIO_ACCOUNT_SID=", "TWILIO_AUTH_TOKEN=", "PARLEY_TWILIO_API_URL="}

// The phone simulator writes as any number with no sign-in: with a real
// Redis it is served only when PARLEY_DEV_PHONE asks for it.
func TestBlackboxDevPhoneOnlyWhenAskedFor(t *testing.T) {
	phoneStatus := func(p *parley) int {
		t.Helper()
		resp, err := p.http.Get(p.base + "/dev/phone")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	off := startParleyWith(t, parleyOptions{env: sandboxOnRealRedis})
	if got := phoneStatus(off); got != http.StatusNotFound {
		t.Fatalf("sandbox on a real Redis without PARLEY_DEV_PHONE: /dev/phone answered %d, want 404", got)
	}
	on := startParleyWith(t, parleyOptions{env: append(sandboxOnRealRedis, "PARLEY_DEV_PHONE=1")})
	if got := phoneStatus(on); got != http.StatusOK {
		t.Fatalf("sandbox on a real Redis with PARLEY_DEV_PHONE=1: /dev/phone answered %d, want 200", got)
	}
}

// phoneCall sends one request to the running phone; a JSON body when body
// is not nil.
func (p *parley) phoneCall(t *testing.T, method, path, contentType string, body []byte, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, p.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := p.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(out)}
}

// phoneSend posts one message from the phone; it must reach Parley's webhook.
func (p *parley) phoneSend(t *testing.T, msg map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(msg)
	r := p.phoneCall(t, http.MethodPost, "/dev/phone/send", "application/json", raw)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"webhook_status":200`) {
		t.Fatalf("phone send %s: %s", raw, r)
	}
}

type phoneHistoryEntry struct {
	ID        string
	Direction string
	Body      string
	Media     []struct {
		URL         string
		ContentType string `json:"content_type"`
	}
	Location *channels.Location
	Status   string
}

func (p *parley) phoneHistory(t *testing.T, number string) []phoneHistoryEntry {
	t.Helper()
	r := p.phoneCall(t, http.MethodGet, "/dev/phone/history?channel=whatsapp&number="+url.QueryEscape(number), "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("phone history: %s", r)
	}
	var out struct{ Messages []phoneHistoryEntry }
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("phone history: %v in %s", err, r.body)
	}
	return out.Messages
}

// The phone, run for real: a text, a file and a location each go through a
// signed webhook into Parley; the history the page reads back is what Parley
// stored, with the file served at the URL the webhook named; an agent's
// answer shows with its delivery state, and the phone's read receipt moves
// it to read.
func TestBlackboxDevPhoneConversation(t *testing.T) {
	p := startParleyWith(t, parleyOptions{env: append(sandboxOnRealRedis, "PARLEY_DEV_PHONE=1")})
	const number = "+27825550101"
	addr := channels.Address("whatsapp:" + number)
	p.phoneSend(t, map[string]any{"channel": "whatsapp", "number": number, "name": "Pieter", "body": "where is my parcel?"})

	file := []byte("%PDF-1.4 a receipt")
	up := p.phoneCall(t, http.MethodPost, "/dev/phone/attachments?name=receipt.pdf", "application/pdf", file, "X-Parley-Phone", "upload")
	if up.status != http.StatusCreated {
		t.Fatalf("upload: %s", up)
	}
	var upload struct{ ID string }
	if err := json.Unmarshal([]byte(up.body), &upload); err != nil {
		t.Fatal(err)
	}
	p.phoneSend(t, map[string]any{"channel": "whatsapp", "number": number, "body": "the receipt", "media": []string{upload.ID}})
	p.phoneSend(t, map[string]any{"channel": "whatsapp", "number": number,
		"location": map[string]any{"latitude": -33.9249, "longitude": 18.4241, "label": "Cape Town Station", "address": "Adderley St"}})

	hist := p.phoneHistory(t, number)
	if len(hist) != 3 {
		t.Fatalf("history after three sends: %+v", hist)
	}
	if hist[0].Direction != "in" || hist[0].Body != "where is my parcel?" {
		t.Errorf("first: %+v", hist[0])
	}
	if len(hist[1].Media) != 1 || hist[1].Media[0].URL != "/dev/phone/media/"+upload.ID || hist[1].Media[0].ContentType != "application/pdf" || hist[1].Body != "the receipt" {
		t.Errorf("the file: %+v", hist[1])
	}
	if l := hist[2].Location; l == nil || l.Latitude != -33.9249 || l.Longitude != 18.4241 || l.Label != "Cape Town Station" || l.Address != "Adderley St" {
		t.Errorf("the location: %+v", hist[2])
	}
	if got := p.phoneCall(t, http.MethodGet, hist[1].Media[0].URL, "", nil); got.status != http.StatusOK || got.body != string(file) || got.contentType != "application/pdf" {
		t.Errorf("the file as served: %s", got)
	}
	if c := p.contact(t, addr); c.Name != "Pieter" || c.Chat == "" {
		t.Fatalf("contact after the phone wrote: %+v", c)
	}

	agent := p.signIn(t, "blackbox-agent")
	chat := p.contact(t, addr).Chat
	if r := agent.do(t, http.MethodPost, "/api/v1/conversations/"+chat+"/messages", map[string]string{"body": "It ships today."}); r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("agent reply: %s", r)
	}
	var answer phoneHistoryEntry
	eventually(t, "the agent's answer delivered on the phone", func() (bool, string) {
		hist = p.phoneHistory(t, number)
		answer = hist[len(hist)-1]
		return answer.Direction == "out" && answer.Body == "It ships today." && answer.Status == "delivered", fmt.Sprintf("%+v", answer)
	})
	raw, _ := json.Marshal(map[string]any{"channel": "whatsapp", "number": number, "ids": []string{answer.ID}})
	if r := p.phoneCall(t, http.MethodPost, "/dev/phone/read", "application/json", raw); r.status != http.StatusOK || !strings.Contains(r.body, `"read":1`) {
		t.Fatalf("read receipt: %s", r)
	}
	p.waitMessage(t, answer.ID, "the answer marked read", func(m engine.Message) bool { return m.Status == channels.StatusRead })
	// Once read, a second receipt has nothing left to say.
	if r := p.phoneCall(t, http.MethodPost, "/dev/phone/read", "application/json", raw); r.status != http.StatusOK || !strings.Contains(r.body, `"read":0`) {
		t.Fatalf("second read receipt: %s", r)
	}
	if r := p.phoneCall(t, http.MethodGet, "/dev/phone/history?channel=whatsapp&number=nope", "", nil); r.status != http.StatusBadRequest {
		t.Errorf("history of a bad number: %s, want 400", r)
	}
}
