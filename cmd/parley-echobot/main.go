// Command parley-echobot is an example bot for Parley's bot connector: it
// answers a few keywords, hands the customer to a person on "agent", and
// answers "order" later, through Parley's callback API.
// It shows everything a bot must do: check the signature and the time of
// each delivery, refuse a delivery it has seen (a replay), answer with
// actions, and take the lifecycle events (the chat closed, handed off or
// taken over) without answering them. Parley's own retries are new
// deliveries of the same event id, signed anew, and are answered again.
//
//	ECHOBOT_SECRET=... ECHOBOT_LISTEN=127.0.0.1:9090 ECHOBOT_PARLEY_URL=http://127.0.0.1:8080 parley-echobot
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type event struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Bot            string `json:"bot"`
	ConversationID string `json:"conversation_id"`
	Message        struct {
		Body string `json:"body"`
	} `json:"message"`
}

type action map[string]any

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
	seen := map[string]time.Time{} // signatures of the last ten minutes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || !signed(secret, r.Header.Get("X-Parley-Signature"), body, now()) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		var ev event
		if json.Unmarshal(body, &ev) != nil || ev.ID == "" {
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for id, at := range seen {
			if now().Sub(at) > 10*time.Minute {
				delete(seen, id)
			}
		}
		sig := r.Header.Get("X-Parley-Signature")
		_, replay := seen[sig]
		seen[sig] = now()
		mu.Unlock()
		if replay {
			http.Error(w, "delivery already received", http.StatusConflict)
			return
		}
		if ev.Type != "message" {
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
			w.Write([]byte(`{"actions":[]}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"actions": answer(ev.Message.Body)})
	})
}

func isOrder(text string) bool { return strings.ToLower(strings.TrimSpace(text)) == "order" }

// answer is the bot's whole mind.
func answer(text string) []action {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "agent", "human", "person":
		return []action{{"type": "text", "body": "Let me find you someone from the team."},
			{"type": "handoff", "note": "The customer asked for a person."}}
	case "hours":
		return []action{{"type": "text", "body": "We are here Monday to Friday, 8:00 to 17:00."}}
	case "bye":
		return []action{{"type": "text", "body": "Goodbye!"}, {"type": "close"}}
	case "hi", "hello":
		return []action{{"type": "tags", "tags": []string{"greeted"}},
			{"type": "buttons", "body": "Hello! What can I do for you?", "buttons": []string{"hours", "agent"}}}
	case "order":
		return []action{{"type": "text", "body": "I cannot look orders up from here, sorry."}}
	}
	return []action{{"type": "text", "body": "Sorry, I did not get that. Send hours, or agent to talk to a person."}}
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
func (cb *callbacks) later(ev event) {
	time.Sleep(200 * time.Millisecond)
	body, _ := json.Marshal(map[string]any{"id": ev.ID + "-order",
		"actions": []action{{"type": "tags", "tags": []string{"order"}}, {"type": "text", "body": orderAnswer}}})
	path := "/api/v1/bots/" + ev.Bot + "/conversations/" + ev.ConversationID + "/actions"
	for attempt := 0; attempt < 3; attempt++ {
		req, err := http.NewRequest(http.MethodPost, cb.parley+path, bytes.NewReader(body))
		if err != nil {
			log.Printf("callback: %v", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		// A callback's signature covers the method and the path too.
		req.Header.Set("X-Parley-Signature", sign(cb.secret, cb.now(), append([]byte("POST "+path+"\n"), body...)))
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

// sign makes "t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">".
func sign(secret string, t time.Time, payload []byte) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hexMAC(secret, strconv.FormatInt(t.Unix(), 10), payload))
}

func hexMAC(secret, t string, payload []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.", t)
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil))
}

// signed checks "t=<unix>,v1=<hex>[,v1=<hex>]" (Parley signs once per
// secret during a key change-over: one v1 must match) and that t is within
// five minutes of now.
func signed(secret, header string, body []byte, now time.Time) bool {
	var t string
	var v1s []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		if k == "t" {
			t = v
		} else if k == "v1" {
			v1s = append(v1s, v)
		}
	}
	ts, err := strconv.ParseInt(t, 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	want := hexMAC(secret, t, body)
	for _, v1 := range v1s {
		if hmac.Equal([]byte(want), []byte(v1)) {
			return true
		}
	}
	return false
}
