package channels

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	testAccount = "AC11111111111111111111111111111111"
	testToken   = "secret-token-secret-token-123456"
)

// mediaHost plays Twilio's API host for media: GET needs the account's
// Basic auth, then redirects to storage (when set) as Twilio does, or
// serves the bytes itself. DELETE needs the auth too and is recorded.
type mediaHost struct {
	srv     *httptest.Server
	storage string // base URL of the host redirected to; "" serves directly
	mu      sync.Mutex
	deletes []string
	refused int
}

func newMediaHost(t *testing.T, storage string) *mediaHost {
	h := &mediaHost{storage: storage}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != testAccount || pass != testToken {
			h.mu.Lock()
			h.refused++
			h.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.Method {
		case http.MethodDelete:
			h.mu.Lock()
			h.deletes = append(h.deletes, r.URL.Path)
			h.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			if h.storage != "" {
				http.Redirect(w, r, h.storage+"/blob"+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Content-Disposition", `inline; filename="../../etc/photo.jpg"`)
			_, _ = w.Write([]byte("JPEGDATA"))
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func mediaPath(account string) string {
	return "/2010-04-01/Accounts/" + account + "/Messages/MM123/Media/ME456"
}

func TestMediaFetchSendsCredentialsToTwilioOnly(t *testing.T) {
	// The storage host a redirect leads to records any Authorization it
	// is sent: it must get none.
	var mu sync.Mutex
	var storageAuth []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		storageAuth = append(storageAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "audio/ogg")
		_, _ = w.Write([]byte("OGGDATA"))
	}))
	defer storage.Close()
	host := newMediaHost(t, storage.URL)

	f, err := NewMediaFetcher(MediaFetchConfig{AccountSID: testAccount, AuthToken: testToken, APIURL: host.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Twilio's own URL: rewritten to the API URL's host, which gets the
	// credentials; the redirect's host does not.
	got, err := f.Fetch(context.Background(), "https://api.twilio.com"+mediaPath(testAccount), 1<<20)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if string(got.Data) != "OGGDATA" || got.ContentType != "audio/ogg" {
		t.Errorf("fetched %q (%s), want OGGDATA (audio/ogg)", got.Data, got.ContentType)
	}
	mu.Lock()
	if len(storageAuth) != 1 || storageAuth[0] != "" {
		t.Errorf("the redirected host got Authorization %q, want one request with none", storageAuth)
	}
	mu.Unlock()

	// A media URL on a foreign host from the start gets no credentials
	// either.
	if _, err := f.Fetch(context.Background(), storage.URL+"/direct", 1<<20); err != nil {
		t.Fatalf("fetch from a foreign host: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if storageAuth[len(storageAuth)-1] != "" {
		t.Errorf("a foreign media URL got Authorization %q", storageAuth[len(storageAuth)-1])
	}
}

func TestMediaFetchNeedsTheCredentials(t *testing.T) {
	host := newMediaHost(t, "")
	without, _ := NewMediaFetcher(MediaFetchConfig{APIURL: host.srv.URL})
	_, err := without.Fetch(context.Background(), host.srv.URL+mediaPath(testAccount), 1<<20)
	var me *MediaError
	if !strings.Contains(err.Error(), "401") || !asMediaError(err, &me) || me.TooLarge {
		t.Fatalf("fetch without credentials: %v, want a 401 media error", err)
	}
	with, _ := NewMediaFetcher(MediaFetchConfig{AccountSID: testAccount, AuthToken: testToken, APIURL: host.srv.URL})
	got, err := with.Fetch(context.Background(), host.srv.URL+mediaPath(testAccount), 1<<20)
	if err != nil {
		t.Fatalf("fetch with credentials: %v", err)
	}
	if string(got.Data) != "JPEGDATA" || got.Name != "photo.jpg" {
		t.Errorf("got %q named %q, want JPEGDATA named photo.jpg (the path dropped)", got.Data, got.Name)
	}
}

func asMediaError(err error, me **MediaError) bool {
	e, ok := err.(*MediaError)
	*me = e
	return ok
}

func TestMediaFetchRefusesOversize(t *testing.T) {
	for _, declared := range []bool{true, false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := strings.Repeat("x", 2048)
			if declared {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			} else {
				w.(http.Flusher).Flush() // chunked: no length known in advance
			}
			_, _ = w.Write([]byte(body))
		}))
		f, _ := NewMediaFetcher(MediaFetchConfig{})
		_, err := f.Fetch(context.Background(), srv.URL+"/big", 1024)
		srv.Close()
		if !IsMediaTooLarge(err) {
			t.Errorf("declared length %v: fetch of 2048 bytes with a 1024 limit: %v, want too large", declared, err)
		}
	}
}

func TestMediaDeleteOnlyTwilioMediaResources(t *testing.T) {
	host := newMediaHost(t, "")
	f, _ := NewMediaFetcher(MediaFetchConfig{AccountSID: testAccount, AuthToken: testToken, APIURL: host.srv.URL})
	if err := f.Delete(context.Background(), "https://api.twilio.com"+mediaPath(testAccount)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := f.Delete(context.Background(), "https://elsewhere.example"+mediaPath(testAccount)); err == nil {
		t.Error("delete on a foreign host: no error, want a refusal (the credentials go to Twilio only)")
	}
	if err := f.Delete(context.Background(), "https://api.twilio.com/2010-04-01/Accounts/"+testAccount+"/Messages/MM1.json"); err == nil {
		t.Error("delete of a message, not a media item: no error, want a refusal")
	}
	host.mu.Lock()
	defer host.mu.Unlock()
	if want := mediaPath(testAccount) + ".json"; len(host.deletes) != 1 || host.deletes[0] != want {
		t.Errorf("deletes %q, want [%s]", host.deletes, want)
	}
}
