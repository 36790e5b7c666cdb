package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// Customers' media through the whole program: the webhook, the media:fetch
// job on Asynq (its retries included), the fake Twilio's media resources
// behind Basic auth and a redirect, the desk API and its signed URLs.

// withMediaItems adds media items to an inbound webhook's form.
func withMediaItems(params map[string]string, urls []string, types []string) map[string]string {
	params["NumMedia"] = strconv.Itoa(len(urls))
	for i, u := range urls {
		params["MediaUrl"+strconv.Itoa(i)] = u
		params["MediaContentType"+strconv.Itoa(i)] = types[i]
	}
	return params
}

// attachmentsOf reads the desk's view of a conversation's message.
func (u *deskUser) attachmentsOf(t *testing.T, convID, msgID string) []engine.MessageAttachment {
	t.Helper()
	r := u.do(t, http.MethodGet, "/api/v1/conversations/"+convID, nil)
	if r.status != http.StatusOK {
		t.Fatalf("detail: %s", r)
	}
	if strings.Contains(r.body, "api.twilio.com") {
		t.Errorf("the desk API gave out Twilio's media URL: %s", r.body)
	}
	var d struct {
		History []engine.Message `json:"history"`
	}
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.History {
		if m.ID == msgID {
			return m.Attachments
		}
	}
	t.Fatalf("message %s not in the history", msgID)
	return nil
}

// mediaMessage sends a customer message with media and returns its
// conversation and message ids.
func (p *parley) mediaMessage(t *testing.T, number string, urls, types []string) (string, string) {
	t.Helper()
	params := withMediaItems(p.whatsAppIn(number, ""), urls, types)
	p.mustAccept(t, params)
	var msgID, convID string
	eventually(t, "the message stored", func() (bool, string) {
		msgs, ok := p.history(t, channels.Address("whatsapp:"+number))
		for _, m := range msgs {
			if m.SID == params["MessageSid"] {
				msgID, convID = m.ID, m.ConversationID
			}
		}
		return ok && msgID != "", "not yet"
	})
	return convID, msgID
}

func TestBlackboxInboundMediaFetchedAndShown(t *testing.T) {
	t.Parallel()
	p := startParley(t)
	ann := p.signIn(t, "blackbox-agent")
	photoURL, photo := p.fake.addMedia(t, []byte("\x89PNG-photo"), "image/png", 0)
	// Twilio answering 503 twice: the job's retries take it.
	voiceURL, voice := p.fake.addMedia(t, []byte("OggS-voice"), "audio/ogg", 2)
	conv, msg := p.mediaMessage(t, "+27820000801", []string{photoURL, voiceURL}, []string{"image/png", "audio/ogg"})

	var shown []engine.MessageAttachment
	eventually(t, "both items ready", func() (bool, string) {
		shown = ann.attachmentsOf(t, conv, msg)
		return len(shown) == 2 && shown[0].State == engine.FileReady && shown[1].State == engine.FileReady, jsonOf(shown)
	})
	if gets, refused, _ := p.fake.mediaCounts(voice); gets != 3 || refused != 0 {
		t.Errorf("voice note: %d GETs, %d without credentials; want 3 (two 503s, then served) and none", gets, refused)
	}
	if _, refused, deleted := p.fake.mediaCounts(photo); refused != 0 || deleted != 0 {
		t.Errorf("photo: %d GETs without credentials, %d DELETEs; want none of either (PARLEY_DELETE_TWILIO_MEDIA is off)", refused, deleted)
	}
	for _, auth := range p.fake.storageAuthorizations() {
		if auth != "" {
			t.Errorf("the storage host a redirect led to was sent Authorization %q", auth)
		}
	}
	for i, want := range []struct{ kind, body, ct string }{{engine.KindImage, "\x89PNG-photo", "image/png"}, {engine.KindAudio, "OggS-voice", "audio/ogg"}} {
		a := shown[i]
		if a.Kind != want.kind {
			t.Errorf("item %d kind %q, want %q", i, a.Kind, want.kind)
		}
		r := ann.do(t, http.MethodGet, a.URL, nil)
		if r.status != http.StatusOK || r.body != want.body || r.contentType != want.ct {
			t.Errorf("item %d at %s: %d %q (%s), want 200 %q (%s)", i, a.URL, r.status, r.body, r.contentType, want.body, want.ct)
		}
	}
	// Without the session, or with the signature altered or gone: 404.
	u := shown[0].URL
	if r, err := p.http.Get(p.base + u); err != nil || r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Errorf("no session: %v %v, want refused", r.StatusCode, err)
	}
	for name, bad := range map[string]string{"unsigned": u[:strings.Index(u, "?")], "forged": strings.Replace(u, "sig=", "sig=x", 1)} {
		if r := ann.do(t, http.MethodGet, bad, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, r.status)
		}
	}
}

func TestBlackboxInboundMediaDeletedAtTwilioWhenAsked(t *testing.T) {
	t.Parallel()
	p := startParleyWith(t, parleyOptions{env: []string{"PARLEY_DELETE_TWILIO_MEDIA=true"}})
	ann := p.signIn(t, "blackbox-agent")
	docURL, doc := p.fake.addMedia(t, []byte("%PDF-1.7 invoice"), "application/pdf", 0)
	conv, msg := p.mediaMessage(t, "+27820000802", []string{docURL}, []string{"application/pdf"})
	eventually(t, "the document ready and deleted at Twilio", func() (bool, string) {
		a := ann.attachmentsOf(t, conv, msg)
		_, _, deleted := p.fake.mediaCounts(doc)
		return len(a) == 1 && a[0].State == engine.FileReady && a[0].Kind == engine.KindDocument && deleted == 1, jsonOf(a)
	})
}

func jsonOf(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
