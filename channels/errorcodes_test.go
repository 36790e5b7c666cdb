package channels_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/parleydesk/parley/channels"
)

func TestExplainError(t *testing.T) {
	for _, tc := range []struct {
		code   string
		reason string // a part of it
		action channels.ErrorAction
	}{
		{"63016", "24-hour window", channels.ActionCloseWindow},
		{"21610", "unsubscribed", channels.ActionOptOut},
		{"21211", "not a valid phone number", channels.ActionUnreachable},
		{"21614", "not a mobile number", channels.ActionUnreachable},
		{"30003", "switched off", channels.ActionNone},
		{"30007", "filtered", channels.ActionNone},
		{"63024", "not a valid WhatsApp recipient", channels.ActionNone},
		{"63032", "does not deliver", channels.ActionNone},
		{"21408", "country", channels.ActionNone},
		{"12345", "Twilio error 12345", channels.ActionNone},
		{"template_required", "template is required", channels.ActionNone},
		{"opted_out", "unsubscribed", channels.ActionNone},
		{"", "", channels.ActionNone},
	} {
		reason, action := channels.ExplainError(tc.code)
		if !strings.Contains(reason, tc.reason) || action != tc.action || (tc.code != "" && reason == "") {
			t.Errorf("ExplainError(%q) = %q %q, want %q containing %q", tc.code, reason, action, tc.action, tc.reason)
		}
	}
	// Every code of the common ones has words of its own.
	for _, code := range []int{21211, 21408, 21610, 21612, 21614, 30003, 30004, 30005, 30006, 30007, 30008, 63016, 63024, 63032} {
		if reason, _ := channels.ExplainError(strconv.Itoa(code)); strings.HasPrefix(reason, "Twilio error") {
			t.Errorf("code %d has no reason of its own", code)
		}
	}
}
