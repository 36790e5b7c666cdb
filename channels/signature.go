package channels

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"sort"
	"strings"

	"github.com/twilio/twilio-go/client"
)

// Verifier checks X-Twilio-Signature on webhooks. Twilio signs the URL it
// called (the public URL, not the one Parley listens on) followed by every
// POST parameter, sorted by name, with HMAC-SHA1 under the auth token.
type Verifier struct {
	publicURL string
	validator client.RequestValidator
}

// NewVerifier returns a Verifier for webhooks that Twilio sends to publicURL.
func NewVerifier(publicURL, authToken string) *Verifier {
	return &Verifier{
		publicURL: strings.TrimSuffix(publicURL, "/"),
		validator: client.NewRequestValidator(authToken),
	}
}

// URL is the full URL Twilio signed for a request to pathAndQuery.
func (v *Verifier) URL(pathAndQuery string) string { return v.publicURL + pathAndQuery }

// Valid reports whether signature is Twilio's for a POST of params to
// pathAndQuery. An empty signature is never valid.
func (v *Verifier) Valid(pathAndQuery string, params map[string]string, signature string) bool {
	if signature == "" {
		return false
	}
	return v.validator.Validate(v.URL(pathAndQuery), params, signature)
}

// Sign computes the X-Twilio-Signature Twilio would send for a POST of params
// to pathAndQuery. The development phone and the tests use it to play Twilio.
func Sign(authToken, fullURL string, params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range names {
		mac.Write([]byte(k))
		mac.Write([]byte(params[k]))
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
