// Command parley-echobot is an example bot for Parley's bot connector: it
// answers a few keywords and hands the customer to a person on "agent".
// It shows everything a bot must do: check the signature and the time of
// each delivery, refuse a delivery it has seen (a replay), and answer with
// actions. Parley's own retries are new deliveries of the same event id,
// signed anew, and are answered again.
//
//	ECHOBOT_SECRET=... ECHOBOT_LISTEN=127.0.0.1:9090 parley-echobot
package main

import (
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
	ID      string `json:"id"`
	Message struct {
		Body string `json:"body"`
	} `json:"message"`
}

type action map[string]any

func main() {
	secret, listen := os.Getenv("ECHOBOT_SECRET"), os.Getenv("ECHOBOT_LISTEN")
	if len(secret) < 16 || listen == "" {
		log.Fatal("set ECHOBOT_SECRET (16+ characters, the bot's secret in Parley) and ECHOBOT_LISTEN (host:port)")
	}
	log.Fatal(http.ListenAndServe(listen, handler(secret, time.Now)))
}

func handler(secret string, now func() time.Time) http.Handler {
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
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"actions": answer(ev.Message.Body)})
	})
}

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
	}
	return []action{{"type": "text", "body": "Sorry, I did not get that. Send hours, or agent to talk to a person."}}
}

// signed checks "t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">" and that t
// is within five minutes of now.
func signed(secret, header string, body []byte, now time.Time) bool {
	var t, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		if k == "t" {
			t = v
		} else if k == "v1" {
			v1 = v
		}
	}
	ts, err := strconv.ParseInt(t, 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.", t)
	mac.Write(body)
	return hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(v1))
}
