package users

import (
	"errors"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/engine"
)

func TestSpecCheck(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		ok   bool
	}{
		{Spec{ID: "ann", Role: "agent"}, true},
		{Spec{ID: "sue.b-2_x", Role: "supervisor"}, true},
		{Spec{ID: "ada", Role: "admin"}, true},
		{Spec{ID: "Ann", Role: "agent"}, false},                   // upper case
		{Spec{ID: "-ann", Role: "agent"}, false},                  // must start with a letter or digit
		{Spec{ID: "", Role: "agent"}, false},                      // empty
		{Spec{ID: strings.Repeat("a", 41), Role: "agent"}, false}, // too long
		{Spec{ID: "ann<script>", Role: "agent"}, false},           // markup
		{Spec{ID: "ann", Role: "owner"}, false},                   // no such role
		{Spec{ID: "ann", Role: ""}, false},                        // no role
		{Spec{ID: strings.Repeat("a", 40), Role: "agent"}, true},  // the longest
	} {
		err := tc.spec.Check()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, engine.ErrInvalid)) {
			t.Errorf("%+v: Check() = %v, want ok=%v", tc.spec, err, tc.ok)
		}
	}
}

func TestHashAndMatches(t *testing.T) {
	for _, p := range []string{"short", strings.Repeat("x", 73)} {
		if _, err := Hash(p); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("Hash of a %d-character password: %v, want ErrInvalid", len(p), err)
		}
	}
	const password = "correct horse battery"
	hash, err := Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, password) || !strings.HasPrefix(hash, "$2") {
		t.Fatalf("not a bcrypt hash: %q", hash)
	}
	if !Matches(hash, password) {
		t.Error("the right password does not match")
	}
	if Matches(hash, password+"!") || Matches(hash, "") {
		t.Error("a wrong password matches")
	}
	if Matches("", password) || Matches("", "") {
		t.Error("no hash (unknown or disabled user) matches")
	}
}
