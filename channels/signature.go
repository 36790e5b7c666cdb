package channels

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Verifier checks X-Twilio-Signature on webhooks. Twilio signs the URL it
// called (the public URL, not the one Parley listens on) followed by every
// POST parameter, sorted by name, with HMAC-SHA1 under the auth token.
type Verifier struct {
	publicURL string
	// signed are the forms of the public URL a signature may be over: as
	// configured (what Twilio signs when the webhook URL is the public URL,
	// so it is tried first), then with its port or without it, as Twilio's
	// own validator accepts both. They are worked out once here, not parsed
	// again for every webhook.
	signed []string
	token  string
}

// NewVerifier returns a Verifier for webhooks that Twilio sends to publicURL.
func NewVerifier(publicURL, authToken string) *Verifier {
	publicURL = strings.TrimSuffix(publicURL, "/")
	return &Verifier{publicURL: publicURL, signed: portForms(publicURL), token: authToken}
}

// portForms returns u, then u with an explicit port (the scheme's default,
// 443 for https and 80 otherwise) if it has none, or without its port.
func portForms(u string) []string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return []string{u}
	}
	other := *p
	switch {
	case p.Port() != "":
		other.Host = strings.Split(p.Host, ":")[0]
	case p.Scheme == "https":
		other.Host += ":443"
	default:
		other.Host += ":80"
	}
	return []string{u, other.String()}
}

// URL is the full URL Twilio signed for a request to pathAndQuery.
func (v *Verifier) URL(pathAndQuery string) string { return v.publicURL + pathAndQuery }

// Valid reports whether signature is Twilio's for a POST of params to
// pathAndQuery. An empty signature is never valid.
func (v *Verifier) Valid(pathAndQuery string, params map[string]string, signature string) bool {
	if signature == "" {
		return false
	}
	names := sortedNames(params)
	for _, base := range v.signed {
		if subtle.ConstantTimeCompare([]byte(sign(v.token, base+pathAndQuery, names, params)), []byte(signature)) == 1 {
			return true
		}
	}
	return false
}

// Sign computes the X-Twilio-Signature Twilio would send for a POST of params
// to pathAndQuery. The development phone and the tests use it to play Twilio.
func Sign(authToken, fullURL string, params map[string]string) string {
	return sign(authToken, fullURL, sortedNames(params), params)
}

func sign(authToken, fullURL string, names []string, params map[string]string) string {
	// The signed text is built whole and hashed in one write: a write per
	// name and per value would copy each into a slice of its own.
	size := len(fullURL)
	for _, k := range names {
		size += len(k) + len(params[k])
	}
	text := append(make([]byte, 0, size), fullURL...)
	for _, k := range names {
		text = append(append(text, k...), params[k]...)
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write(text)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func sortedNames(params map[string]string) []string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
