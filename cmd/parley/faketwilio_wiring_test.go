package main

// The fake Twilio's account wiring, for `parley twilio check`: the account,
// IncomingPhoneNumbers (2010-04-01 API, on api.twilio.com), WhatsApp senders
// (Channels Senders, messaging.twilio.com/v2, served one per page so paging
// is exercised) and Messaging Services (messaging.twilio.com/v1). Every
// call needs the account's Basic auth, as on a real account.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// fakeWire is one number, sender or service and its inbound webhook.
type fakeWire struct {
	SID, Name, URL, Method string
	DefersToNumbers        bool
}

type fakeWiring struct {
	accountStatus string
	numbers       []*fakeWire // Name: +E.164
	senders       []*fakeWire // Name: whatsapp:+E.164
	services      []*fakeWire // SID: MG...
	updates       []string    // "<SID> <method> <url>", in order
}

// wire adds a number ("+..."), a WhatsApp sender ("whatsapp:+...") or a
// Messaging Service ("MG...") with its inbound webhook.
func (f *fakeTwilio) wire(name, url, method string) *fakeWire {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWire{Name: name, URL: url, Method: method}
	switch {
	case strings.HasPrefix(name, "whatsapp:"):
		w.SID = "XE" + randomHex(16)
		f.wiring.senders = append(f.wiring.senders, w)
	case strings.HasPrefix(name, "MG"):
		w.SID = name
		f.wiring.services = append(f.wiring.services, w)
	default:
		w.SID = "PN" + randomHex(16)
		f.wiring.numbers = append(f.wiring.numbers, w)
	}
	return w
}

func (f *fakeTwilio) wiringUpdates() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.wiring.updates...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveWiring answers the wiring endpoints; false if r is none of them.
func (f *fakeTwilio) serveWiring(w http.ResponseWriter, r *http.Request) bool {
	acct := "/2010-04-01/Accounts/" + f.accountSID
	path := r.URL.Path
	known := path == acct+".json" || strings.HasPrefix(path, acct+"/IncomingPhoneNumbers") ||
		strings.HasPrefix(path, "/v2/Channels/Senders") || strings.HasPrefix(path, "/v1/Services/")
	if !known {
		return false
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.accountSID || pass != f.authToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && path == acct+".json":
		writeJSON(w, http.StatusOK, map[string]any{"sid": f.accountSID, "friendly_name": "Fake account", "status": f.wiring.accountStatus})

	case r.Method == http.MethodGet && path == acct+"/IncomingPhoneNumbers.json":
		want := r.URL.Query().Get("PhoneNumber")
		list := []map[string]any{}
		for _, n := range f.wiring.numbers {
			if want == "" || n.Name == want {
				list = append(list, map[string]any{"sid": n.SID, "phone_number": n.Name, "sms_url": n.URL, "sms_method": n.Method})
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"incoming_phone_numbers": list, "next_page_uri": nil, "page": 0})

	case r.Method == http.MethodPost && strings.HasPrefix(path, acct+"/IncomingPhoneNumbers/"):
		sid := strings.TrimSuffix(strings.TrimPrefix(path, acct+"/IncomingPhoneNumbers/"), ".json")
		_ = r.ParseForm()
		n := findWire(f.wiring.numbers, sid)
		if n == nil {
			twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
			return true
		}
		n.URL, n.Method = r.PostForm.Get("SmsUrl"), r.PostForm.Get("SmsMethod")
		f.wiring.updates = append(f.wiring.updates, n.SID+" "+n.Method+" "+n.URL)
		writeJSON(w, http.StatusOK, map[string]any{"sid": n.SID, "phone_number": n.Name, "sms_url": n.URL, "sms_method": n.Method})

	case r.Method == http.MethodGet && path == "/v2/Channels/Senders":
		if r.URL.Query().Get("Channel") != "whatsapp" {
			f.violations = append(f.violations, "list senders without Channel=whatsapp: "+r.URL.RawQuery)
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("Page"))
		meta := map[string]any{"page": page, "page_size": 1, "key": "senders", "next_page_url": nil}
		senders := []map[string]any{}
		if page < len(f.wiring.senders) {
			s := f.wiring.senders[page]
			senders = append(senders, map[string]any{"sid": s.SID, "sender_id": s.Name, "status": "ONLINE",
				"webhook": map[string]any{"callback_url": s.URL, "callback_method": s.Method}})
			if page+1 < len(f.wiring.senders) {
				// Absolute, on Twilio's own host, as Twilio answers.
				meta["next_page_url"] = fmt.Sprintf("https://messaging.twilio.com/v2/Channels/Senders?Channel=whatsapp&PageSize=1&Page=%d", page+1)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"senders": senders, "meta": meta})

	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v2/Channels/Senders/"):
		s := findWire(f.wiring.senders, strings.TrimPrefix(path, "/v2/Channels/Senders/"))
		var body struct {
			Webhook struct {
				CallbackURL    string `json:"callback_url"`
				CallbackMethod string `json:"callback_method"`
			} `json:"webhook"`
		}
		if s == nil {
			twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
			return true
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			twilioError(w, http.StatusBadRequest, 20001, "Unreadable JSON body")
			return true
		}
		s.URL, s.Method = body.Webhook.CallbackURL, body.Webhook.CallbackMethod
		f.wiring.updates = append(f.wiring.updates, s.SID+" "+s.Method+" "+s.URL)
		writeJSON(w, http.StatusOK, map[string]any{"sid": s.SID, "sender_id": s.Name})

	case strings.HasPrefix(path, "/v1/Services/"):
		s := findWire(f.wiring.services, strings.TrimPrefix(path, "/v1/Services/"))
		if s == nil {
			twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
			return true
		}
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
			s.URL, s.Method = r.PostForm.Get("InboundRequestUrl"), r.PostForm.Get("InboundMethod")
			f.wiring.updates = append(f.wiring.updates, s.SID+" "+s.Method+" "+s.URL)
		}
		writeJSON(w, http.StatusOK, map[string]any{"sid": s.SID, "friendly_name": "Parley service",
			"inbound_request_url": s.URL, "inbound_method": s.Method, "use_inbound_webhook_on_number": s.DefersToNumbers})

	default:
		f.violations = append(f.violations, fmt.Sprintf("%s %s: not a call the wiring check makes", r.Method, path))
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
	return true
}

func findWire(ws []*fakeWire, sid string) *fakeWire {
	for _, w := range ws {
		if w.SID == sid {
			return w
		}
	}
	return nil
}
