package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte(strings.Repeat("s", 32))
	testNow    = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

// wantSig is the signature format links already sent carry, computed here
// on its own so a change to the signer cannot pass unseen.
func wantSig(subject string, exp int64) string {
	mac := hmac.New(sha256.New, testSecret)
	fmt.Fprintf(mac, "%s:%d", subject, exp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// query is a link's exp and sig.
func query(t *testing.T, link string) (exp, sig string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("exp"), u.Query().Get("sig")
}

// Links Twilio, desks and customers hold must keep working across an
// upgrade: each kind's address and signature are pinned.
func TestLinkFormatsArePinned(t *testing.T) {
	s := NewSigner(testSecret, "https://parley.example")
	exp := testNow.Add(time.Hour)
	e := exp.Unix()
	for _, tc := range []struct{ name, got, want string }{
		{"public file", s.URL("01FILE", exp), fmt.Sprintf("https://parley.example/media/01FILE?exp=%d&sig=%s", e, wantSig("01FILE", e))},
		{"desk file", s.DeskURL("01CONV", "01FILE", exp), fmt.Sprintf("/api/v1/conversations/01CONV/media/01FILE?exp=%d&sig=%s", e, wantSig("desk:01CONV:01FILE", e))},
		{"transcript", s.TranscriptURL("01CONV", exp), fmt.Sprintf("https://parley.example/transcripts/01CONV?exp=%d&sig=%s", e, wantSig("transcript:01CONV", e))},
	} {
		if tc.got != tc.want {
			t.Errorf("%s link:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestPublicFileLinkHoldsOnlyAsSigned(t *testing.T) {
	s := NewSigner(testSecret, "https://parley.example")
	exp, sig := query(t, s.URL("01FILE", testNow.Add(time.Hour)))
	_, deskSig := query(t, s.DeskURL("01CONV", "01FILE", testNow.Add(time.Hour)))
	// Without a secret anyone could sign: even the server's own link fails.
	none := NewSigner(nil, "")
	_, noneSig := query(t, none.URL("01FILE", testNow.Add(time.Hour)))
	tests := []struct {
		name         string
		s            *Signer
		id, exp, sig string
		now          time.Time
		want         bool
	}{
		{"as signed", s, "01FILE", exp, sig, testNow, true},
		{"at its last second", s, "01FILE", exp, sig, testNow.Add(time.Hour), true},
		{"a second late", s, "01FILE", exp, sig, testNow.Add(time.Hour + time.Second), false},
		{"forged signature", s, "01FILE", exp, "AAAA" + sig[4:], testNow, false},
		{"no signature", s, "01FILE", exp, "", testNow, false},
		{"later expiry", s, "01FILE", "9999999999", sig, testNow, false},
		{"expiry not a number", s, "01FILE", "soon", sig, testNow, false},
		{"other file", s, "01OTHER", exp, sig, testNow, false},
		{"a desk link's signature", s, "01FILE", exp, deskSig, testNow, false},
		{"another server's secret", NewSigner([]byte(strings.Repeat("z", 32)), ""), "01FILE", exp, sig, testNow, false},
		{"a server with no secret, its own link", none, "01FILE", exp, noneSig, testNow, false},
	}
	for _, tc := range tests {
		if got := tc.s.Valid(tc.id, tc.exp, tc.sig, tc.now); got != tc.want {
			t.Errorf("%s: Valid = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A desk link is for one file seen from one conversation: the gateway
// then checks the user may see that conversation.
func TestDeskLinkIsForOneConversationAndFile(t *testing.T) {
	s := NewSigner(testSecret, "https://parley.example")
	exp, sig := query(t, s.DeskURL("01CONV", "01FILE", testNow.Add(time.Hour)))
	_, publicSig := query(t, s.URL("01FILE", testNow.Add(time.Hour)))
	tests := []struct {
		name               string
		conv, id, exp, sig string
		now                time.Time
		want               bool
	}{
		{"as signed", "01CONV", "01FILE", exp, sig, testNow, true},
		{"expired", "01CONV", "01FILE", exp, sig, testNow.Add(2 * time.Hour), false},
		{"other conversation", "01OTHER", "01FILE", exp, sig, testNow, false},
		{"other file", "01CONV", "01OTHER", exp, sig, testNow, false},
		{"a public link's signature", "01CONV", "01FILE", exp, publicSig, testNow, false},
		{"later expiry", "01CONV", "01FILE", "9999999999", sig, testNow, false},
	}
	for _, tc := range tests {
		if got := s.DeskValid(tc.conv, tc.id, tc.exp, tc.sig, tc.now); got != tc.want {
			t.Errorf("%s: DeskValid = %v, want %v", tc.name, got, tc.want)
		}
	}
	if u := s.DeskURL("a/b", "c?d", testNow); !strings.HasPrefix(u, "/api/v1/conversations/a%2Fb/media/c%3Fd?") {
		t.Errorf("desk link %q: want its ids escaped in the path", u)
	}
}

// The transcript page tells a customer whose genuine link has expired to
// ask again, and anyone else only that the link is not valid.
func TestTranscriptLinkCheck(t *testing.T) {
	s := NewSigner(testSecret, "https://parley.example")
	exp, sig := query(t, s.TranscriptURL("01CONV", testNow.Add(time.Hour)))
	_, fileSig := query(t, s.URL("01CONV", testNow.Add(time.Hour)))
	none := NewSigner(nil, "")
	_, noneSig := query(t, none.TranscriptURL("01CONV", testNow.Add(time.Hour)))
	late := testNow.Add(25 * time.Hour)
	tests := []struct {
		name           string
		s              *Signer
		conv, exp, sig string
		now            time.Time
		want           error
	}{
		{"fresh", s, "01CONV", exp, sig, testNow, nil},
		{"expired", s, "01CONV", exp, sig, late, ErrLinkExpired},
		{"forged", s, "01CONV", exp, "AAAA" + sig[4:], testNow, ErrBadSignature},
		{"forged and expired", s, "01CONV", exp, "AAAA" + sig[4:], late, ErrBadSignature},
		{"later expiry", s, "01CONV", "9999999999", sig, testNow, ErrBadSignature},
		{"other chat", s, "01OTHER", exp, sig, testNow, ErrBadSignature},
		{"a file link's signature for the same id", s, "01CONV", exp, fileSig, testNow, ErrBadSignature},
		{"expiry not a number", s, "01CONV", "", sig, testNow, ErrBadSignature},
		{"a server with no secret, its own link", none, "01CONV", exp, noneSig, testNow, ErrBadSignature},
	}
	for _, tc := range tests {
		if err := tc.s.CheckTranscript(tc.conv, tc.exp, tc.sig, tc.now); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestEnabledNeedsASecret(t *testing.T) {
	if !NewSigner(testSecret, "").Enabled() {
		t.Error("a signer with a secret says it is not enabled")
	}
	if NewSigner(nil, "https://parley.example").Enabled() || NewSigner([]byte{}, "").Enabled() {
		t.Error("a signer without a secret says it is enabled")
	}
}
