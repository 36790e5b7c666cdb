package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The fake Twilio's Media resources, as on an account with media
// authentication on: GET answers only with the account's Basic auth and
// then redirects, as Twilio does, to a storage host of its own (another
// server, so a test sees what that host was sent); DELETE needs the auth
// and is recorded.

// fakeMedia is the fake's media state (fakeTwilio.media).
type fakeMedia struct {
	mu      sync.Mutex
	items   map[string]*fakeMediaItem // by resource path
	storage *httptest.Server
	// storageAuth is every Authorization header the storage host got.
	storageAuth []string
}

type fakeMediaItem struct {
	body        []byte
	contentType string
	failures    int // 503 answers still to give
	gets        int
	refused     int // GETs without the right credentials
	deleted     int
}

// addMedia creates a media item under a new message and returns its
// Twilio URL, on Twilio's own host as in a real webhook (PARLEY_TWILIO_API_URL
// sends Parley's fetch to the fake).
func (f *fakeTwilio) addMedia(t *testing.T, body []byte, contentType string, failures int) (string, *fakeMediaItem) {
	t.Helper()
	m := &f.media
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = map[string]*fakeMediaItem{}
		m.storage = httptest.NewServer(http.HandlerFunc(m.serveStorage))
		t.Cleanup(m.storage.Close)
	}
	p := "/2010-04-01/Accounts/" + f.accountSID + "/Messages/MM" + randomHex(16) + "/Media/ME" + randomHex(16)
	it := &fakeMediaItem{body: body, contentType: contentType, failures: failures}
	m.items[p] = it
	return "https://api.twilio.com" + p, it
}

// serveMedia answers the Media resources; false for any other request.
func (f *fakeTwilio) serveMedia(w http.ResponseWriter, r *http.Request) bool {
	m := &f.media
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[strings.TrimSuffix(r.URL.Path, ".json")]
	if it == nil {
		return false
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != f.accountSID || pass != f.authToken {
		it.refused++
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return true
	}
	switch r.Method {
	case http.MethodDelete:
		if !strings.HasSuffix(r.URL.Path, ".json") {
			f.violation("DELETE %s: want the .json resource", r.URL.Path)
		}
		it.deleted++
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		it.gets++
		if it.failures > 0 {
			it.failures--
			twilioError(w, http.StatusServiceUnavailable, 20500, "Service unavailable")
			return true
		}
		http.Redirect(w, r, m.storage.URL+"/blob"+r.URL.Path, http.StatusTemporaryRedirect)
	default:
		f.violation("%s %s: want GET or DELETE on a media resource", r.Method, r.URL.Path)
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
	return true
}

func (m *fakeMedia) serveStorage(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.storageAuth = append(m.storageAuth, r.Header.Get("Authorization"))
	it := m.items[strings.TrimPrefix(r.URL.Path, "/blob")]
	if it == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", it.contentType)
	_, _ = w.Write(it.body)
}

// mediaCounts reads an item's counters under the lock.
func (f *fakeTwilio) mediaCounts(it *fakeMediaItem) (gets, refused, deleted int) {
	f.media.mu.Lock()
	defer f.media.mu.Unlock()
	return it.gets, it.refused, it.deleted
}

// storageAuthorizations is every Authorization the storage host was sent.
func (f *fakeTwilio) storageAuthorizations() []string {
	f.media.mu.Lock()
	defer f.media.mu.Unlock()
	return append([]string(nil), f.media.storageAuth...)
}
