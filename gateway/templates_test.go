package gateway

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parleydesk/parley/desk/users"
)

// TestTemplatesSyncAPI: the sync is for admins only, and in sandbox mode
// (no Twilio account) it says there is nothing to sync from; the desk's
// settings mark each template sendable.
func TestTemplatesSyncAPI(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	if err := f.svc.SaveUser(ctx, users.Spec{ID: "ada", Name: "Ada", Role: "admin"}, password); err != nil {
		t.Fatal(err)
	}
	ada, sue := f.signIn(t, "ada"), f.signIn(t, "sue")
	sue.want("POST", "/api/v1/admin/templates/sync", nil, 403, "forbidden")
	ada.want("POST", "/api/v1/admin/templates/sync", nil, 409, "no_twilio")

	var s struct {
		Templates []struct {
			Name     string `json:"name"`
			Sendable *bool  `json:"sendable"`
		} `json:"templates"`
	}
	if err := json.NewDecoder(sue.want("GET", "/api/v1/settings", nil, 200, "").Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if len(s.Templates) != 1 || s.Templates[0].Sendable == nil || !*s.Templates[0].Sendable {
		t.Errorf("the sample template as the desk reads it: %+v, want sendable", s.Templates)
	}
}
