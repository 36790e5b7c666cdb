package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/store"
)

// templatesConfig has an admin, an agent who takes every chat, and one
// template entered by hand.
const templatesConfig = `agents:
  - {id: blackbox-agent, name: Blackbox Agent, capacity: 1000, online: true}
  - {id: ada, name: Ada Admin, role: admin}
templates:
  - name: hand_made
    content_sid: HX0123456789abcdef0123456789abcdef
    variables: ["1"]
    preview: "Hi {{1}}, typed in by an admin."
`

// runParley runs one command of the binary with the server's environment.
func (p *parley) runParley(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// templateView is a template as GET /api/v1/settings answers it.
type templateView struct {
	Name       string            `json:"name"`
	ContentSID string            `json:"content_sid"`
	Source     string            `json:"source"`
	Status     string            `json:"status"`
	Category   string            `json:"category"`
	Language   string            `json:"language"`
	Samples    map[string]string `json:"samples"`
	Variables  []string          `json:"variables"`
	Preview    string            `json:"preview"`
	Sendable   bool              `json:"sendable"`
}

// templatesOf reads the templates the desk offers u, by name.
func templatesOf(t *testing.T, u *deskUser) map[string]templateView {
	t.Helper()
	r := u.do(t, http.MethodGet, "/api/v1/settings", nil)
	var s struct {
		Templates []templateView `json:"templates"`
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &s) != nil {
		t.Fatalf("GET /api/v1/settings: %s", r)
	}
	out := map[string]templateView{}
	for _, tv := range s.Templates {
		out[tv.Name] = tv
	}
	return out
}

// TestBlackboxTemplatesSync: `parley templates sync` and the admin's sync
// read every page of the Content API; approved templates (and the one
// entered by hand) are sendable, pending and rejected ones are not and a
// send of one is refused before Twilio is called; a template Twilio no
// longer has is gone after the next sync, and one approved since becomes
// sendable.
func TestBlackboxTemplatesSync(t *testing.T) {
	t.Parallel()
	p := startParleyWith(t, parleyOptions{config: templatesConfig, env: []string{"PARLEY_TEMPLATES_SYNC=0"}})
	order := p.fake.addTemplate("order_update", "approved", "Hi {{1}}, your order {{2}} is on its way.", "1", "Thandi", "2", "A-77")
	promo := p.fake.addTemplate("promo", "pending", "Our sale starts today.")
	winBack := p.fake.addTemplate("win_back", "rejected", "We miss you!")
	p.fake.addTemplate("reminder", "approved", "A reminder about your appointment.")
	p.fake.addTemplate("draft", "", "Not submitted yet.")

	out, err := p.runParley(t, "templates", "sync")
	if err != nil {
		t.Fatalf("parley templates sync: %v\n%s", err, out)
	}
	if !strings.Contains(out, "5 from Twilio (2 approved): 5 added, 0 updated, 0 removed; 1 entered by hand kept") {
		t.Errorf("parley templates sync printed:\n%s", out)
	}
	if n := p.fake.contentPages(); n != 3 {
		t.Errorf("the sync read %d pages of ContentAndApprovals, want all 3 (5 templates, %d a page)", n, fakeContentPage)
	}

	// The server reloads the settings the command wrote within seconds.
	agent := p.signIn(t, "blackbox-agent")
	var got map[string]templateView
	eventually(t, "the synced templates in the server's settings", func() (bool, string) {
		got = templatesOf(t, agent)
		return len(got) == 6, "not yet"
	})
	for name, want := range map[string]struct {
		status   string
		sendable bool
	}{
		"order_update": {"approved", true}, "reminder": {"approved", true},
		"promo": {"pending", false}, "win_back": {"rejected", false}, "draft": {"unsubmitted", false},
		"hand_made": {"", true},
	} {
		tv, ok := got[name]
		switch {
		case !ok:
			t.Errorf("template %s missing from the desk's settings: %v", name, got)
		case tv.Status != want.status || tv.Sendable != want.sendable:
			t.Errorf("template %s: status %q sendable %v, want %q %v", name, tv.Status, tv.Sendable, want.status, want.sendable)
		}
	}
	if o := got["order_update"]; o.ContentSID != order.SID || o.Source != "twilio" || o.Language != "en" || o.Category != "UTILITY" ||
		o.Samples["1"] != "Thandi" || o.Samples["2"] != "A-77" || strings.Join(o.Variables, ",") != "1,2" ||
		o.Preview != "Hi {{1}}, your order {{2}} is on its way." {
		t.Errorf("order_update as synced: %+v", o)
	}

	// A chat with the agent, so the sends below have a conversation.
	const to = channels.Address("whatsapp:+27830000801")
	p.mustAccept(t, p.whatsAppIn("+27830000801", "hello"))
	var convID string
	eventually(t, "the customer's chat", func() (bool, string) {
		c, err := p.store.Contact(context.Background(), to)
		if err != nil {
			return false, err.Error()
		}
		convID = openConversation(c)
		return convID != "", "no open chat"
	})

	// Unapproved: refused with a reason, and Twilio never asked.
	for _, tpl := range []*fakeContentItem{promo, winBack} {
		r := agent.do(t, http.MethodPost, "/api/v1/conversations/"+convID+"/messages",
			map[string]any{"template": map[string]any{"content_sid": tpl.SID}})
		expectAPIError(t, "a send of "+tpl.Name, r, http.StatusConflict, "template_not_approved")
		if msg, _ := r.apiError(t); !strings.Contains(msg, tpl.Name) || !strings.Contains(msg, tpl.Status) {
			t.Errorf("refusal of %s: %q, want its name and status", tpl.Name, msg)
		}
	}
	if _, stderr, err := p.send(t, "-to", string(to), "-template", promo.SID); err == nil || !strings.Contains(stderr, "not approved") {
		t.Errorf("parley send of the pending template: err %v, stderr %q; want a refusal", err, stderr)
	}
	// Approved: sent.
	r := agent.do(t, http.MethodPost, "/api/v1/conversations/"+convID+"/messages",
		map[string]any{"template": map[string]any{"content_sid": order.SID, "variables": map[string]string{"1": "Thandi", "2": "A-77"}}})
	if r.status != http.StatusOK && r.status != http.StatusCreated {
		t.Fatalf("send of the approved template: %s", r)
	}
	eventually(t, "the approved template at Twilio", func() (bool, string) {
		return len(p.fake.requestsFor(string(to), order.SID)) == 1, "not yet"
	})
	for _, tpl := range []*fakeContentItem{promo, winBack} {
		if n := len(p.fake.requestsFor(string(to), tpl.SID)); n != 0 {
			t.Errorf("Twilio was asked to send %s %d times, want never", tpl.Name, n)
		}
	}

	// Twilio changes: win_back deleted, promo approved. The admin syncs.
	p.fake.removeTemplate(winBack.SID)
	p.fake.setApproval(promo.SID, "approved")
	admin := p.signIn(t, "ada")
	expectAPIError(t, "a sync by an agent", agent.do(t, http.MethodPost, "/api/v1/admin/templates/sync", nil), http.StatusForbidden, "forbidden")
	r = admin.do(t, http.MethodPost, "/api/v1/admin/templates/sync", nil)
	var res desk.TemplateSync
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &res) != nil {
		t.Fatalf("admin sync: %s", r)
	}
	if want := (desk.TemplateSync{Total: 4, Approved: 3, Added: 0, Updated: 1, Removed: 1, Kept: 1}); res != want {
		t.Errorf("admin sync: %+v, want %+v", res, want)
	}
	got = templatesOf(t, agent)
	if _, ok := got["win_back"]; ok {
		t.Errorf("win_back is still offered after Twilio deleted it")
	}
	if !got["promo"].Sendable || got["hand_made"].ContentSID == "" {
		t.Errorf("after the second sync: promo %+v, hand_made %+v", got["promo"], got["hand_made"])
	}
	p.mustSend(t, "-to", string(to), "-template", promo.SID)
	eventually(t, "promo at Twilio once approved", func() (bool, string) {
		return len(p.fake.requestsFor(string(to), promo.SID)) == 1, "not yet"
	})

	// Both syncs are in the audit log, with who asked.
	r = admin.do(t, http.MethodGet, "/api/v1/admin/audit", nil)
	var audit struct {
		Items []store.AuditEntry `json:"items"`
	}
	_ = json.Unmarshal([]byte(r.body), &audit)
	var syncs []string
	for _, e := range audit.Items {
		if e.Action == "templates.sync" {
			syncs = append(syncs, e.Actor+": "+e.Detail)
		}
	}
	if len(syncs) != 2 || !strings.HasPrefix(syncs[0], "ada: 4 from Twilio") || !strings.HasPrefix(syncs[1], "operator: 5 from Twilio") {
		t.Errorf("audit of the syncs: %q", syncs)
	}
}

// TestBlackboxTemplatesPeriodicSync: with PARLEY_TEMPLATES_SYNC set, the
// worker syncs by itself, so a template approved in Twilio becomes
// sendable without anyone asking.
func TestBlackboxTemplatesPeriodicSync(t *testing.T) {
	t.Parallel()
	p := startParleyWith(t, parleyOptions{config: templatesConfig, env: []string{"PARLEY_TEMPLATES_SYNC=1s"}})
	tpl := p.fake.addTemplate("late_approval", "pending", "Your appointment is confirmed.")
	agent := p.signIn(t, "blackbox-agent")
	eventually(t, "the pending template synced", func() (bool, string) {
		tv, ok := templatesOf(t, agent)["late_approval"]
		return ok && tv.Status == "pending" && !tv.Sendable, "not yet"
	})
	p.fake.setApproval(tpl.SID, "approved")
	eventually(t, "its approval synced", func() (bool, string) {
		tv := templatesOf(t, agent)["late_approval"]
		return tv.Sendable, tv.Status
	})
}

// TestBlackboxTemplatesSyncSandbox: with no Twilio account there is
// nothing to sync from, and the command says so.
func TestBlackboxTemplatesSyncSandbox(t *testing.T) {
	t.Parallel()
	p := startParleyWith(t, parleyOptions{config: templatesConfig})
	env := []string{}
	for _, kv := range p.env {
		if !strings.HasPrefix(kv, "TWILIO_") && !strings.HasPrefix(kv, "PARLEY_TWILIO_API_URL=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(p.bin, "templates", "sync")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "sandbox mode") {
		t.Errorf("templates sync in sandbox mode: err %v, output %q; want a refusal naming sandbox mode", err, out)
	}
	if n := p.fake.contentPages(); n != 0 {
		t.Errorf("the fake served %d content pages, want none", n)
	}
}
