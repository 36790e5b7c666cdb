package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/users"
)

// FuzzAPIJSON posts arbitrary bodies to the desk API's JSON endpoints: a
// caller's mistake may be refused, never answered with a 5xx.
func FuzzAPIJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"sentiment":"positive","tag":"billing","refs":["A-1"]}`, `{"department":"sales"}`,
		`{"body":"hi","template":{"content_sid":"HX1","variables":{"1":"x"}}}`, `{"n":3}`, `[]`, `null`, `{"media":["x"]}`,
		`{"business_hours":{"weekly":{"monday":["08:00-17:00"]}},"default_department":"support"}`, `{"presence":"online","accepting":"yes"}`} {
		f.Add(s)
	}
	fx := newDeskFixture(f)
	ctx := context.Background()
	if err := fx.svc.SaveUser(ctx, users.Spec{ID: "ada", Role: "admin"}, password); err != nil {
		f.Fatal(err)
	}
	ann := fx.signIn(f, "ann")
	ada := fx.signIn(f, "ada")
	chat := fx.inbound(f, "SMfuzz", "whatsapp:+27820000999", "whatsapp:+15550000001", "hello")
	paths := []struct {
		c      *client
		method string
		path   string
	}{
		{ann, "POST", "/api/v1/conversations/" + chat + "/close"},
		{ann, "POST", "/api/v1/conversations/" + chat + "/transfer"},
		{ann, "POST", "/api/v1/conversations/" + chat + "/messages"},
		{ann, "POST", "/api/v1/conversations/" + chat + "/comments"},
		{ann, "POST", "/api/v1/tickets/quick-accept"},
		{ann, "PUT", "/api/v1/me/presence"},
		{ada, "PUT", "/api/v1/admin/settings"},
		{ada, "POST", "/api/v1/admin/users"},
		{nil, "POST", "/api/v1/session"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			req := httptest.NewRequest(p.method, p.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if p.c != nil {
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: p.c.cookie})
				req.Header.Set(csrfHeader, p.c.csrf)
			}
			resp, err := fx.app.Test(req, 10000)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode >= 500 {
				raw, _ := io.ReadAll(resp.Body)
				t.Fatalf("%s %s with %q: %d %s", p.method, p.path, body, resp.StatusCode, raw)
			}
		}
	})
}
