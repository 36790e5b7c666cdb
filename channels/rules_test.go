package channels_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
)

var rulesNow = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

func TestWindowOpen(t *testing.T) {
	tests := []struct {
		name        string
		lastInbound time.Time
		want        bool
	}{
		{name: "just now", lastInbound: rulesNow, want: true},
		{name: "one hour ago", lastInbound: rulesNow.Add(-time.Hour), want: true},
		{name: "one nanosecond short of 24h", lastInbound: rulesNow.Add(-24*time.Hour + time.Nanosecond), want: true},
		{name: "exactly 24h ago", lastInbound: rulesNow.Add(-24 * time.Hour), want: false},
		{name: "24h and a second ago", lastInbound: rulesNow.Add(-24*time.Hour - time.Second), want: false},
		{name: "a week ago", lastInbound: rulesNow.Add(-7 * 24 * time.Hour), want: false},
		{name: "never (zero time)", lastInbound: time.Time{}, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := channels.WindowOpen(tc.lastInbound, rulesNow); got != tc.want {
				t.Errorf("WindowOpen(%v, %v) = %v, want %v", tc.lastInbound, rulesNow, got, tc.want)
			}
		})
	}
	if channels.WhatsAppWindow != 24*time.Hour {
		t.Errorf("WhatsAppWindow = %v, want 24h", channels.WhatsAppWindow)
	}
}

func TestCheckSend(t *testing.T) {
	const (
		wa  = channels.Address("whatsapp:+27820000001")
		sms = channels.Address("sms:+27820000001")
	)
	inside := rulesNow.Add(-2 * time.Hour)
	atEdge := rulesNow.Add(-24 * time.Hour)
	longAgo := rulesNow.Add(-30 * 24 * time.Hour)
	tests := []struct {
		name        string
		to          channels.Address
		template    bool
		optedOut    bool
		lastInbound time.Time
		want        error
	}{
		{name: "whatsapp text inside window", to: wa, lastInbound: inside, want: nil},
		{name: "whatsapp text exactly at 24h", to: wa, lastInbound: atEdge, want: channels.ErrTemplateRequired},
		{name: "whatsapp text long after window", to: wa, lastInbound: longAgo, want: channels.ErrTemplateRequired},
		{name: "whatsapp text never wrote", to: wa, lastInbound: time.Time{}, want: channels.ErrTemplateRequired},
		{name: "whatsapp template inside window", to: wa, template: true, lastInbound: inside, want: nil},
		{name: "whatsapp template after window", to: wa, template: true, lastInbound: longAgo, want: nil},
		{name: "whatsapp template never wrote", to: wa, template: true, lastInbound: time.Time{}, want: nil},
		{name: "sms text never wrote", to: sms, lastInbound: time.Time{}, want: nil},
		{name: "sms text long after 24h", to: sms, lastInbound: longAgo, want: nil},
		{name: "sms template", to: sms, template: true, lastInbound: longAgo, want: nil},
		{name: "opted out sms", to: sms, optedOut: true, lastInbound: inside, want: channels.ErrOptedOut},
		{name: "opted out whatsapp text inside window", to: wa, optedOut: true, lastInbound: inside, want: channels.ErrOptedOut},
		{name: "opted out whatsapp text window closed", to: wa, optedOut: true, lastInbound: longAgo, want: channels.ErrOptedOut},
		{name: "opted out whatsapp template", to: wa, template: true, optedOut: true, lastInbound: longAgo, want: channels.ErrOptedOut},
		{name: "opted out sms template", to: sms, template: true, optedOut: true, lastInbound: inside, want: channels.ErrOptedOut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := channels.CheckSend(tc.to, tc.template, tc.optedOut, tc.lastInbound, rulesNow)
			if tc.want == nil {
				if err != nil {
					t.Errorf("CheckSend = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("CheckSend = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestConsentOf(t *testing.T) {
	type tcase struct {
		name       string
		ch         channels.Channel
		body       string
		optOutType string
		want       channels.Consent
	}
	var tests []tcase
	for _, w := range []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"} {
		tests = append(tests,
			tcase{name: w, ch: channels.SMS, body: w, want: channels.ConsentOptOut},
			tcase{name: w + " mixed case, padded", ch: channels.SMS, body: " \t" + mixedCase(w) + " \n", want: channels.ConsentOptOut},
			tcase{name: w + " lower case", ch: channels.SMS, body: toLower(w), want: channels.ConsentOptOut},
			tcase{name: w + " on whatsapp", ch: channels.WhatsApp, body: w, want: channels.ConsentUnchanged},
		)
	}
	for _, w := range []string{"START", "UNSTOP", "YES"} {
		tests = append(tests,
			tcase{name: w, ch: channels.SMS, body: w, want: channels.ConsentOptIn},
			tcase{name: w + " mixed case, padded", ch: channels.SMS, body: "  " + mixedCase(w) + "\r\n", want: channels.ConsentOptIn},
			tcase{name: w + " on whatsapp", ch: channels.WhatsApp, body: w, want: channels.ConsentUnchanged},
		)
	}
	tests = append(tests,
		tcase{name: "stop please", ch: channels.SMS, body: "stop please", want: channels.ConsentUnchanged},
		tcase{name: "please stop", ch: channels.SMS, body: "please stop", want: channels.ConsentUnchanged},
		tcase{name: "STOP!", ch: channels.SMS, body: "STOP!", want: channels.ConsentUnchanged},
		tcase{name: "yes please", ch: channels.SMS, body: "yes please", want: channels.ConsentUnchanged},
		tcase{name: "ordinary text", ch: channels.SMS, body: "When do you open?", want: channels.ConsentUnchanged},
		tcase{name: "empty body", ch: channels.SMS, body: "", want: channels.ConsentUnchanged},
		tcase{name: "OptOutType STOP, body hello", ch: channels.SMS, body: "hello", optOutType: "STOP", want: channels.ConsentOptOut},
		tcase{name: "OptOutType stop lower case", ch: channels.SMS, body: "hello", optOutType: "stop", want: channels.ConsentOptOut},
		tcase{name: "OptOutType START", ch: channels.SMS, body: "hello", optOutType: "START", want: channels.ConsentOptIn},
		tcase{name: "OptOutType START wins over STOP body", ch: channels.SMS, body: "STOP", optOutType: "START", want: channels.ConsentOptIn},
		tcase{name: "OptOutType STOP wins over START body", ch: channels.SMS, body: "START", optOutType: "STOP", want: channels.ConsentOptOut},
		tcase{name: "OptOutType HELP falls back to body", ch: channels.SMS, body: "help", optOutType: "HELP", want: channels.ConsentUnchanged},
		tcase{name: "whatsapp OptOutType STOP", ch: channels.WhatsApp, body: "STOP", optOutType: "STOP", want: channels.ConsentUnchanged},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := channels.ConsentOf(tc.ch, tc.body, tc.optOutType); got != tc.want {
				t.Errorf("ConsentOf(%q, %q, %q) = %d, want %d", tc.ch, tc.body, tc.optOutType, got, tc.want)
			}
		})
	}
}

// mixedCase alternates lower and upper case: "STOP" -> "sToP".
func mixedCase(s string) string {
	b := []byte(s)
	for i := range b {
		if i%2 == 0 && b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

func toLower(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

func TestAdvances(t *testing.T) {
	tests := []struct {
		old, next channels.Status
		want      bool
	}{
		{channels.StatusQueued, channels.StatusSent, true},
		{channels.StatusQueued, channels.StatusSending, true},
		{channels.StatusSending, channels.StatusSent, true},
		{channels.StatusSent, channels.StatusDelivered, true},
		{channels.StatusDelivered, channels.StatusSent, false},
		{channels.StatusDelivered, channels.StatusQueued, false},
		{channels.StatusRead, channels.StatusDelivered, false},
		{channels.StatusRead, channels.StatusSent, false},
		{channels.StatusSent, channels.StatusFailed, true},
		{channels.StatusSent, channels.StatusUndelivered, true},
		{channels.StatusFailed, channels.StatusSent, false},
		{channels.StatusUndelivered, channels.StatusSent, false},
		{channels.StatusDelivered, channels.StatusRead, true},
		{channels.StatusQueued, channels.StatusRead, true},
		{channels.StatusDelivered, channels.StatusDelivered, false},
		{channels.StatusSent, channels.StatusSent, false},
		{channels.StatusDelivered, channels.StatusFailed, false},
		{channels.StatusFailed, channels.StatusDelivered, false},
		{"accepted", channels.StatusQueued, false},
		{"accepted", channels.StatusSent, true},
		{channels.StatusQueued, "bogus", false},
		{channels.StatusSent, "bogus", false},
		{"", "bogus", false},
		{"bogus", "bogus", false},
		{channels.StatusQueued, "", false},
		{channels.StatusQueued, "received", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s->%s", tc.old, tc.next), func(t *testing.T) {
			if got := channels.Advances(tc.old, tc.next); got != tc.want {
				t.Errorf("Advances(%q, %q) = %v, want %v", tc.old, tc.next, got, tc.want)
			}
		})
	}
}

func TestStatusFailed(t *testing.T) {
	tests := map[channels.Status]bool{
		channels.StatusQueued:      false,
		channels.StatusSending:     false,
		channels.StatusSent:        false,
		channels.StatusDelivered:   false,
		channels.StatusRead:        false,
		channels.StatusUndelivered: true,
		channels.StatusFailed:      true,
	}
	for s, want := range tests {
		if got := s.Failed(); got != want {
			t.Errorf("Status(%q).Failed() = %v, want %v", s, got, want)
		}
	}
}

// statusCallback is a real-shaped Twilio status callback for a WhatsApp send.
func statusCallback() map[string]string {
	return map[string]string{
		"ChannelPrefix":       "whatsapp",
		"ApiVersion":          "2010-04-01",
		"MessageStatus":       "delivered",
		"SmsSid":              "SM6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b",
		"SmsStatus":           "delivered",
		"ChannelInstallSid":   "XEc4e6a8b0d2f4a6c8e0b2d4f6a8c0e2b4",
		"To":                  "whatsapp:+27820000001",
		"From":                "whatsapp:+14155238886",
		"MessageSid":          "SM6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b",
		"StructuredMessage":   "false",
		"AccountSid":          fixtureAccountSID,
		"ChannelToAddress":    "+2782000XXXX",
		"MessagingServiceSid": fixtureServiceSID,
	}
}

func TestParseStatus(t *testing.T) {
	const sid = "SM6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b"
	tests := []struct {
		name string
		del  []string
		set  map[string]string
		want channels.StatusUpdate
	}{
		{
			name: "delivered",
			want: channels.StatusUpdate{MessageSID: sid, AccountSID: fixtureAccountSID, Status: channels.StatusDelivered},
		},
		{
			name: "MessageStatus wins over SmsStatus",
			set:  map[string]string{"MessageStatus": "read", "SmsStatus": "delivered"},
			want: channels.StatusUpdate{MessageSID: sid, AccountSID: fixtureAccountSID, Status: channels.StatusRead},
		},
		{
			name: "SmsStatus when MessageStatus is absent",
			del:  []string{"MessageStatus"},
			set:  map[string]string{"SmsStatus": "sent"},
			want: channels.StatusUpdate{MessageSID: sid, AccountSID: fixtureAccountSID, Status: channels.StatusSent},
		},
		{
			name: "SmsSid when MessageSid is absent",
			del:  []string{"MessageSid"},
			want: channels.StatusUpdate{MessageSID: sid, AccountSID: fixtureAccountSID, Status: channels.StatusDelivered},
		},
		{
			name: "failed with ErrorCode",
			set:  map[string]string{"MessageStatus": "failed", "SmsStatus": "failed", "ErrorCode": "63016"},
			want: channels.StatusUpdate{MessageSID: sid, AccountSID: fixtureAccountSID, Status: channels.StatusFailed, ErrorCode: 63016},
		},
		{
			name: "undelivered with ErrorCode",
			set:  map[string]string{"MessageStatus": "undelivered", "ErrorCode": "30008"},
			want: channels.StatusUpdate{MessageSID: sid, AccountSID: fixtureAccountSID, Status: channels.StatusUndelivered, ErrorCode: 30008},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := statusCallback()
			for _, k := range tc.del {
				delete(p, k)
			}
			for k, v := range tc.set {
				p[k] = v
			}
			got, err := channels.ParseStatus(p)
			if err != nil {
				t.Fatalf("ParseStatus: unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseStatus mismatch (-want +got):\n%s", diff(tc.want, got))
			}
		})
	}
}

func TestParseStatusMalformed(t *testing.T) {
	tests := []struct {
		name      string
		del       []string
		set       map[string]string
		wantField string
	}{
		{name: "missing MessageSid and SmsSid", del: []string{"MessageSid", "SmsSid"}, wantField: "MessageSid"},
		{name: "unknown status", set: map[string]string{"MessageStatus": "teleported"}, wantField: "MessageStatus"},
		{name: "inbound status received", set: map[string]string{"MessageStatus": "received"}, wantField: "MessageStatus"},
		{name: "no status at all", del: []string{"MessageStatus", "SmsStatus"}, wantField: "MessageStatus"},
		{name: "ErrorCode not a number", set: map[string]string{"MessageStatus": "failed", "ErrorCode": "30008a"}, wantField: "ErrorCode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := statusCallback()
			for _, k := range tc.del {
				delete(p, k)
			}
			for k, v := range tc.set {
				p[k] = v
			}
			_, err := channels.ParseStatus(p)
			if !errors.Is(err, channels.ErrMalformed) {
				t.Fatalf("ParseStatus error = %v, want one matching ErrMalformed", err)
			}
			var me *channels.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("errors.As(%v, *MalformedError) = false, want true", err)
			}
			if me.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (error %q)", me.Field, tc.wantField, err)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in         string
		want       channels.Address
		wantCh     channels.Channel
		wantNumber string
		wantTwilio string
		wantMasked string
	}{
		{
			in: "whatsapp:+27820000001", want: "whatsapp:+27820000001", wantCh: channels.WhatsApp,
			wantNumber: "+27820000001", wantTwilio: "whatsapp:+27820000001", wantMasked: "whatsapp:+2782*****01",
		},
		{
			in: "+27820000001", want: "sms:+27820000001", wantCh: channels.SMS,
			wantNumber: "+27820000001", wantTwilio: "+27820000001", wantMasked: "sms:+2782*****01",
		},
		{
			in: "+14155238886", want: "sms:+14155238886", wantCh: channels.SMS,
			wantNumber: "+14155238886", wantTwilio: "+14155238886", wantMasked: "sms:+1415*****86",
		},
		{
			// A short code: too short to mask partially, so all of it is hidden.
			in: "12345", want: "sms:12345", wantCh: channels.SMS,
			wantNumber: "12345", wantTwilio: "12345", wantMasked: "sms:*****",
		},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := channels.ParseAddress(tc.in)
			if err != nil {
				t.Fatalf("ParseAddress(%q): unexpected error %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseAddress(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if ch := got.Channel(); ch != tc.wantCh {
				t.Errorf("Channel() = %q, want %q", ch, tc.wantCh)
			}
			if n := got.Number(); n != tc.wantNumber {
				t.Errorf("Number() = %q, want %q", n, tc.wantNumber)
			}
			if tw := got.Twilio(); tw != tc.wantTwilio {
				t.Errorf("Twilio() = %q, want %q", tw, tc.wantTwilio)
			}
			if m := got.Masked(); m != tc.wantMasked {
				t.Errorf("Masked() = %q, want %q", m, tc.wantMasked)
			}
			// Twilio() is what ParseAddress reads: it must round-trip.
			again, err := channels.ParseAddress(got.Twilio())
			if err != nil || again != got {
				t.Errorf("ParseAddress(Twilio()) = %q, %v; want %q, nil", again, err, got)
			}
		})
	}
}

func TestParseAddressInvalid(t *testing.T) {
	for _, in := range []string{"", "whatsapp:", " ", "\t", "+27 820000001", "whatsapp:+27820000001\n", "whatsapp: +27820000001"} {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			got, err := channels.ParseAddress(in)
			if err == nil {
				t.Errorf("ParseAddress(%q) = %q, nil; want an error", in, got)
			}
			if got != "" {
				t.Errorf("ParseAddress(%q) address = %q, want empty on error", in, got)
			}
		})
	}
}

func TestMaskNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+27820000001", "+2782*****01"},
		{"+4915112345678", "+4915*******78"},
		{"12345678", "12345*78"},
		{"1234567", "*******"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := channels.MaskNumber(tc.in); got != tc.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
