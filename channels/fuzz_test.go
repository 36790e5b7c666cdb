package channels

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseInbound feeds arbitrary form bodies to the webhook parser: it
// must never panic, and must either parse or say which field is wrong.
func FuzzParseInbound(f *testing.F) {
	for _, name := range []string{"whatsapp_text", "whatsapp_media", "whatsapp_location", "whatsapp_button", "sms_text", "sms_stop"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name+".form"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Add("MessageSid=SM1&From=whatsapp%3A&Body=")
	f.Add("MessageSid=SM1&From=%2B1&NumMedia=99999999999999999999")
	f.Add("MessageSid=SM1&From=%2B1&Latitude=NaN&Longitude=1")
	f.Fuzz(func(t *testing.T, body string) {
		params, ok := formParams(body)
		if !ok {
			return
		}
		m, err := ParseInbound(params)
		if err != nil {
			var mf *MalformedError
			if !errors.As(err, &mf) || mf.Field == "" || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not a MalformedError naming a field", err)
			}
			return
		}
		if m.MessageSID == "" || m.From == "" || (m.Body == "" && len(m.Media) == 0 && m.Location == nil && m.Button == nil) {
			t.Fatalf("accepted an incomplete message: %+v", m)
		}
	})
}

// FuzzSignature checks that a signature verifies for exactly the request it
// was made for.
func FuzzSignature(f *testing.F) {
	f.Add("12345", "/myapp.php?foo=1&bar=2", "Digits", "1234", "x")
	f.Add("", "/", "", "", "")
	f.Fuzz(func(t *testing.T, token, path, key, value, tamper string) {
		v := NewVerifier("https://mycompany.com", token)
		params := map[string]string{key: value}
		sig := Sign(token, v.URL(path), params)
		if !v.Valid(path, params, sig) {
			t.Fatalf("own signature refused for %q %v", path, params)
		}
		if tamper != "" && tamper != value {
			if v.Valid(path, map[string]string{key: tamper}, sig) {
				t.Fatalf("signature accepted for a changed value %q → %q", value, tamper)
			}
		}
		_ = v.Valid(path, params, tamper) // arbitrary signatures never panic
	})
}

// FuzzParseStatus: status callbacks never panic, and what parses has a SID
// and a known status.
func FuzzParseStatus(f *testing.F) {
	f.Add("MessageSid=SM1&MessageStatus=delivered")
	f.Add("SmsSid=SM1&SmsStatus=failed&ErrorCode=30008")
	f.Add("MessageSid=SM1&MessageStatus=read&ErrorCode=-1")
	f.Fuzz(func(t *testing.T, body string) {
		params, ok := formParams(body)
		if !ok {
			return
		}
		u, err := ParseStatus(params)
		if err == nil && (u.MessageSID == "" || Rank(u.Status) == 0) {
			t.Fatalf("accepted %+v", u)
		}
	})
}

// formParams reads a form body as a webhook handler sees it: the first
// value of each field.
func formParams(body string) (map[string]string, bool) {
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, false
	}
	params := map[string]string{}
	for k, v := range values {
		params[k] = v[0]
	}
	return params, true
}
