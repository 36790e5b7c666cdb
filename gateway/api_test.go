package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
	"github.com/parleydesk/parley/desk/users"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/desk/reports"
)

const password = "correct horse battery"

// deskFixture is a gateway with two departments and users in them:
// ann (support agent), bob (sales agent), sue (supervisor), and a running
// service to make conversations with.
type deskFixture struct {
	app *fiber.App
	svc *desk.Service
	rdb redis.UniversalClient
}

func newDeskFixture(t testing.TB) deskFixture {
	t.Helper()
	db := redistest.New(t)
	cfg := config.Default()
	cfg.Departments = []config.Department{
		{ID: "support", Numbers: []string{"whatsapp:+15550000001"}},
		{ID: "sales", Numbers: []string{"whatsapp:+15550000002"}},
	}
	cfg.DefaultDepartment = "support"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := store.New(db.Client, store.KeyPrefix)
	svc := desk.NewService(desk.Options{Store: st, Dispatcher: nopDispatch{}, Provider: channels.NewSandbox(db.Client, store.KeyPrefix),
		Rules: &cfg.Engine, Now: time.Now, Log: zerolog.Nop(), Media: media.NewSigner([]byte(strings.Repeat("k", 32)), testPublic)})
	ctx := context.Background()
	for _, u := range []users.Spec{
		{ID: "ann", Name: "Ann", Role: "agent", Departments: []string{"support"}},
		{ID: "bob", Name: "Bob", Role: "agent", Departments: []string{"sales"}},
		{ID: "sue", Name: "Sue", Role: "supervisor", Departments: []string{"support"}},
	} {
		if err := svc.SaveUser(ctx, u, password); err != nil {
			t.Fatal(err)
		}
	}
	app := New(Deps{
		Service: svc, Redis: db.Client, Verifier: channels.NewVerifier(testPublic, testToken), AccountSID: testAccount,
		MaxBodyBytes: 64 << 10, Admin: Credentials{User: "ops", Password: "secret"},
		Monitoring: http.NotFoundHandler(), Registry: prometheus.NewRegistry(), Log: zerolog.Nop(), KeyPrefix: store.KeyPrefix,
		// app.Test's connections come from 0.0.0.0: as a trusted proxy, a
		// test names the client's address with X-Forwarded-For.
		TrustedProxies: []string{"0.0.0.0"},
	})
	return deskFixture{app: app, svc: svc, rdb: db.Client}
}

// inbound delivers a customer message to a department's number.
func (f deskFixture) inbound(t testing.TB, sid, from, to, body string) string {
	t.Helper()
	a, _ := channels.ParseAddress(from)
	b, _ := channels.ParseAddress(to)
	r, err := f.svc.Receive(context.Background(), channels.Inbound{MessageSID: sid, From: a, To: b, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return r.ConversationID
}

// client is a signed-in desk user.
type client struct {
	t      testing.TB
	app    *fiber.App
	cookie string
	csrf   string
}

func (f deskFixture) signIn(t testing.TB, user string) *client {
	t.Helper()
	c := &client{t: t, app: f.app}
	resp := c.do("POST", "/api/v1/session", map[string]string{"user": user, "password": password})
	if resp.StatusCode != 200 {
		t.Fatalf("sign in as %s: %d", user, resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			c.cookie = ck.Value
		}
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&me)
	c.csrf = me.CSRF
	return c
}

func (c *client) do(method, path string, body any) *http.Response {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = strings.NewReader(string(raw))
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
	}
	if c.csrf != "" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	// No time limit: bcrypt under the race detector on a busy machine may
	// take seconds, and go test's own timeout still catches a hang.
	resp, err := c.app.Test(req, -1)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// want checks an answer's status and, for errors, its code.
func (c *client) want(method, path string, body any, status int, code string) *http.Response {
	c.t.Helper()
	resp := c.do(method, path, body)
	if resp.StatusCode != status {
		raw, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, status)
	}
	if code != "" {
		var e struct{ Code string }
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Code != code {
			c.t.Fatalf("%s %s: code %q, want %q", method, path, e.Code, code)
		}
	}
	return resp
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	f := newDeskFixture(t)
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	param := regexp.MustCompile(`:(\w+)`)
	seen := 0
	for _, r := range f.app.GetRoutes(true) {
		path, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || r.Method == "HEAD" || path == "" {
			continue
		}
		path = param.ReplaceAllString(path, "{$1}")
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is served but not in openapi.yaml", r.Method, path)
		}
		seen++
	}
	if seen < 20 {
		t.Fatalf("only %d API routes found; the route walk is broken", seen)
	}
	for path, methods := range doc.Paths {
		for m := range methods {
			found := false
			for _, r := range f.app.GetRoutes(true) {
				if r.Method == strings.ToUpper(m) && param.ReplaceAllString(strings.TrimPrefix(r.Path, "/api/v1"), "{$1}") == path {
					found = true
				}
			}
			if !found {
				t.Errorf("openapi.yaml documents %s %s, which is not served", m, path)
			}
		}
	}
}

func TestSignInSessionAndCSRF(t *testing.T) {
	f := newDeskFixture(t)
	anon := &client{t: t, app: f.app}
	anon.want("POST", "/api/v1/session", map[string]string{"user": "ann", "password": "wrong password!"}, 401, "bad_credentials")
	anon.want("POST", "/api/v1/session", map[string]string{"user": "nobody", "password": "wrong password!"}, 401, "bad_credentials")
	anon.want("POST", "/api/v1/session", "not an object", 400, "bad_json")
	anon.want("GET", "/api/v1/me", nil, 401, "unauthenticated")

	ann := f.signIn(t, "ann")
	resp := ann.do("POST", "/api/v1/session", map[string]string{"user": "ann", "password": password})
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v, want HttpOnly and SameSite=Lax", cookie)
	}
	ann.want("GET", "/api/v1/me", nil, 200, "")

	noCSRF := &client{t: t, app: f.app, cookie: ann.cookie}
	noCSRF.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 403, "csrf")
	wrong := &client{t: t, app: f.app, cookie: ann.cookie, csrf: strings.Repeat("0", 64)}
	wrong.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 403, "csrf")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "asleep"}, 400, "invalid")

	ann.want("DELETE", "/api/v1/session", nil, 204, "")
	ann.want("GET", "/api/v1/me", nil, 401, "unauthenticated")
}

func TestFailedSignInsAreLimited(t *testing.T) {
	f := newDeskFixture(t)
	anon := &client{t: t, app: f.app}
	for range defaultSignInLimits.pair {
		anon.want("POST", "/api/v1/session", map[string]string{"user": "bob", "password": "guess guess guess"}, 401, "bad_credentials")
	}
	// Locked out now, even with the right password.
	anon.want("POST", "/api/v1/session", map[string]string{"user": "bob", "password": password}, 429, "too_many_attempts")
}

func TestDisabledUserLosesSession(t *testing.T) {
	f := newDeskFixture(t)
	bob := f.signIn(t, "bob")
	if err := f.svc.DisableUser(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	bob.want("GET", "/api/v1/me", nil, 401, "unauthenticated")
	anon := &client{t: t, app: f.app}
	anon.want("POST", "/api/v1/session", map[string]string{"user": "bob", "password": password}, 401, "bad_credentials")
}

func TestEveryUserRouteNeedsASession(t *testing.T) {
	f := newDeskFixture(t)
	anon := &client{t: t, app: f.app}
	for _, r := range f.app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1") || r.Method == "HEAD" ||
			r.Path == "/api/v1/openapi.yaml" || (r.Path == "/api/v1/session" && r.Method == "POST") ||
			strings.HasPrefix(r.Path, "/api/v1/bots/") { // bots sign their calls instead
			continue
		}
		path := strings.ReplaceAll(r.Path, ":id", "01ABCDEFGHJKMNPQRSTVWXYZ00")
		anon.want(r.Method, path, nil, 401, "unauthenticated")
	}
}

// The authorization matrix: each role against what it must not reach.
func TestAuthorizationMatrix(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	ann, bob, sue := f.signIn(t, "ann"), f.signIn(t, "bob"), f.signIn(t, "sue")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")

	chat := f.inbound(t, "SM1", "whatsapp:+27820000001", "whatsapp:+15550000001", "hello")   // support: ann's live chat
	sales := f.inbound(t, "SM2", "whatsapp:+27820000002", "whatsapp:+15550000002", "price?") // sales: unassigned ticket
	mine := f.inbound(t, "SM3", "whatsapp:+27820000003", "whatsapp:+15550000002", "order")   // sales ticket, for bob
	if err := f.svc.AcceptTicket(ctx, engine.Actor{ID: "bob", Role: "agent"}, mine); err != nil {
		t.Fatal(err)
	}

	conv := func(id, action string) string { return "/api/v1/conversations/" + id + action }
	reply := map[string]string{"body": "hi"}

	// ann's live chat: bob cannot see or touch it; sue sees it but cannot write.
	bob.want("GET", conv(chat, ""), nil, 404, "not_found")
	bob.want("POST", conv(chat, "/messages"), reply, 404, "not_found")
	bob.want("POST", conv(chat, "/close"), map[string]string{"sentiment": "neutral"}, 404, "not_found")
	bob.want("POST", conv(chat, "/comments"), map[string]string{"body": "x"}, 404, "not_found")
	sue.want("GET", conv(chat, ""), nil, 200, "")
	sue.want("POST", conv(chat, "/messages"), reply, 403, "forbidden")
	sue.want("POST", conv(chat, "/flag"), map[string]bool{"flagged": true}, 403, "forbidden")
	sue.want("POST", conv(chat, "/comments"), map[string]string{"body": "@ann please check the order"}, 201, "")
	ann.want("POST", conv(chat, "/messages"), reply, 201, "")

	// The sales ticket: ann (support) cannot see or accept it; bob can.
	ann.want("GET", conv(sales, ""), nil, 404, "not_found")
	ann.want("POST", conv(sales, "/accept"), nil, 404, "not_found")
	bob.want("GET", conv(sales, ""), nil, 200, "")

	// bob's assigned ticket: nobody else reads or answers it; no transfer.
	ann.want("GET", conv(mine, ""), nil, 404, "not_found")
	ann.want("POST", conv(mine, "/messages"), reply, 404, "not_found")
	bob.want("POST", conv(mine, "/transfer"), map[string]string{"agent": "ann"}, 409, "ticket_transfer")
	bob.want("POST", conv(mine, "/close"), map[string]string{}, 409, "reply_first")
	bob.want("POST", conv(mine, "/messages"), reply, 201, "")
	bob.want("POST", conv(mine, "/close"), map[string]string{"sentiment": "positive"}, 200, "")
	// Closed tickets are visible to every agent.
	ann.want("GET", conv(mine, ""), nil, 200, "")

	// Lists hold only what the user may see.
	ids := func(c *client, query string) []string {
		var page desk.Page
		json.NewDecoder(c.want("GET", "/api/v1/conversations?"+query, nil, 200, "").Body).Decode(&page)
		var out []string
		for _, it := range page.Items {
			out = append(out, it.ID)
		}
		return out
	}
	if got := ids(bob, "tab=live"); len(got) != 0 {
		t.Fatalf("bob's live list %v, want empty", got)
	}
	if got := ids(sue, "tab=live"); len(got) != 1 || got[0] != chat {
		t.Fatalf("sue's live list %v, want [%s]", got, chat)
	}
	if got := ids(ann, "tab=unassigned"); len(got) != 0 {
		t.Fatalf("ann's unassigned list %v, want none (the ticket is sales')", got)
	}
	if got := ids(bob, "tab=unassigned"); len(got) != 1 || got[0] != sales {
		t.Fatalf("bob's unassigned list %v, want [%s]", got, sales)
	}
	if got := ids(ann, "tab=tagged"); len(got) != 1 || got[0] != chat {
		t.Fatalf("ann's tagged list %v, want the chat sue mentioned her in", got)
	}
	if got := ids(ann, "tab=tickets_closed&mine=true"); len(got) != 0 {
		t.Fatalf("ann's closed-by-me %v, want none", got)
	}
	if got := ids(bob, "tab=tickets_closed&mine=true"); len(got) != 1 {
		t.Fatalf("bob's closed-by-me %v, want his ticket", got)
	}
	ann.want("GET", "/api/v1/conversations?tab=everything", nil, 400, "invalid")
	ann.want("GET", "/api/v1/conversations?tab=live&from=yesterday", nil, 400, "invalid")

	// A transfer to a department with nobody available is refused.
	sue.want("POST", conv(chat, "/transfer"), map[string]string{"department": "sales"}, 409, "no_agent_available")
	ann.want("GET", "/api/v1/conversations/nope", nil, 404, "not_found")
}

func TestQuickAcceptThroughTheAPI(t *testing.T) {
	f := newDeskFixture(t)
	var want []string
	for _, n := range []string{"1", "2", "3", "4"} {
		want = append(want, f.inbound(t, "SMq"+n, "whatsapp:+2782000010"+n, "whatsapp:+15550000001", "help"))
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	ann := f.signIn(t, "ann")
	var out struct{ Accepted []string }
	json.NewDecoder(ann.want("POST", "/api/v1/tickets/quick-accept", map[string]int{"n": 3}, 200, "").Body).Decode(&out)
	if len(out.Accepted) != 3 || out.Accepted[0] != want[0] || out.Accepted[2] != want[2] {
		t.Fatalf("accepted %v, want the 3 oldest of %v", out.Accepted, want)
	}
	ann.want("POST", "/api/v1/tickets/quick-accept", map[string]int{"n": 0}, 400, "invalid")
}

func TestAttachments(t *testing.T) {
	f := newDeskFixture(t)
	ann, sue := f.signIn(t, "ann"), f.signIn(t, "sue")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	chat := f.inbound(t, "SMa1", "whatsapp:+27820000009", "whatsapp:+15550000001", "can I send a photo?")

	upload := func(c *client, name string, data []byte) *http.Response {
		var buf strings.Builder
		w := multipart.NewWriter(&buf)
		part, _ := w.CreateFormFile("file", name)
		part.Write(data)
		w.Close()
		req := httptest.NewRequest("POST", "/api/v1/conversations/"+chat+"/attachments", strings.NewReader(buf.String()))
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
		req.Header.Set(csrfHeader, c.csrf)
		resp, err := f.app.Test(req, 10000)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
	if resp := upload(sue, "x.png", png); resp.StatusCode != 403 {
		t.Fatalf("a supervisor attaching to a live chat: %d, want 403", resp.StatusCode)
	}
	resp := upload(ann, "../../etc/photo.png", png)
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	var att engine.Attachment
	json.NewDecoder(resp.Body).Decode(&att)
	if att.Name != "photo.png" || att.Size != len(png) || !strings.HasPrefix(att.URL, testPublic+"/media/"+att.ID+"?exp=") {
		t.Fatalf("attachment %+v", att)
	}

	path := strings.TrimPrefix(att.URL, testPublic)
	got, _ := f.app.Test(httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(got.Body)
	if got.StatusCode != 200 || string(body) != string(png) || got.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %q", path, got.StatusCode, got.Header.Get("Content-Type"))
	}
	forged, _ := f.app.Test(httptest.NewRequest("GET", path[:len(path)-2]+"xx", nil))
	if forged.StatusCode != 404 {
		t.Fatalf("a forged signature: %d, want 404", forged.StatusCode)
	}
	unsigned, _ := f.app.Test(httptest.NewRequest("GET", "/media/"+att.ID, nil))
	if unsigned.StatusCode != 404 {
		t.Fatalf("no signature: %d, want 404", unsigned.StatusCode)
	}

	var m engine.Message
	json.NewDecoder(ann.want("POST", "/api/v1/conversations/"+chat+"/messages", map[string]any{"body": "here it is", "media": []string{att.ID}}, 201, "").Body).Decode(&m)
	if len(m.Media) != 1 || !strings.Contains(m.Media[0].URL, "/media/"+att.ID+"?exp=") {
		t.Fatalf("reply media %+v", m.Media)
	}
	ann.want("POST", "/api/v1/conversations/"+chat+"/messages", map[string]any{"body": "x", "media": []string{"nope"}}, 404, "not_found")
	// Outside the upload, the small body limit holds.
	ann.want("POST", "/api/v1/conversations/"+chat+"/comments", map[string]string{"body": strings.Repeat("x", 70<<10)}, 413, "too_large")
}

func TestAdministration(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	if err := f.svc.SaveUser(ctx, users.Spec{ID: "ada", Name: "Ada", Role: "admin"}, password); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LoadSettings(ctx); err != nil {
		t.Fatal(err)
	}
	ada, sue := f.signIn(t, "ada"), f.signIn(t, "sue")
	sue.want("GET", "/api/v1/admin/settings", nil, 403, "forbidden")
	sue.want("POST", "/api/v1/admin/users", map[string]any{"id": "x"}, 403, "forbidden")

	// Users.
	ada.want("POST", "/api/v1/admin/users", map[string]any{"id": "cy", "name": "Cy", "role": "agent", "departments": []string{"sales"}, "password": "short"}, 400, "invalid")
	ada.want("POST", "/api/v1/admin/users", map[string]any{"id": "cy", "name": "Cy", "role": "agent", "departments": []string{"sales"}, "password": password}, 201, "")
	ada.want("POST", "/api/v1/admin/users", map[string]any{"id": "cy", "role": "agent", "password": password}, 409, "exists")
	ada.want("PUT", "/api/v1/admin/users/cy", map[string]any{"name": "Cy", "role": "supervisor", "departments": []string{"support"}, "capacity": 5}, 200, "")
	cy := f.signIn(t, "cy")
	var me struct{ Role string }
	json.NewDecoder(cy.want("GET", "/api/v1/me", nil, 200, "").Body).Decode(&me)
	if me.Role != "supervisor" {
		t.Fatalf("cy's role %q after the change, want supervisor", me.Role)
	}
	ada.want("POST", "/api/v1/admin/users/cy/password", map[string]string{"password": "a brand new secret"}, 204, "")
	ada.want("POST", "/api/v1/admin/users/cy/disable", nil, 204, "")
	cy.want("GET", "/api/v1/me", nil, 401, "unauthenticated")
	var users struct {
		Items []struct {
			ID       string
			Disabled bool
		}
	}
	json.NewDecoder(ada.want("GET", "/api/v1/admin/users", nil, 200, "").Body).Decode(&users)
	for _, u := range users.Items {
		if u.Disabled != (u.ID == "cy") {
			t.Fatalf("user %s disabled = %v", u.ID, u.Disabled)
		}
	}
	ada.want("POST", "/api/v1/admin/users/ada/disable", nil, 409, "wrong_state")
	ada.want("POST", "/api/v1/admin/users/nobody/password", map[string]string{"password": "a brand new secret"}, 404, "not_found")

	// Settings: an invalid change is refused whole; a valid one applies to
	// the next inbound message.
	var settings map[string]any
	json.NewDecoder(ada.want("GET", "/api/v1/admin/settings", nil, 200, "").Body).Decode(&settings)
	settings["business_hours"] = map[string]any{"timezone": "Mars/Base"}
	ada.want("PUT", "/api/v1/admin/settings", settings, 400, "invalid")
	today := time.Now().UTC().Format(time.DateOnly)
	settings["business_hours"] = map[string]any{"timezone": "UTC", "holidays": []string{today}}
	ada.want("PUT", "/api/v1/admin/settings", settings, 200, "")
	ann := f.signIn(t, "ann")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	id := f.inbound(t, "SMholiday", "whatsapp:+27820000077", "whatsapp:+15550000001", "hello?")
	c, _ := f.svc.Store().Conversation(ctx, id)
	if c.Kind != engine.KindTicket || c.Session != engine.SessionAsking {
		t.Fatalf("on a holiday the message made a %s (%s), want a ticket asking to leave a message", c.Kind, c.Session)
	}

	var log struct{ Items []store.AuditEntry }
	json.NewDecoder(ada.want("GET", "/api/v1/admin/audit", nil, 200, "").Body).Decode(&log)
	var actions []string
	for _, e := range log.Items {
		if e.Actor != "ada" {
			t.Fatalf("audit entry by %q: %+v", e.Actor, e)
		}
		actions = append(actions, e.Action)
	}
	want := []string{"settings.update", "user.disable", "user.password", "user.update", "user.create"}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Fatalf("audit %v, want %v", actions, want)
	}
}

func TestSupervisorGroupsAndReports(t *testing.T) {
	f := newDeskFixture(t)
	ann, sue := f.signIn(t, "ann"), f.signIn(t, "sue")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	f.inbound(t, "SMg1", "whatsapp:+27820000701", "whatsapp:+15550000001", "one")
	f.inbound(t, "SMg2", "whatsapp:+27820000702", "whatsapp:+15550000001", "two")
	f.inbound(t, "SMg3", "whatsapp:+27820000703", "whatsapp:+15550000002", "sales question")

	ann.want("GET", "/api/v1/groups?tab=live", nil, 403, "forbidden")
	var groups struct{ Items []desk.Group }
	json.NewDecoder(sue.want("GET", "/api/v1/groups?tab=live", nil, 200, "").Body).Decode(&groups)
	if len(groups.Items) != 1 || groups.Items[0].Agent != "ann" || groups.Items[0].Count != 2 {
		t.Fatalf("live groups %+v, want ann with 2", groups.Items)
	}
	json.NewDecoder(sue.want("GET", "/api/v1/groups?tab=unassigned", nil, 200, "").Body).Decode(&groups)
	if len(groups.Items) != 1 || groups.Items[0].Agent != "" || groups.Items[0].Count != 1 {
		t.Fatalf("unassigned groups %+v, want 1 unassigned", groups.Items)
	}

	today := time.Now().UTC().Format(time.DateOnly)
	ann.want("GET", "/api/v1/reports?from="+today+"&to="+today, nil, 403, "forbidden")
	sue.want("GET", "/api/v1/reports?from="+today, nil, 400, "invalid")
	var r reports.Report
	json.NewDecoder(sue.want("GET", "/api/v1/reports?from="+today+"&to="+today, nil, 200, "").Body).Decode(&r)
	if r.Total.Chats != 2 || r.Total.Tickets != 1 {
		t.Fatalf("report totals %+v", r.Total)
	}
	resp := sue.want("GET", "/api/v1/reports?from="+today+"&to="+today+"&format=csv", nil, 200, "")
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(body), "scope,key,chats") {
		t.Fatalf("csv report %q: %s", resp.Header.Get("Content-Type"), body)
	}
	resp = sue.want("GET", "/api/v1/reports/conversations?from="+today+"&to="+today+"&format=json", nil, 200, "")
	var convs []engine.Conversation
	if err := json.NewDecoder(resp.Body).Decode(&convs); err != nil || len(convs) != 3 {
		t.Fatalf("export: %v, %d conversations", err, len(convs))
	}
}

// readCounter counts the Redis replies that carry the stored document of
// the conversation it watches: every read of it, whichever command or
// script read it.
type readCounter struct {
	doc   atomic.Pointer[string]
	reads atomic.Int64
}

// watch starts counting the reads of conversation id from zero.
func (r *readCounter) watch(id string) {
	doc := `"id":"` + id + `"`
	r.doc.Store(&doc)
	r.reads.Store(0)
}

func (r *readCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *readCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (r *readCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		var reply string
		switch c := cmd.(type) {
		case *redis.StringCmd:
			reply = c.Val()
		case *redis.Cmd:
			reply = fmt.Sprint(c.Val())
		}
		if doc := r.doc.Load(); doc != nil && strings.Contains(reply, *doc) {
			r.reads.Add(1)
		}
		return err
	}
}

// An agent's action reads the conversation it acts on twice: once to check
// that the agent may see it, and once with the rest of what the decision
// needs; the answer shows it as the action committed it.
func TestAgentActionsReadTheConversationTwice(t *testing.T) {
	f := newDeskFixture(t)
	ann, bob := f.signIn(t, "ann"), f.signIn(t, "bob")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	chat := f.inbound(t, "SMr1", "whatsapp:+27820000051", "whatsapp:+15550000001", "hello")
	ticket := f.inbound(t, "SMr2", "whatsapp:+27820000052", "whatsapp:+15550000002", "a quote please")
	counter := &readCounter{}
	f.rdb.AddHook(counter)
	for _, tc := range []struct {
		who          *client
		conv, action string
		body         any
		status       int
	}{
		{ann, chat, "/messages", map[string]string{"body": "hi"}, 201},
		{ann, chat, "/flag", map[string]bool{"flagged": true}, 200},
		{bob, ticket, "/accept", nil, 200},
		{ann, chat, "/close", map[string]string{"sentiment": "neutral"}, 200},
	} {
		counter.watch(tc.conv)
		resp := tc.who.want("POST", "/api/v1/conversations/"+tc.conv+tc.action, tc.body, tc.status, "")
		if n := counter.reads.Load(); n != 2 {
			t.Errorf("%s read the conversation %d times, want 2", tc.action, n)
		}
		if tc.status == 200 {
			var got engine.Conversation
			json.NewDecoder(resp.Body).Decode(&got)
			stored, err := f.svc.Store().Conversation(context.Background(), tc.conv)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := mustJSON(t, got), mustJSON(t, stored); string(got) != string(want) {
				t.Errorf("%s answered %s, want the stored %s", tc.action, got, want)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
