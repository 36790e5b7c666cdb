// Command parley-echobot is an example bot for Parley's bot connector: it
// answers a few keywords, hands the customer to a person on "agent", and
// answers "order" later, through Parley's callback API.
// It shows everything a bot must do: check the signature and the time of
// each delivery, refuse a delivery it has seen (a replay), answer with
// actions, and take the lifecycle events (the chat closed, handed off or
// taken over) without answering them. Parley's own retries are new
// deliveries of the same event id, signed anew, and are answered again.
// It builds on desk/bots, the connector's wire types and signatures, as a
// bot written in Go can.
//
//	ECHOBOT_SECRET=... ECHOBOT_LISTEN=127.0.0.1:9090 ECHOBOT_PARLEY_URL=http://127.0.0.1:8080 parley-echobot
package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
)

func main() {
	secret, listen := os.Getenv("ECHOBOT_SECRET"), os.Getenv("ECHOBOT_LISTEN")
	if len(secret) < 16 || listen == "" {
		log.Fatal("set ECHOBOT_SECRET (16+ characters, the bot's secret in Parley) and ECHOBOT_LISTEN (host:port); ECHOBOT_PARLEY_URL (Parley's base URL) for later answers")
	}
	cb := &callbacks{parley: strings.TrimSuffix(os.Getenv("ECHOBOT_PARLEY_URL"), "/"), secret: secret,
		http: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
	log.Fatal(http.ListenAndServe(listen, handler(secret, time.Now, cb)))
}

func handler(secret string, now func() time.Time, cb *callbacks) http.Handler {
	var mu sync.Mutex
	// The signatures of the last ten minutes: an older one fails Verify
	// anyway.
	seen := map[string]time.Time{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Verify takes either v1 value: during a key change-over Parley
		// signs with both keys.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		sig := r.Header.Get(bots.SignatureHeader)
		if err != nil || bots.Verify(secret, sig, body, now()) != nil {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		var ev bots.Event
		if json.Unmarshal(body, &ev) != nil || ev.ID == "" {
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for id, at := range seen {
			if now().Sub(at) > 2*bots.SignatureTolerance {
				delete(seen, id)
			}
		}
		_, replay := seen[sig]
		seen[sig] = now()
		mu.Unlock()
		if replay {
			http.Error(w, "delivery already received", http.StatusConflict)
			return
		}
		if ev.Type != bots.EventMessage {
			// closed, handed_off or taken_over: the chat is no longer ours.
			log.Printf("conversation %s: %s", ev.ConversationID, ev.Type)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if isOrder(ev.Message.Body) && cb != nil && cb.parley != "" {
			// Looking an order up takes a while: answer nothing now (an
			// empty body would do too), and the actions later.
			go cb.later(ev)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(bots.Reply{Actions: []engine.BotAction{}})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(bots.Reply{Actions: answer(ev.Message.Body)})
	})
}

func isOrder(text string) bool { return strings.ToLower(strings.TrimSpace(text)) == "order" }

// answer is the bot's whole mind.
func answer(text string) []engine.BotAction {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "agent", "human", "person":
		return []engine.BotAction{{Type: "text", Body: "Let me find you someone from the team."},
			{Type: "handoff", Note: "The customer asked for a person."}}
	case "hours":
		return []engine.BotAction{{Type: "text", Body: "We are here Monday to Friday, 8:00 to 17:00."}}
	case "bye":
		return []engine.BotAction{{Type: "text", Body: "Goodbye!"}, {Type: "close"}}
	case "hi", "hello":
		return []engine.BotAction{{Type: "tags", Tags: []string{"greeted"}},
			{Type: "buttons", Body: "Hello! What can I do for you?", Buttons: []string{"hours", "agent"}}}
	case "order":
		return []engine.BotAction{{Type: "text", Body: "I cannot look orders up from here, sorry."}}
	}
	return []engine.BotAction{{Type: "text", Body: "Sorry, I did not get that. Send hours, or agent to talk to a person."}}
}

// orderAnswer is the later answer to "order".
const orderAnswer = "Your order is on its way: it ships tomorrow."

// callbacks sends later answers to Parley's callback API.
type callbacks struct {
	parley, secret string
	http           *http.Client
	now            func() time.Time
}

// later posts the answer to ev a little after the event, as a bot that
// looked something up would. The callback's id is unique per answer (here
// the event's id with a suffix): Parley refuses an id it has applied, so a
// retry of this same answer is harmless.
func (cb *callbacks) later(ev bots.Event) {
	time.Sleep(200 * time.Millisecond)
	body, _ := json.Marshal(bots.Reply{ID: ev.ID + "-order",
		Actions: []engine.BotAction{{Type: "tags", Tags: []string{"order"}}, {Type: "text", Body: orderAnswer}}})
	path := bots.CallbackPath(ev.Bot, ev.ConversationID)
	for attempt := 0; attempt < 3; attempt++ {
		req, err := http.NewRequest(http.MethodPost, cb.parley+path, bytes.NewReader(body))
		if err != nil {
			log.Printf("callback: %v", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		// A callback's signature covers the method and the path too.
		req.Header.Set(bots.SignatureHeader, bots.SignCallback(cb.secret, cb.now(), ev.Bot, ev.ConversationID, body))
		resp, err := cb.http.Do(req)
		if err == nil {
			resp.Body.Close()
			// 200 applied; 409 replay (applied already) or wrong_state
			// (someone took the chat): either way, done.
			if resp.StatusCode < 500 {
				log.Printf("callback for %s: %d", ev.ConversationID, resp.StatusCode)
				return
			}
		}
		time.Sleep(time.Second << attempt)
	}
}
