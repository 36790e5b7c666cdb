package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestOneWaySMSRules(t *testing.T) {
	sue := Actor{ID: "sue", Role: "supervisor"}
	for _, tc := range []struct {
		name     string
		actor    Actor
		body     string
		dept     string
		want     error
		wantDept string
	}{
		{"a supervisor's text is recorded in the default department", sue, "  Your order is ready.  ", "", nil, "general"},
		{"an admin may send one too", Actor{ID: "ada", Role: "admin"}, "Hello", "general", nil, "general"},
		{"an agent may not", Actor{ID: "ann", Role: "agent"}, "Hello", "", ErrNotAllowed, ""},
		{"an empty text is refused", sue, "   ", "", ErrInvalid, ""},
		{"a text over 1600 characters is refused", sue, strings.Repeat("é", MaxSMSBody+1), "", ErrInvalid, ""},
		{"the longest text goes", sue, strings.Repeat("é", MaxSMSBody), "", nil, "general"},
		{"an unknown department is refused", sue, "Hello", "nowhere", ErrInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScene(t)
			chat, err := DecideOneWaySMS(s.w, tc.actor, tc.body, tc.dept)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || chat != nil || len(s.w.Messages) != 0 || s.w.ContactDirty {
					t.Fatalf("err %v, chat %v, %d messages: want %v and nothing recorded", err, chat, len(s.w.Messages), tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if chat.Kind != KindChat || chat.State != StateClosed || chat.Department != tc.wantDept || chat.Assignee != tc.actor.ID {
				t.Errorf("recorded %s %s in %q for %q", chat.Kind, chat.State, chat.Department, chat.Assignee)
			}
			if chat.Closed == nil || chat.Closed.Reason != ReasonOneWaySMS || chat.Closed.By != tc.actor.ID || !chat.Closed.At.Equal(t0) {
				t.Errorf("closure %+v", chat.Closed)
			}
			if got := s.sent(); len(got) != 1 || got[0] != strings.TrimSpace(tc.body) {
				t.Errorf("sent %q", got)
			}
			if !s.w.ContactDirty {
				t.Error("the contact is not recorded, so a new number gets no profile")
			}
		})
	}
}
