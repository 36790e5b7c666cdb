package bots_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
)

// botAt is a bot "echo" served by h, with a short timeout.
func botAt(t *testing.T, h http.HandlerFunc) *config.Bot {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &config.Bot{ID: "echo", URL: srv.URL, Timeout: 200 * time.Millisecond}
}

func event() bots.Event {
	now := time.Now().UTC().Truncate(time.Second)
	msg := engine.Message{ID: "m1", ConversationID: "c1", Direction: engine.DirIn, Body: "hi", At: now}
	return bots.Event{ID: "m1", Type: bots.EventMessage, Bot: "echo", ConversationID: "c1", Channel: "whatsapp",
		Contact: bots.Contact{Address: "whatsapp:+27820000001"}, Message: msg, History: []engine.Message{msg}, WindowOpen: true, SentAt: now}
}

// TestPostSignsAndReads: the event goes as signed JSON, once per secret in
// a key change-over, and the answer comes back as a Reply.
func TestPostSignsAndReads(t *testing.T) {
	want := bots.Reply{Actions: []engine.BotAction{{Type: "text", Body: "Hello"}, {Type: "handoff", Note: "wants a person"}}}
	ev := event()
	var got bots.Event
	bot := botAt(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Content-Type %q, want a POST of JSON", r.Method, r.Header.Get("Content-Type"))
		}
		for _, s := range []string{secret, otherSecret} {
			if err := bots.Verify(s, r.Header.Get(bots.SignatureHeader), body, time.Now()); err != nil {
				t.Errorf("signature under %s: %v", s, err)
			}
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("event: %v", err)
		}
		json.NewEncoder(w).Encode(want)
	})
	c := bots.NewClient(map[string][]string{"echo": {secret, otherSecret}})
	reply, err := c.Post(context.Background(), bot, ev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reply, want) {
		t.Errorf("reply %+v, want %+v", reply, want)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Errorf("the bot got %+v, want %+v", got, ev)
	}
}

// TestPostFailures: every way a call fails is a *Failure whose reason an
// agent can read; an empty answer is not a failure.
func TestPostFailures(t *testing.T) {
	// Slow bots hang until the client gives up, or at the latest until the
	// test ends (before the servers close, which waits for them).
	done := make(chan struct{})
	defer close(done)
	var redirected atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Store(true) }))
	defer elsewhere.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		name   string
		bot    *config.Bot
		reason string // empty: no failure
	}{
		{"empty body", botAt(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }), ""},
		{"no actions", botAt(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"actions":[]}`) }), ""},
		{"an error status", botAt(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }),
			"the bot answered with an error (HTTP 500)"},
		{"a client error with a body", botAt(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"actions":[{"type":"text","body":"ignored"}]}`)
		}), "the bot answered with an error (HTTP 400)"},
		{"a redirect", botAt(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, elsewhere.URL, http.StatusFound) }),
			"the bot answered with an error (HTTP 302)"},
		{"not JSON", botAt(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK") }), "the bot's answer could not be read"},
		{"too long", botAt(t, func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"actions":[{"type":"text","body":"`+strings.Repeat("x", bots.AnswerLimit)+`"}]}`)
		}), "the bot's answer could not be read"},
		{"slow", botAt(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-done:
			}
		}), "the bot did not answer in time"},
		{"slow in the middle of its answer", botAt(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"actions":`)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-done:
			}
		}), "the bot did not answer in time"},
		{"nobody there", &config.Bot{ID: "echo", URL: closed.URL, Timeout: time.Second}, "the bot is unavailable"},
	}
	c := bots.NewClient(map[string][]string{"echo": {secret}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := c.Post(context.Background(), tc.bot, event())
			if tc.reason == "" {
				if err != nil || len(reply.Actions) != 0 {
					t.Errorf("got %+v, %v; want no actions and no failure", reply, err)
				}
				return
			}
			var f *bots.Failure
			if !errors.As(err, &f) || f.Reason != tc.reason {
				t.Fatalf("got %v, want a failure %q", err, tc.reason)
			}
			if f.Err == nil || !strings.HasPrefix(err.Error(), tc.reason+": ") {
				t.Errorf("failure %q: want the reason, then the cause", err)
			}
		})
	}
	if redirected.Load() {
		t.Error("the client followed a bot's redirect")
	}
}

// TestPostWithoutSecret: Parley never posts an unsigned event.
func TestPostWithoutSecret(t *testing.T) {
	var called atomic.Bool
	bot := botAt(t, func(http.ResponseWriter, *http.Request) { called.Store(true) })
	c := bots.NewClient(map[string][]string{"other": {secret}})
	if _, err := c.Post(context.Background(), bot, event()); err == nil {
		t.Error("an event for a bot without a secret was posted")
	}
	if called.Load() {
		t.Error("the bot was called without a signature")
	}
	if len(c.Secrets("echo")) != 0 || len(c.Secrets("other")) != 1 {
		t.Errorf("Secrets: echo %q, other %q", c.Secrets("echo"), c.Secrets("other"))
	}
}
