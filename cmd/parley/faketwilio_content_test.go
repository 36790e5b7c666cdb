package main

// The fake Twilio's Content API (content.twilio.com): the account's content
// resources, listed with and without their WhatsApp approvals
// (GET /v1/ContentAndApprovals, GET /v1/Content), served a few per page so
// that paging is exercised, and POST /v1/Content, which creates the
// quick-reply resources of bot buttons. Every call needs the account's
// Basic auth, as on a real account.

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// fakeContentPage is how many resources one page holds, whatever PageSize
// Parley asks for: small, so that a handful of templates spans pages.
const fakeContentPage = 2

type fakeContentItem struct {
	SID, Name, Language string
	Variables           map[string]string
	Types               map[string]any
	// Status, Category, Rejection: the WhatsApp approval.
	Status, Category, Rejection string
}

type fakeContent struct {
	items   []*fakeContentItem
	pages   int              // list pages served
	creates []map[string]any // POST /v1/Content bodies, in order
	// createFails, when set, answers every POST /v1/Content with this status.
	createFails int
}

// addTemplate adds a twilio/text template with a WhatsApp approval status
// ("approved", "pending", "rejected", ...; "" for never submitted) and
// sample values for its variables, as name, value pairs.
func (f *fakeTwilio) addTemplate(name, status, body string, samples ...string) *fakeContentItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := &fakeContentItem{SID: "HX" + randomHex(16), Name: name, Language: "en", Variables: map[string]string{},
		Types: map[string]any{"twilio/text": map[string]any{"body": body}}, Status: status, Category: "UTILITY"}
	if status == "rejected" {
		it.Rejection = "The template looks like marketing"
	}
	for i := 0; i+1 < len(samples); i += 2 {
		it.Variables[samples[i]] = samples[i+1]
	}
	f.content.items = append(f.content.items, it)
	return it
}

// removeTemplate deletes a content resource, as an admin would in the console.
func (f *fakeTwilio) removeTemplate(sid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, it := range f.content.items {
		if it.SID == sid {
			f.content.items = append(f.content.items[:i], f.content.items[i+1:]...)
			return
		}
	}
}

// setApproval changes a resource's WhatsApp approval status.
func (f *fakeTwilio) setApproval(sid, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.content.items {
		if it.SID == sid {
			it.Status = status
		}
	}
}

func (f *fakeTwilio) contentCreates() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.content.creates...)
}

func (f *fakeTwilio) contentPages() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.content.pages
}

// serveContent answers the Content API; false if r is no call of it.
func (f *fakeTwilio) serveContent(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	if path != "/v1/Content" && path != "/v1/ContentAndApprovals" {
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
	case r.Method == http.MethodGet:
		f.listContent(w, r, path == "/v1/ContentAndApprovals")
	case r.Method == http.MethodPost && path == "/v1/Content":
		f.createContent(w, r)
	default:
		f.violations = append(f.violations, fmt.Sprintf("%s %s: not a Content API call Parley makes", r.Method, path))
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
	return true
}

func (f *fakeTwilio) listContent(w http.ResponseWriter, r *http.Request, approvals bool) {
	f.content.pages++
	page, _ := strconv.Atoi(r.URL.Query().Get("Page"))
	key := "contents"
	meta := map[string]any{"page": page, "page_size": fakeContentPage, "key": key, "next_page_url": nil,
		"previous_page_url": nil, "url": "https://content.twilio.com" + r.URL.RequestURI()}
	list := []map[string]any{}
	now := time.Now().UTC().Format(time.RFC3339)
	for i := page * fakeContentPage; i < len(f.content.items) && i < (page+1)*fakeContentPage; i++ {
		it := f.content.items[i]
		item := map[string]any{"sid": it.SID, "account_sid": f.accountSID, "friendly_name": it.Name, "language": it.Language,
			"variables": it.Variables, "types": it.Types, "date_created": now, "date_updated": now,
			"url": "https://content.twilio.com/v1/Content/" + it.SID}
		if approvals {
			status := it.Status
			if status == "" {
				status = "unsubmitted"
			}
			item["approval_requests"] = map[string]any{"name": it.Name, "category": it.Category, "content_type": "twilio/text",
				"status": status, "rejection_reason": it.Rejection, "allow_category_change": true}
		}
		list = append(list, item)
	}
	if (page+1)*fakeContentPage < len(f.content.items) {
		// Absolute, on Twilio's own host, as Twilio answers.
		meta["next_page_url"] = fmt.Sprintf("https://content.twilio.com%s?PageSize=%d&Page=%d&PageToken=PT%d", r.URL.Path, fakeContentPage, page+1, page+1)
	}
	writeJSON(w, http.StatusOK, map[string]any{key: list, "meta": meta})
}

// createContent takes a new content resource, checking the quick-reply
// limits WhatsApp sets for a resource sent inside the window.
func (f *fakeTwilio) createContent(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		f.violations = append(f.violations, "POST /v1/Content: Content-Type "+r.Header.Get("Content-Type")+", want application/json")
	}
	var body struct {
		FriendlyName string         `json:"friendly_name"`
		Language     string         `json:"language"`
		Types        map[string]any `json:"types"`
	}
	var raw map[string]any
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil {
		twilioError(w, http.StatusBadRequest, 20001, "Unreadable JSON body")
		return
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &body)
	f.content.creates = append(f.content.creates, raw)
	if f.content.createFails != 0 {
		twilioError(w, f.content.createFails, 20500, "Internal Server Error")
		return
	}
	qr, _ := body.Types["twilio/quick-reply"].(map[string]any)
	actions, _ := qr["actions"].([]any)
	if body.Language == "" || qr == nil || qr["body"] == "" || len(actions) == 0 || len(actions) > 10 {
		f.violations = append(f.violations, fmt.Sprintf("POST /v1/Content: not a quick reply with a language, a body and 1 to 10 actions: %s", b))
		twilioError(w, http.StatusBadRequest, 21619, "Invalid content")
		return
	}
	for _, a := range actions {
		title, _ := a.(map[string]any)["title"].(string)
		if title == "" || len([]rune(title)) > 20 {
			f.violations = append(f.violations, fmt.Sprintf("POST /v1/Content: button title %q is not 1 to 20 characters", title))
		}
	}
	it := &fakeContentItem{SID: "HX" + randomHex(16), Name: body.FriendlyName, Language: body.Language, Types: body.Types}
	f.content.items = append(f.content.items, it)
	writeJSON(w, http.StatusCreated, map[string]any{"sid": it.SID, "account_sid": f.accountSID, "friendly_name": it.Name,
		"language": it.Language, "types": it.Types, "variables": map[string]any{}})
}
