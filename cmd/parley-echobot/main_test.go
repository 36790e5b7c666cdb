package main

// Unit tests of the example bot's handler: what it answers to each keyword,
// and what it refuses (bad or old signatures, replayed events). Events are
// signed with bots.Sign, the signer Parley itself uses; answers are decoded
// into bots.Reply, the type Parley reads them into, refusing fields it does
// not know.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
)

const testSecret = "echobot-test-secret-0123456789"

// clock is a settable now for the handler.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newClock() *clock { return &clock{t: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)} }

// eventBody is an event as Parley posts it (the fields the bot reads, and a
// few it ignores).
func eventBody(t *testing.T, id, text string) []byte {
	t.Helper()
	body, err := json.Marshal(bots.Event{
		ID: id, Type: "message", Bot: "echo", ConversationID: "01JCONVERSATION0000000000",
		Contact:    bots.Contact{Address: "whatsapp:+27820000001", Name: "Thandi"},
		Channel:    "whatsapp",
		Message:    engine.Message{ID: id, Direction: engine.DirIn, Body: text},
		WindowOpen: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// post sends body with the signature header sig (none if empty) to h.
func post(h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(bots.SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// reply decodes a 200 answer as Parley would, refusing fields Parley does
// not know.
func reply(t *testing.T, rec *httptest.ResponseRecorder) bots.Reply {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d (%q), want 200", rec.Code, rec.Body.String())
	}
	if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", rec.Header().Get("Content-Type"))
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	var r bots.Reply
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("answer %q is not a Reply: %v", rec.Body.String(), err)
	}
	return r
}

func TestBotAnswers(t *testing.T) {
	const (
		greeting = "Hello! What can I do for you?"
		hours    = "We are here Monday to Friday, 8:00 to 17:00."
		finding  = "Let me find you someone from the team."
		bye      = "Goodbye!"
		sorry    = "Sorry, I did not get that. Send hours, or agent to talk to a person."
	)
	hello := []engine.BotAction{
		{Type: "tags", Tags: []string{"greeted"}},
		{Type: "buttons", Body: greeting, Buttons: []string{"hours", "agent"}},
	}
	handoff := []engine.BotAction{
		{Type: "text", Body: finding},
		{Type: "handoff", Note: "The customer asked for a person."},
	}
	cases := []struct {
		text string
		want []engine.BotAction
	}{
		{"hi", hello},
		{"hello", hello},
		{"  HI \n", hello},
		{"hours", []engine.BotAction{{Type: "text", Body: hours}}},
		{"Hours", []engine.BotAction{{Type: "text", Body: hours}}},
		{"agent", handoff},
		{"human", handoff},
		{" Person ", handoff},
		{"bye", []engine.BotAction{{Type: "text", Body: bye}, {Type: "close"}}},
		{"what are your prices?", []engine.BotAction{{Type: "text", Body: sorry}}},
		{"hi there", []engine.BotAction{{Type: "text", Body: sorry}}},
		{"", []engine.BotAction{{Type: "text", Body: sorry}}},
	}
	c := newClock()
	h := handler(testSecret, c.now, nil)
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.text), func(t *testing.T) {
			body := eventBody(t, fmt.Sprintf("01JEVENT%018d", i), tc.text)
			r := reply(t, post(h, body, bots.Sign(testSecret, c.now(), body)))
			if r.ID != "" {
				t.Errorf("answer id %q: an answer in a response body needs none", r.ID)
			}
			if !reflect.DeepEqual(r.Actions, tc.want) {
				t.Errorf("actions %+v, want %+v", r.Actions, tc.want)
			}
		})
	}
}

func TestBotRefusesBadSignature(t *testing.T) {
	c := newClock()
	h := handler(testSecret, c.now, nil)
	body := eventBody(t, "01JEVENTFORGED000000000001", "hi")
	good := bots.Sign(testSecret, c.now(), body)
	ts, _, _ := strings.Cut(good, ",")
	cases := []struct{ name, sig string }{
		{"wrong_secret", bots.Sign("another-secret-0123456789", c.now(), body)},
		{"other_body", bots.Sign(testSecret, c.now(), eventBody(t, "01JEVENTFORGED000000000001", "agent"))},
		{"missing", ""},
		{"no_mac", ts},
		{"empty_mac", ts + ",v1="},
		{"no_time", strings.TrimPrefix(good, ts+",")},
		{"garbage", "v1=deadbeef"},
		{"time_changed", fmt.Sprintf("t=%d,%s", c.now().Unix()+1, strings.TrimPrefix(good, ts+","))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rec := post(h, body, tc.sig); rec.Code != http.StatusForbidden {
				t.Errorf("signature %q: status %d (%q), want 403", tc.sig, rec.Code, rec.Body.String())
			}
		})
	}
	// A forged event is not remembered: the real one, same id, is answered.
	if r := reply(t, post(h, body, good)); len(r.Actions) != 2 {
		t.Errorf("the correctly signed event after forged ones: %+v, want the greeting", r.Actions)
	}
	// A body that is not an event, correctly signed, is a 400.
	for _, bad := range []string{`not json`, `{"type":"message"}`} {
		if rec := post(h, []byte(bad), bots.Sign(testSecret, c.now(), []byte(bad))); rec.Code != http.StatusBadRequest {
			t.Errorf("signed non-event %q: status %d, want 400", bad, rec.Code)
		}
	}
}

func TestBotRefusesOldSignature(t *testing.T) {
	c := newClock()
	h := handler(testSecret, c.now, nil)
	cases := []struct {
		age  time.Duration // how long before now the event was signed
		want int
	}{
		{5*time.Minute + time.Second, http.StatusForbidden},
		{time.Hour, http.StatusForbidden},
		{-5*time.Minute - time.Second, http.StatusForbidden}, // from the future
		{5*time.Minute - time.Second, http.StatusOK},
		{-5*time.Minute + time.Second, http.StatusOK},
		{0, http.StatusOK},
	}
	for i, tc := range cases {
		t.Run(tc.age.String(), func(t *testing.T) {
			body := eventBody(t, fmt.Sprintf("01JEVENTAGE%015d", i), "hours")
			if rec := post(h, body, bots.Sign(testSecret, c.now().Add(-tc.age), body)); rec.Code != tc.want {
				t.Errorf("signed %s ago: status %d (%q), want %d", tc.age, rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
}

func TestBotRefusesReplayedEvent(t *testing.T) {
	c := newClock()
	h := handler(testSecret, c.now, nil)
	body := eventBody(t, "01JEVENTREPLAY00000000001", "hours")
	sig := bots.Sign(testSecret, c.now(), body)
	if r := reply(t, post(h, body, sig)); len(r.Actions) != 1 {
		t.Fatalf("first delivery: %+v, want the hours", r.Actions)
	}
	if rec := post(h, body, sig); rec.Code != http.StatusConflict {
		t.Errorf("the same event again: status %d (%q), want 409", rec.Code, rec.Body.String())
	}
	// Signed anew later, as Parley's retry is, it is a new delivery of the
	// same event, answered again.
	c.t = c.t.Add(time.Minute)
	reply(t, post(h, body, bots.Sign(testSecret, c.now(), body)))
	// Another id is a new event.
	other := eventBody(t, "01JEVENTREPLAY00000000002", "hours")
	reply(t, post(h, other, bots.Sign(testSecret, c.now(), other)))
}
