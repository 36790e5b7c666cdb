package gateway

import (
	"context"
	"testing"

	"github.com/parleydesk/parley/desk/users"
)

// A password reset signs the user out everywhere (except the admin's own
// session when they reset their own), and never re-enables a disabled user:
// only the enable action does.
func TestPasswordResetEndsSessionsAndNeverEnables(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	if err := f.svc.SaveUser(ctx, users.Spec{ID: "ada", Name: "Ada", Role: "admin"}, password); err != nil {
		t.Fatal(err)
	}
	ada, ann1, ann2 := f.signIn(t, "ada"), f.signIn(t, "ann"), f.signIn(t, "ann")
	const newPassword = "a brand new secret"
	ada.want("POST", "/api/v1/admin/users/ann/password", map[string]string{"password": newPassword}, 204, "")
	ann1.want("GET", "/api/v1/me", nil, 401, "unauthenticated")
	ann2.want("GET", "/api/v1/me", nil, 401, "unauthenticated")

	adaElsewhere := f.signIn(t, "ada")
	ada.want("POST", "/api/v1/admin/users/ada/password", map[string]string{"password": password}, 204, "")
	ada.want("GET", "/api/v1/me", nil, 200, "")
	adaElsewhere.want("GET", "/api/v1/me", nil, 401, "unauthenticated")

	ada.want("POST", "/api/v1/admin/users/bob/disable", nil, 204, "")
	ada.want("POST", "/api/v1/admin/users/bob/password", map[string]string{"password": newPassword}, 204, "")
	anon := &client{t: t, app: f.app}
	anon.want("POST", "/api/v1/session", map[string]string{"user": "bob", "password": newPassword}, 401, "bad_credentials")
	ada.want("POST", "/api/v1/admin/users/bob/enable", nil, 204, "")
	anon.want("POST", "/api/v1/session", map[string]string{"user": "bob", "password": newPassword}, 200, "")
	ada.want("POST", "/api/v1/admin/users/nobody/enable", nil, 404, "not_found")
}
