package store

import "testing"

// Every kind of due entry reads back as itself, and an unknown one is an
// error rather than a silent skip.
func TestDueKinds(t *testing.T) {
	for member, want := range map[string]DueItem{
		convWake("C1"):             {Kind: DueConversation, ID: "C1"},
		OutboxWake("sms:+2782000"): {Kind: DueOutbox, ID: "sms:+2782000"},
		BotWake("C1", "M1"):        {Kind: DueBot, ID: "C1:M1"},
		PresenceWake("ann"):        {Kind: DuePresence, ID: "ann"},
	} {
		got, err := parseDue(member, 0)
		if err != nil || got.Kind != want.Kind || got.ID != want.ID {
			t.Errorf("parseDue(%q) = %+v %v, want %+v", member, got, err, want)
		}
	}
	for _, bad := range []string{"send:M1", "conv:", "nothing"} {
		if _, err := parseDue(bad, 0); err == nil {
			t.Errorf("parseDue(%q) accepted", bad)
		}
	}
}
