package channels_test

import (
	"maps"
	"testing"

	"github.com/parleydesk/parley/channels"
)

// Twilio's published example, the vector twilio-go's own RequestValidator
// tests use.
const (
	vectorToken     = "12345"
	vectorPublicURL = "https://mycompany.com"
	vectorPath      = "/myapp.php?foo=1&bar=2"
	vectorSignature = "vOEb5UThFn24KEfnOFLQY2AE5FY="
)

func vectorParams() map[string]string {
	return map[string]string{
		"Digits":                "1234",
		"CallSid":               "CA1234567890ABCDE",
		"To":                    "+18005551212",
		"Caller":                "+14158675309",
		"From":                  "+14158675309",
		"ReasonConferenceEnded": "test",
		"Reason":                "Participant",
	}
}

func TestSignTwilioVector(t *testing.T) {
	got := channels.Sign(vectorToken, vectorPublicURL+vectorPath, vectorParams())
	if got != vectorSignature {
		t.Errorf("Sign(Twilio example) = %q, want %q", got, vectorSignature)
	}
}

func TestSignDependsOnEveryInput(t *testing.T) {
	base := channels.Sign(vectorToken, vectorPublicURL+vectorPath, vectorParams())
	tests := []struct {
		name   string
		token  string
		url    string
		params func(map[string]string)
	}{
		{name: "token", token: "54321", url: vectorPublicURL + vectorPath},
		{name: "url", token: vectorToken, url: vectorPublicURL + "/myapp.php?foo=1&bar=3"},
		{name: "param value", token: vectorToken, url: vectorPublicURL + vectorPath, params: func(p map[string]string) { p["Digits"] = "1235" }},
		{name: "param added", token: vectorToken, url: vectorPublicURL + vectorPath, params: func(p map[string]string) { p["Extra"] = "" }},
		{name: "param removed", token: vectorToken, url: vectorPublicURL + vectorPath, params: func(p map[string]string) { delete(p, "Reason") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := vectorParams()
			if tc.params != nil {
				tc.params(p)
			}
			if got := channels.Sign(tc.token, tc.url, p); got == base {
				t.Errorf("Sign with a different %s = %q, the same as the original", tc.name, got)
			}
		})
	}
}

func TestVerifierValid(t *testing.T) {
	tests := []struct {
		name      string
		publicURL string
		token     string
		path      string
		params    func(map[string]string)
		signature string
		want      bool
	}{
		{name: "Twilio example", publicURL: vectorPublicURL, token: vectorToken, path: vectorPath, signature: vectorSignature, want: true},
		{name: "public URL with trailing slash", publicURL: vectorPublicURL + "/", token: vectorToken, path: vectorPath, signature: vectorSignature, want: true},
		{name: "public URL with default https port", publicURL: "https://mycompany.com:443", token: vectorToken, path: vectorPath, signature: vectorSignature, want: true},
		{name: "changed param value", publicURL: vectorPublicURL, token: vectorToken, path: vectorPath, params: func(p map[string]string) { p["To"] = "+18005551213" }, signature: vectorSignature, want: false},
		{name: "added param", publicURL: vectorPublicURL, token: vectorToken, path: vectorPath, params: func(p map[string]string) { p["Body"] = "hi" }, signature: vectorSignature, want: false},
		{name: "removed param", publicURL: vectorPublicURL, token: vectorToken, path: vectorPath, params: func(p map[string]string) { delete(p, "Digits") }, signature: vectorSignature, want: false},
		{name: "wrong token", publicURL: vectorPublicURL, token: "12346", path: vectorPath, signature: vectorSignature, want: false},
		{name: "empty signature", publicURL: vectorPublicURL, token: vectorToken, path: vectorPath, signature: "", want: false},
		{name: "garbage signature", publicURL: vectorPublicURL, token: vectorToken, path: vectorPath, signature: "WRONG SIGNATURE", want: false},
		{name: "different path", publicURL: vectorPublicURL, token: vectorToken, path: "/other.php?foo=1&bar=2", signature: vectorSignature, want: false},
		{name: "different query", publicURL: vectorPublicURL, token: vectorToken, path: "/myapp.php?foo=1&bar=3", signature: vectorSignature, want: false},
		{name: "different host", publicURL: "https://mycompany.org", token: vectorToken, path: vectorPath, signature: vectorSignature, want: false},
		{name: "http instead of https", publicURL: "http://mycompany.com", token: vectorToken, path: vectorPath, signature: vectorSignature, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := vectorParams()
			if tc.params != nil {
				tc.params(p)
			}
			v := channels.NewVerifier(tc.publicURL, tc.token)
			if got := v.Valid(tc.path, p, tc.signature); got != tc.want {
				t.Errorf("NewVerifier(%q, %q).Valid(%q, params, %q) = %v, want %v", tc.publicURL, tc.token, tc.path, tc.signature, got, tc.want)
			}
		})
	}
}

// Twilio's validator accepts a signature over the URL with its default
// port as well as without it; so does the Verifier.
func TestVerifierPortForms(t *testing.T) {
	for _, tc := range []struct{ publicURL, signedURL string }{
		{"https://mycompany.com", "https://mycompany.com:443"},
		{"http://mycompany.com", "http://mycompany.com:80"},
		{"https://mycompany.com:8443", "https://mycompany.com"},
	} {
		sig := channels.Sign(vectorToken, tc.signedURL+vectorPath, vectorParams())
		if !channels.NewVerifier(tc.publicURL, vectorToken).Valid(vectorPath, vectorParams(), sig) {
			t.Errorf("NewVerifier(%q) refuses a signature over %q", tc.publicURL, tc.signedURL+vectorPath)
		}
	}
}

func TestVerifierURL(t *testing.T) {
	tests := []struct {
		publicURL, path, want string
	}{
		{"https://parley.example", "/webhooks/twilio/messages", "https://parley.example/webhooks/twilio/messages"},
		{"https://parley.example/", "/webhooks/twilio/messages", "https://parley.example/webhooks/twilio/messages"},
		{"https://parley.example/desk/", "/webhooks/twilio/status?x=1", "https://parley.example/desk/webhooks/twilio/status?x=1"},
	}
	for _, tc := range tests {
		if got := channels.NewVerifier(tc.publicURL, "tok").URL(tc.path); got != tc.want {
			t.Errorf("NewVerifier(%q).URL(%q) = %q, want %q", tc.publicURL, tc.path, got, tc.want)
		}
	}
}

// TestSignVerifyRoundTrip signs each webhook fixture the way the development
// phone does and checks the Verifier accepts it, and refuses it once any one
// parameter is changed.
func TestSignVerifyRoundTrip(t *testing.T) {
	const (
		token     = "f3a9c1e7b5d24086a8c6e4f2b0d19375"
		publicURL = "https://parley.example.test"
		path      = "/webhooks/twilio/messages"
	)
	v := channels.NewVerifier(publicURL+"/", token)
	for _, file := range []string{"whatsapp_text.form", "whatsapp_media.form", "whatsapp_location.form", "whatsapp_button.form", "sms_text.form", "sms_stop.form"} {
		t.Run(file, func(t *testing.T) {
			params := loadForm(t, file)
			sig := channels.Sign(token, publicURL+path, params)
			if !v.Valid(path, params, sig) {
				t.Fatalf("Valid(Sign(params)) = false, want true")
			}
			for k := range params {
				tampered := maps.Clone(params)
				tampered[k] += "x"
				if v.Valid(path, tampered, sig) {
					t.Errorf("Valid after changing %s = true, want false", k)
				}
			}
		})
	}
}
