package desk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/store"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
)

// Customers' media against real Redis and a fake Twilio media host that,
// like an account with media authentication on, answers only with the
// account's credentials.

const (
	mediaAccount = "AC22222222222222222222222222222222"
	mediaToken   = "media-token-media-token-12345678"
)

// twilioMedia serves media items by path: each with a body, a type and a
// number of 503 answers before it serves.
type twilioMedia struct {
	srv     *httptest.Server
	mu      sync.Mutex
	items   map[string]*mediaItem
	gets    map[string]int
	deletes []string
}

type mediaItem struct {
	body        string
	contentType string
	failures    int // 503s still to give
	size        int // a declared Content-Length instead of the body's (over the limit)
}

func newTwilioMedia(t *testing.T) *twilioMedia {
	tm := &twilioMedia{items: map[string]*mediaItem{}, gets: map[string]int{}}
	tm.srv = httptest.NewServer(http.HandlerFunc(tm.serve))
	t.Cleanup(tm.srv.Close)
	return tm
}

func (tm *twilioMedia) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != mediaAccount || pass != mediaToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if r.Method == http.MethodDelete {
		tm.deletes = append(tm.deletes, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	tm.gets[r.URL.Path]++
	it := tm.items[r.URL.Path]
	switch {
	case it == nil:
		w.WriteHeader(http.StatusNotFound)
	case it.failures > 0:
		it.failures--
		w.WriteHeader(http.StatusServiceUnavailable)
	case it.size > 0:
		w.Header().Set("Content-Length", strconv.Itoa(it.size))
		w.Header().Set("Content-Type", it.contentType)
		_, _ = w.Write([]byte(strings.Repeat("x", 1024))) // the client stops at the header
	default:
		w.Header().Set("Content-Type", it.contentType)
		_, _ = w.Write([]byte(it.body))
	}
}

// add registers an item and returns its Twilio-shaped URL (on Twilio's
// host; the fetcher sends it to the fake).
func (tm *twilioMedia) add(media string, it mediaItem) string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	p := "/2010-04-01/Accounts/" + mediaAccount + "/Messages/MM1/Media/" + media
	tm.items[p] = &it
	return "https://api.twilio.com" + p
}

// mediaDispatch is fakeDispatch that also takes media fetches.
type mediaDispatch struct {
	*fakeDispatch
	mu    sync.Mutex
	media []string
}

func (d *mediaDispatch) DispatchMedia(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.media = append(d.media, id)
	return nil
}

type mediaFixture struct {
	fixture
	twilio *twilioMedia
	md     *mediaDispatch
}

func newMediaFixture(t *testing.T, deleteAtTwilio bool) mediaFixture {
	t.Helper()
	f := newFixture(t)
	tm := newTwilioMedia(t)
	fetcher, err := channels.NewMediaFetcher(channels.MediaFetchConfig{AccountSID: mediaAccount, AuthToken: mediaToken, APIURL: tm.srv.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	md := &mediaDispatch{fakeDispatch: f.dispatch}
	f.svc = NewService(Options{
		Store: f.store, Dispatcher: md, Provider: f.provider, Rules: configtest.Rules(t), Now: f.clock.Now, Log: zerolog.Nop(),
		Media:       media.NewSigner([]byte(strings.Repeat("k", 32)), "https://parley.example"),
		MediaSource: fetcher, DeleteSourceMedia: deleteAtTwilio,
	})
	seed(t, f, online("ann", 3))
	return mediaFixture{fixture: f, twilio: tm, md: md}
}

// receiveMedia takes a customer message carrying media (and a body).
func (f mediaFixture) receiveMedia(t *testing.T, sid, from, body string, media ...channels.Media) Received {
	t.Helper()
	in := inbound(sid, from, body)
	in.Media = media
	r, err := f.svc.Receive(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// shown is the message's attachments as the desk API gives them.
func (f mediaFixture) shown(t *testing.T, a engine.Actor, convID, msgID string) []engine.MessageAttachment {
	t.Helper()
	d, err := f.svc.Detail(context.Background(), a, convID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d.History {
		if m.ID == msgID {
			if len(m.Media) > 0 {
				t.Errorf("the desk got the provider's media URLs: %+v", m.Media)
			}
			return m.Attachments
		}
	}
	t.Fatalf("message %s not in the history of %s", msgID, convID)
	return nil
}

// open fetches a desk URL's file through DeskFile, as the gateway does.
func (f mediaFixture) open(a engine.Actor, rawURL string) (string, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", err
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/api/v1/conversations/"), "/")
	if len(parts) != 3 || parts[1] != "media" {
		return "", "", engine.ErrInvalid
	}
	_, ct, data, err := f.svc.DeskFile(context.Background(), a, parts[0], parts[2], u.Query().Get("exp"), u.Query().Get("sig"))
	return string(data), ct, err
}

func (f mediaFixture) dueMedia(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range f.due(t, f.clock.Now().Add(time.Hour)) {
		if strings.HasPrefix(m, string(store.DueMedia)+":") {
			out = append(out, m)
		}
	}
	return out
}

func TestInboundMediaFetchedWithCredentialsAndShownAtSignedURLs(t *testing.T) {
	f := newMediaFixture(t, false)
	ctx := context.Background()
	chat := liveChat(t, f.fixture, "whatsapp:+27820000700")
	ann := engine.Actor{ID: chat.Assignee, Role: "agent"}
	photo := f.twilio.add("ME1", mediaItem{body: "JPEG-BYTES", contentType: "image/jpeg"})
	voice := f.twilio.add("ME2", mediaItem{body: "OGG-BYTES", contentType: "audio/ogg"})
	r := f.receiveMedia(t, "SMmedia1", "whatsapp:+27820000700", "",
		channels.Media{URL: photo, ContentType: "image/jpeg"}, channels.Media{URL: voice, ContentType: "audio/ogg"})

	// Committed with its due entry, and the fetch enqueued.
	if got := f.dueMedia(t); len(got) != 1 || got[0] != store.MediaWake(r.MessageID) {
		t.Fatalf("due media entries %q, want [%s]", got, store.MediaWake(r.MessageID))
	}
	if len(f.md.media) != 1 || f.md.media[0] != r.MessageID {
		t.Fatalf("media fetches enqueued %q, want [%s]", f.md.media, r.MessageID)
	}
	for _, a := range f.shown(t, ann, chat.ID, r.MessageID) {
		if a.State != engine.FileFetching || a.URL != "" {
			t.Fatalf("before the fetch: %+v, want fetching with no URL", a)
		}
	}
	conv, _ := f.store.Conversation(ctx, chat.ID)
	if conv.Preview != "Photo (+1)" {
		t.Errorf("preview %q, want %q", conv.Preview, "Photo (+1)")
	}

	if err := f.svc.FetchMedia(ctx, r.MessageID, false); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if got := f.dueMedia(t); len(got) != 0 {
		t.Errorf("due media entries after the fetch: %q, want none", got)
	}
	shown := f.shown(t, ann, chat.ID, r.MessageID)
	want := []struct{ kind, ct, body string }{{engine.KindImage, "image/jpeg", "JPEG-BYTES"}, {engine.KindAudio, "audio/ogg", "OGG-BYTES"}}
	if len(shown) != 2 {
		t.Fatalf("attachments %+v, want 2", shown)
	}
	for i, w := range want {
		a := shown[i]
		if a.Kind != w.kind || a.State != engine.FileReady || a.ContentType != w.ct || a.Size != len(w.body) {
			t.Errorf("attachment %d = %+v, want %s %s ready of %d bytes", i, a, w.kind, w.ct, len(w.body))
		}
		if !strings.HasPrefix(a.URL, "/api/v1/conversations/"+chat.ID+"/media/") || strings.Contains(a.URL, "twilio") {
			t.Errorf("attachment %d URL %q, want Parley's desk URL", i, a.URL)
		}
		data, ct, err := f.open(ann, a.URL)
		if err != nil || data != w.body || ct != w.ct {
			t.Errorf("opening attachment %d: %q (%s), %v; want %q (%s)", i, data, ct, err, w.body, w.ct)
		}
	}

	// The URL is the permission only with its signature, its time, the
	// conversation it was signed for, and a user who may see that.
	u := shown[0].URL
	forged := strings.Replace(u, "sig=", "sig=A", 1)
	unsigned := u[:strings.Index(u, "?")]
	stranger := engine.Actor{ID: "stranger", Role: "agent"}
	other := liveChat(t, f.fixture, "whatsapp:+27820000701")
	moved := strings.Replace(u, chat.ID, other.ID, 1)
	for name, try := range map[string]struct {
		a   engine.Actor
		url string
	}{
		"forged": {ann, forged}, "unsigned": {ann, unsigned}, "stranger": {stranger, u}, "other conversation": {ann, moved},
	} {
		if _, _, err := f.open(try.a, try.url); err == nil {
			t.Errorf("%s: the file was served, want refused", name)
		}
	}
	f.clock.Add(media.DeskURLLife + time.Minute)
	if _, _, err := f.open(ann, u); err == nil {
		t.Error("expired: the file was served, want refused")
	}
}

func TestMediaFetchFailingThenSucceeding(t *testing.T) {
	f := newMediaFixture(t, false)
	ctx := context.Background()
	chat := liveChat(t, f.fixture, "whatsapp:+27820000710")
	ann := engine.Actor{ID: chat.Assignee, Role: "agent"}
	doc := f.twilio.add("ME3", mediaItem{body: "%PDF-1.7", contentType: "application/pdf", failures: 2})
	r := f.receiveMedia(t, "SMmedia2", "whatsapp:+27820000710", "", channels.Media{URL: doc, ContentType: "application/pdf"})

	for attempt := range 2 {
		if err := f.svc.FetchMedia(ctx, r.MessageID, false); err == nil {
			t.Fatalf("attempt %d against a 503: no error, want one (so the job retries)", attempt)
		}
		if a := f.shown(t, ann, chat.ID, r.MessageID); a[0].State != engine.FileFetching {
			t.Fatalf("after failed attempt %d: %+v, want still fetching", attempt, a[0])
		}
		if len(f.dueMedia(t)) != 1 {
			t.Fatalf("after failed attempt %d the due entry is gone", attempt)
		}
	}
	if err := f.svc.FetchMedia(ctx, r.MessageID, false); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	a := f.shown(t, ann, chat.ID, r.MessageID)[0]
	if a.State != engine.FileReady || a.Kind != engine.KindDocument || a.Size != len("%PDF-1.7") {
		t.Fatalf("after the retry: %+v, want a ready document", a)
	}
	if len(f.dueMedia(t)) != 0 {
		t.Error("the due entry outlived the fetch")
	}
	// A repeated job (the reconciler's, say) fetches nothing again.
	if err := f.svc.FetchMedia(ctx, r.MessageID, false); err != nil {
		t.Fatal(err)
	}
	if n := f.twilio.gets[strings.TrimPrefix(doc, "https://api.twilio.com")]; n != 3 {
		t.Errorf("%d GETs, want 3 (two refused, one served, none after)", n)
	}
}

func TestMediaFetchGivingUpSaysSo(t *testing.T) {
	f := newMediaFixture(t, false)
	ctx := context.Background()
	chat := liveChat(t, f.fixture, "whatsapp:+27820000720")
	ann := engine.Actor{ID: chat.Assignee, Role: "agent"}
	gone := f.twilio.add("ME4", mediaItem{body: "x", contentType: "video/mp4", failures: 100})
	r := f.receiveMedia(t, "SMmedia3", "whatsapp:+27820000720", "look", channels.Media{URL: gone, ContentType: "video/mp4"})
	if err := f.svc.FetchMedia(ctx, r.MessageID, false); err == nil {
		t.Fatal("a failing attempt that is not the last: no error, want one")
	}
	if err := f.svc.FetchMedia(ctx, r.MessageID, true); !errors.Is(err, ErrMediaGivenUp) {
		t.Fatalf("the last attempt: %v, want ErrMediaGivenUp (recorded, not to be retried)", err)
	}
	a := f.shown(t, ann, chat.ID, r.MessageID)[0]
	if a.State != engine.FileFailed || a.Error != media.NotFetched || a.URL != "" || a.Kind != engine.KindVideo {
		t.Fatalf("after giving up: %+v, want a failed video saying %q", a, media.NotFetched)
	}
	if len(f.dueMedia(t)) != 0 {
		t.Error("the due entry outlived the last attempt")
	}
}

func TestMediaOver20MBRefusedAtOnce(t *testing.T) {
	f := newMediaFixture(t, false)
	ctx := context.Background()
	chat := liveChat(t, f.fixture, "whatsapp:+27820000730")
	ann := engine.Actor{ID: chat.Assignee, Role: "agent"}
	big := f.twilio.add("ME5", mediaItem{contentType: "video/mp4", size: media.MaxAttachment + 1})
	r := f.receiveMedia(t, "SMmedia4", "whatsapp:+27820000730", "", channels.Media{URL: big, ContentType: "video/mp4"})
	// Not the last attempt, yet final: asking again gets the same answer.
	if err := f.svc.FetchMedia(ctx, r.MessageID, false); !errors.Is(err, ErrMediaGivenUp) {
		t.Fatalf("an oversize item is decided, not retried: %v, want ErrMediaGivenUp", err)
	}
	if a := f.shown(t, ann, chat.ID, r.MessageID)[0]; a.State != engine.FileFailed || a.Error != media.NotFetched {
		t.Fatalf("oversize item: %+v, want failed", a)
	}
}

func TestSharedLocationShownWithAMapLink(t *testing.T) {
	f := newMediaFixture(t, false)
	ctx := context.Background()
	chat := liveChat(t, f.fixture, "whatsapp:+27820000740")
	ann := engine.Actor{ID: chat.Assignee, Role: "agent"}
	in := inbound("SMloc", "whatsapp:+27820000740", "")
	in.Location = &channels.Location{Latitude: -33.9249, Longitude: 18.4241, Label: "Office"}
	r, err := f.svc.Receive(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	a := f.shown(t, ann, chat.ID, r.MessageID)
	if len(a) != 1 || a[0].Kind != engine.KindLocation || a[0].State != engine.FileReady || *a[0].Latitude != -33.9249 || *a[0].Longitude != 18.4241 {
		t.Fatalf("location attachments %+v", a)
	}
	if want := "https://www.openstreetmap.org/?mlat=-33.9249&mlon=18.4241#map=16/-33.9249/18.4241"; a[0].MapURL != want {
		t.Errorf("map URL %q, want %q", a[0].MapURL, want)
	}
	if len(f.md.media) != 0 || len(f.dueMedia(t)) != 0 {
		t.Error("a location has nothing to fetch, yet a fetch was enqueued")
	}
	conv, _ := f.store.Conversation(ctx, chat.ID)
	if conv.Preview != "Location: Office" {
		t.Errorf("preview %q, want %q", conv.Preview, "Location: Office")
	}
}

func TestMediaDeletedAtTwilioOnlyWhenAsked(t *testing.T) {
	// One subtest each: a fixture holds its test database (on a cluster,
	// the whole cluster) until its test ends.
	for _, del := range []bool{false, true} {
		t.Run(fmt.Sprintf("delete=%v", del), func(t *testing.T) { mediaDeleted(t, del) })
	}
}

func mediaDeleted(t *testing.T, del bool) {
	f := newMediaFixture(t, del)
	ctx := context.Background()
	liveChat(t, f.fixture, "whatsapp:+27820000750")
	photo := f.twilio.add("ME6", mediaItem{body: "JPEG", contentType: "image/jpeg"})
	r := f.receiveMedia(t, "SMmedia6", "whatsapp:+27820000750", "", channels.Media{URL: photo, ContentType: "image/jpeg"})
	if err := f.svc.FetchMedia(ctx, r.MessageID, false); err != nil {
		t.Fatal(err)
	}
	var want []string
	if del {
		want = []string{strings.TrimPrefix(photo, "https://api.twilio.com") + ".json"}
	}
	f.twilio.mu.Lock()
	got := f.twilio.deletes
	f.twilio.mu.Unlock()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("delete at Twilio %v: DELETEs %q, want %q", del, got, want)
	}
}

func TestAgentAttachmentShownWithNameAndPreview(t *testing.T) {
	f := newMediaFixture(t, false)
	ctx := context.Background()
	chat := liveChat(t, f.fixture, "whatsapp:+27820000760")
	ann := engine.Actor{ID: chat.Assignee, Role: "agent"}
	up, err := f.svc.Attach(ctx, ann, chat.ID, "invoice.pdf", "application/pdf", []byte("%PDF-invoice"))
	if err != nil {
		t.Fatal(err)
	}
	att, err := f.svc.ReplyAttachment(ctx, ann, chat.ID, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.svc.Reply(ctx, ann, chat.ID, engine.Reply{Attachments: []engine.Attachment{att}})
	if err != nil {
		t.Fatal(err)
	}
	a := f.shown(t, ann, chat.ID, m.ID)
	if len(a) != 1 || a[0].Name != "invoice.pdf" || a[0].Size != len("%PDF-invoice") || a[0].Kind != engine.KindDocument || a[0].State != engine.FileReady {
		t.Fatalf("agent attachment shown as %+v", a)
	}
	if data, _, err := f.open(ann, a[0].URL); err != nil || data != "%PDF-invoice" {
		t.Errorf("opening it: %q, %v", data, err)
	}
	conv, _ := f.store.Conversation(ctx, chat.ID)
	if conv.Preview != "invoice.pdf" {
		t.Errorf("preview %q, want the file's name", conv.Preview)
	}
	// Twilio still gets the signed /media/ URL to fetch it from.
	if len(m.Media) != 1 || !strings.HasPrefix(m.Media[0].URL, "https://parley.example/media/"+up.ID+"?") {
		t.Errorf("sent media %+v, want the signed /media/ URL", m.Media)
	}
}

func TestLostMediaFetchIsEnqueuedAgainByTheReconciler(t *testing.T) {
	f := newMediaFixture(t, false)
	ctx := context.Background()
	liveChat(t, f.fixture, "whatsapp:+27820000770")
	photo := f.twilio.add("ME7", mediaItem{body: "JPEG", contentType: "image/jpeg"})
	r := f.receiveMedia(t, "SMmedia7", "whatsapp:+27820000770", "", channels.Media{URL: photo, ContentType: "image/jpeg"})
	f.md.media = nil // the job enqueued after the commit was lost
	items, err := f.store.DueItems(ctx, f.clock.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := f.svc.Redispatch(ctx, it, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.md.media) != 1 || f.md.media[0] != r.MessageID {
		t.Fatalf("re-enqueued fetches %q, want [%s]", f.md.media, r.MessageID)
	}
}
