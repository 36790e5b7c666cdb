package gateway

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/users"
)

// The desk page reads its constants from the server: a signed-in user's
// tabs by role, the user-id pattern and the attachment limits.
func TestPageConstants(t *testing.T) {
	f := newDeskFixture(t)
	resp, err := f.app.Test(httptest.NewRequest("GET", "/api/v1/desk/constants", nil), -1)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("signed out: %v %v, want 401", resp.StatusCode, err)
	}
	var got struct {
		Tabs          map[string][]string `json:"tabs"`
		UserID        string              `json:"user_id_pattern"`
		MaxBytes      int                 `json:"max_attachment_bytes"`
		MaxFiles      int                 `json:"max_attachments_per_reply"`
		TrashDays     int                 `json:"trash_days"`
		DurationUnits map[string]float64  `json:"duration_units"`
	}
	json.NewDecoder(f.signIn(t, "ann").want("GET", "/api/v1/desk/constants", nil, 200, "").Body).Decode(&got)
	if !slices.Contains(got.Tabs["agent"], desk.TabTagged) || slices.Contains(got.Tabs["agent"], desk.TabBot) {
		t.Errorf("agent tabs %v: want Tagged, not Bot", got.Tabs["agent"])
	}
	if !slices.Contains(got.Tabs["supervisor"], desk.TabBot) || slices.Contains(got.Tabs["supervisor"], desk.TabTagged) {
		t.Errorf("supervisor tabs %v: want Bot, not Tagged", got.Tabs["supervisor"])
	}
	if got.UserID != users.IDPattern.String() || got.MaxBytes != media.MaxAttachment || got.MaxFiles != media.MaxAttachmentsPerReply ||
		got.TrashDays != 30 || got.DurationUnits["h"] != 3600 {
		t.Errorf("constants %+v", got)
	}
}

// An agent paused for letting a routed chat time out sees it in GET /me,
// and setting themself online again (the desk's one-click resume) clears it.
func TestMeShowsPauseUntilResumed(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	f.svc.Rules().Timeouts.AgentResponse = time.Millisecond // the fixture's own rules, read at each decision
	ann := f.signIn(t, "ann")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	paused := func() bool {
		var me struct {
			Paused   bool   `json:"paused"`
			Presence string `json:"presence"`
		}
		json.NewDecoder(ann.want("GET", "/api/v1/me", nil, 200, "").Body).Decode(&me)
		return me.Paused
	}
	if paused() {
		t.Fatal("paused before anything happened")
	}
	id := f.inbound(t, "SM1", "whatsapp:+27820000001", "whatsapp:+15550000001", "hello?")
	c, err := f.svc.Store().Conversation(ctx, id)
	if err != nil || c.Assignee != "ann" {
		t.Fatalf("routed to %q (%v), want ann", c.Assignee, err)
	}
	time.Sleep(5 * time.Millisecond) // past the agent response deadline
	if err := f.svc.Wake(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !paused() {
		t.Fatal("ann let the chat time out but /me does not say she is paused")
	}
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	if paused() {
		t.Fatal("still paused after setting herself online")
	}
}
