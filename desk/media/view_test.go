package media

import (
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
)

// One row per way a media item can be shown: what the fetch recorded, or
// did not, decides its state, and only a ready file gets a link.
func TestAttachmentsShowEachState(t *testing.T) {
	s := NewSigner(testSecret, "https://parley.example")
	soon := testNow.Add(2 * time.Hour) // before DeskURLLife runs out
	tests := []struct {
		name     string
		dir      engine.Direction
		media    channels.Media
		file     *engine.File
		want     engine.MessageAttachment
		wantLink time.Time // zero: no desk link
		wantURL  string    // a URL other than a desk link
	}{
		{
			name: "customer's, still fetching", dir: engine.DirIn,
			media: channels.Media{URL: "https://api.twilio.com/x", ContentType: "image/jpeg"},
			want:  engine.MessageAttachment{Kind: engine.KindImage, State: engine.FileFetching, ContentType: "image/jpeg"},
		},
		{
			name: "ready, linked for a working day", dir: engine.DirIn,
			media:    channels.Media{ContentType: "application/octet-stream"},
			file:     &engine.File{ID: "MM1-0", Name: "note.ogg", Type: "audio/ogg", Size: 42, State: engine.FileReady, Until: testNow.Add(7 * 24 * time.Hour).UnixMilli()},
			want:     engine.MessageAttachment{Kind: engine.KindAudio, State: engine.FileReady, ContentType: "audio/ogg", Name: "note.ogg", Size: 42},
			wantLink: testNow.Add(DeskURLLife),
		},
		{
			name: "ready, linked until the file goes", dir: engine.DirIn,
			media:    channels.Media{ContentType: "video/mp4"},
			file:     &engine.File{ID: "MM1-0", State: engine.FileReady, Until: soon.UnixMilli()},
			want:     engine.MessageAttachment{Kind: engine.KindVideo, State: engine.FileReady, ContentType: "video/mp4"},
			wantLink: soon,
		},
		{
			name: "kept too long", dir: engine.DirIn,
			media: channels.Media{ContentType: "application/pdf"},
			file:  &engine.File{ID: "MM1-0", Name: "a.pdf", State: engine.FileReady, Until: testNow.Add(-time.Minute).UnixMilli()},
			want:  engine.MessageAttachment{Kind: engine.KindDocument, State: engine.FileExpired, ContentType: "application/pdf", Name: "a.pdf"},
		},
		{
			name: "given up", dir: engine.DirIn,
			media: channels.Media{ContentType: "video/mp4"},
			file:  &engine.File{State: engine.FileFailed, Reason: "larger than 20 MB"},
			want:  engine.MessageAttachment{Kind: engine.KindVideo, State: engine.FileFailed, ContentType: "video/mp4", Error: NotFetched},
		},
		{
			name: "an old reply's, sent from Parley's own address", dir: engine.DirOut,
			media:   channels.Media{URL: "https://parley.example/media/01F?exp=1&sig=x", ContentType: "image/png"},
			want:    engine.MessageAttachment{Kind: engine.KindImage, State: engine.FileReady, ContentType: "image/png"},
			wantURL: "https://parley.example/media/01F?exp=1&sig=x",
		},
		{
			name: "an old reply's, with no web address", dir: engine.DirOut,
			media: channels.Media{URL: "javascript:alert(1)", ContentType: "image/png"},
			want:  engine.MessageAttachment{Kind: engine.KindImage, State: engine.FileReady, ContentType: "image/png"},
		},
	}
	for _, tc := range tests {
		m := engine.Message{ID: "MM1", Direction: tc.dir, Media: []channels.Media{tc.media}}
		if tc.file != nil {
			m.Files = []engine.File{*tc.file}
		}
		got := s.Attachments("01CONV", m, testNow)
		if len(got) != 1 {
			t.Fatalf("%s: %d attachments, want 1", tc.name, len(got))
		}
		a := got[0]
		link := a.URL
		a.URL = ""
		if a != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, a, tc.want)
		}
		switch {
		case !tc.wantLink.IsZero():
			exp, sig := query(t, link)
			if !s.DeskValid("01CONV", tc.file.ID, exp, sig, tc.wantLink) || s.DeskValid("01CONV", tc.file.ID, exp, sig, tc.wantLink.Add(time.Second)) {
				t.Errorf("%s: link %q, want a desk link for %s valid until %s", tc.name, link, tc.file.ID, tc.wantLink)
			}
		case link != tc.wantURL:
			t.Errorf("%s: URL %q, want %q", tc.name, link, tc.wantURL)
		}
	}
}

func TestLocationShownWithAMapLink(t *testing.T) {
	s := NewSigner(testSecret, "")
	m := engine.Message{Direction: engine.DirIn, Location: &channels.Location{Latitude: -33.9249, Longitude: 18.4241, Label: "Office", Address: "1 Long St"}}
	got := s.Attachments("01CONV", m, testNow)
	if len(got) != 1 {
		t.Fatalf("%d attachments, want the location alone", len(got))
	}
	a := got[0]
	if a.Kind != engine.KindLocation || a.State != engine.FileReady || *a.Latitude != -33.9249 || *a.Longitude != 18.4241 || a.Label != "Office" || a.Address != "1 Long St" {
		t.Errorf("location %+v", a)
	}
	if want := "https://www.openstreetmap.org/?mlat=-33.9249&mlon=18.4241#map=16/-33.9249/18.4241"; a.MapURL != want {
		t.Errorf("map URL %q, want %q", a.MapURL, want)
	}
}

// The page never gets the provider's URLs; messages without media are
// left as they are.
func TestForDeskDropsProviderURLs(t *testing.T) {
	s := NewSigner(testSecret, "")
	hist := []engine.Message{
		{ID: "M1", Direction: engine.DirIn, Body: "hello"},
		{ID: "M2", Direction: engine.DirIn, Media: []channels.Media{{URL: "https://api.twilio.com/2010-04-01/x", ContentType: "image/jpeg"}, {URL: "https://api.twilio.com/2010-04-01/y", ContentType: "application/pdf"}},
			Files: []engine.File{{ID: "M2-0", State: engine.FileReady}}},
	}
	s.ForDesk("01CONV", hist, testNow)
	if hist[0].Attachments != nil || hist[0].Body != "hello" {
		t.Errorf("a text message was changed: %+v", hist[0])
	}
	if hist[1].Media != nil {
		t.Errorf("the provider's media is still on the message: %+v", hist[1].Media)
	}
	if len(hist[1].Attachments) != 2 || hist[1].Attachments[0].State != engine.FileReady || hist[1].Attachments[1].State != engine.FileFetching {
		t.Fatalf("attachments %+v, want one ready, one still fetching", hist[1].Attachments)
	}
	for _, a := range hist[1].Attachments {
		if strings.Contains(a.URL, "twilio") {
			t.Errorf("attachment URL %q is the provider's", a.URL)
		}
	}
}
