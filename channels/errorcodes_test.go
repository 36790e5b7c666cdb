package channels

import (
	"strconv"
	"strings"
	"testing"
)

func TestErrorTableEveryCode(t *testing.T) {
	seen := map[int]bool{}
	for _, e := range twilioErrorList {
		if seen[e.Code] {
			t.Errorf("code %d twice in the table", e.Code)
		}
		seen[e.Code] = true
		got, ok := LookupError(e.Code)
		if !ok || got != e {
			t.Errorf("LookupError(%d) = %+v, %v; want %+v", e.Code, got, ok, e)
		}
		// A reason is one short sentence for an agent, without the code.
		if e.Reason == "" || len(e.Reason) > 120 || !strings.HasSuffix(e.Reason, ".") || strings.Contains(e.Reason, strconv.Itoa(e.Code)) {
			t.Errorf("code %d: reason %q is not one short sentence", e.Code, e.Reason)
		}
		if r := ErrorReason(strconv.Itoa(e.Code), "Twilio's own words"); r != e.Reason {
			t.Errorf("ErrorReason(%d) = %q, want the table's %q", e.Code, r, e.Reason)
		}
	}
	// The codes the issue names, each in the table.
	for _, c := range []int{63016, 63024, 63032, 30003, 30004, 30005, 30006, 30007, 30008, 21211, 21408, 21610, 21614} {
		if !seen[c] {
			t.Errorf("code %d is not in the table", c)
		}
	}
}

func TestErrorTableActions(t *testing.T) {
	want := map[int]ErrorAction{
		ErrorCodeWindowClosed: ActionCloseWindow,
		ErrorCodeOptedOut:     ActionOptOut,
		21211:                 ActionMarkUnreachable,
		21614:                 ActionMarkUnreachable,
	}
	for _, e := range twilioErrorList {
		if e.Action != want[e.Code] {
			t.Errorf("code %d: action %q, want %q", e.Code, e.Action, want[e.Code])
		}
	}
}

func TestErrorReasonUnknownCode(t *testing.T) {
	tests := []struct{ code, message, want string }{
		{"12345", "Something odd", "Twilio error 12345: Something odd"},
		{"12345", "", "Twilio error 12345."},
		{"", "no sender number configured for sms", "no sender number configured for sms"},
		{"", "", ""},
		{"not-a-number", " x ", "Twilio error not-a-number: x"},
	}
	for _, tc := range tests {
		if got := ErrorReason(tc.code, tc.message); got != tc.want {
			t.Errorf("ErrorReason(%q, %q) = %q, want %q", tc.code, tc.message, got, tc.want)
		}
	}
}
