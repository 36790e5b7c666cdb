package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

// FuzzEventEncode holds the written-out encoder to json.Marshal's output,
// byte for byte, for any text in any field.
func FuzzEventEncode(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\r\b\f\x00\x1f\x7f",
		"é ñ 中文 😀", "\u2028\u2029", "bad \xff\xfe utf-8", "\xed\xa0\x80"} {
		f.Add(s, int64(1_800_000_000_123), true)
	}
	f.Fuzz(func(t *testing.T, text string, ms int64, typing bool) {
		at := time.UnixMilli(ms % 253_402_300_800_000).UTC()
		for _, e := range []engine.Event{
			{Type: engine.EventMessageIn, At: at},
			{Type: text, ConversationID: text, MessageID: text, Status: text, State: text, Assignee: text, Agent: text,
				Was: text, Kind: text, Department: text, Mentions: []string{text, "ann"}, Typing: typing, Preview: text,
				LastCustomerAt: at.In(time.FixedZone("SAST", 2*3600)), At: at.Add(time.Duration(ms % 1e6))},
			{Type: engine.EventComment, Mentions: []string{}, LastCustomerAt: time.Time{}, At: time.Time{}},
		} {
			want, err := json.Marshal(e)
			if err != nil {
				want = nil
			}
			if got := encodeEvent(e); string(got) != string(want) {
				t.Fatalf("encode(%+v)\n got %s\nwant %s", e, got, want)
			}
		}
	})
}
