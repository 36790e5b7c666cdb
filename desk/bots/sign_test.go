package bots_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/bots"
)

const (
	secret      = "0123456789abcdef-bot"
	otherSecret = "fedcba9876543210-old"
)

var signedAt = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// hexMAC is the README's recipe, written out apart from the package's own.
func hexMAC(secret string, t time.Time, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", t.Unix(), payload)
	return hex.EncodeToString(m.Sum(nil))
}

// TestSignaturesAsDocumented: an event is signed over "<t>.<body>", a
// callback over "<t>.POST <path>\n<body>", as the README tells a bot.
func TestSignaturesAsDocumented(t *testing.T) {
	body := `{"id":"e1"}`
	want := fmt.Sprintf("t=%d,v1=%s", signedAt.Unix(), hexMAC(secret, signedAt, body))
	if got := bots.Sign(secret, signedAt, []byte(body)); got != want {
		t.Errorf("Sign: %q, want %q", got, want)
	}
	path := "/api/v1/bots/echo/conversations/c1/actions"
	if got := bots.CallbackPath("echo", "c1"); got != path {
		t.Errorf("CallbackPath: %q, want %q", got, path)
	}
	want = fmt.Sprintf("t=%d,v1=%s", signedAt.Unix(), hexMAC(secret, signedAt, "POST "+path+"\n"+body))
	if got := bots.SignCallback(secret, signedAt, "echo", "c1", []byte(body)); got != want {
		t.Errorf("SignCallback: %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"e1"}`)
	good := bots.Sign(secret, signedAt, body)
	ts, mac, _ := strings.Cut(good, ",")
	cases := []struct {
		name   string
		header string
		body   []byte
		at     time.Time // when it is checked
		ok     bool
	}{
		{"good", good, body, signedAt, true},
		{"spaces after commas", ts + ", " + mac, body, signedAt, true},
		{"nearly five minutes old", good, body, signedAt.Add(bots.SignatureTolerance - time.Second), true},
		{"nearly five minutes ahead", good, body, signedAt.Add(-bots.SignatureTolerance + time.Second), true},
		{"too old", good, body, signedAt.Add(bots.SignatureTolerance + time.Second), false},
		{"from the future", good, body, signedAt.Add(-bots.SignatureTolerance - time.Second), false},
		{"wrong secret", bots.Sign(otherSecret, signedAt, body), body, signedAt, false},
		{"another body", good, []byte(`{"id":"e2"}`), signedAt, false},
		{"time changed", fmt.Sprintf("t=%d,%s", signedAt.Unix()+1, mac), body, signedAt, false},
		{"empty", "", body, signedAt, false},
		{"no mac", ts, body, signedAt, false},
		{"empty mac", ts + ",v1=", body, signedAt, false},
		{"no time", mac, body, signedAt, false},
		{"either of two macs", ts + ",v1=" + hexMAC(otherSecret, signedAt, string(body)) + "," + mac, body, signedAt, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := bots.Verify(secret, tc.header, tc.body, tc.at)
			if (err == nil) != tc.ok {
				t.Errorf("Verify(%q): %v, want ok %v", tc.header, err, tc.ok)
			}
		})
	}
}

// TestVerifyCallback: a callback's signature holds for one bot and one
// conversation, over the path as well as the body, under any of the bot's
// secrets (a key change-over).
func TestVerifyCallback(t *testing.T) {
	body := []byte(`{"id":"cb-1","actions":[]}`)
	both := []string{secret, otherSecret}
	cases := []struct {
		name    string
		header  string
		secrets []string
		ok      bool
	}{
		{"current secret", bots.SignCallback(secret, signedAt, "echo", "c1", body), both, true},
		{"old secret", bots.SignCallback(otherSecret, signedAt, "echo", "c1", body), both, true},
		{"old secret, removed", bots.SignCallback(otherSecret, signedAt, "echo", "c1", body), []string{secret}, false},
		{"no secrets", bots.SignCallback(secret, signedAt, "echo", "c1", body), nil, false},
		{"another conversation", bots.SignCallback(secret, signedAt, "echo", "c2", body), both, false},
		{"another bot", bots.SignCallback(secret, signedAt, "other", "c1", body), both, false},
		{"over the body only", bots.Sign(secret, signedAt, body), both, false},
		{"another body", bots.SignCallback(secret, signedAt, "echo", "c1", []byte(`{}`)), both, false},
		{"too old", bots.SignCallback(secret, signedAt.Add(-10*time.Minute), "echo", "c1", body), both, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := bots.VerifyCallback(tc.secrets, tc.header, "echo", "c1", body, signedAt)
			if (err == nil) != tc.ok {
				t.Errorf("VerifyCallback: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
