package channels_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parleydesk/parley/channels"
)

// The SIDs used in the fixtures under testdata/.
const (
	fixtureAccountSID = "ACf2b8a41c6e0d49a7b3c5e9d1a0f47c28"
	fixtureServiceSID = "MG4c1e8a0b7d2f4e6a9c3b5d7e1f0a2b48"
)

// loadForm reads a Twilio webhook body from testdata and flattens it the way
// the gateway does: one value per name, the first one.
func loadForm(t *testing.T, name string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	values, err := url.ParseQuery(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("fixture %s is not x-www-form-urlencoded: %v", name, err)
	}
	params := make(map[string]string, len(values))
	for k, v := range values {
		params[k] = v[0]
	}
	return params
}

// diff renders want and got as indented JSON and returns their line diff in
// "(-want +got)" form, or "" when they render the same.
func diff(want, got any) string {
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return "cannot render want: " + err.Error()
	}
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		return "cannot render got: " + err.Error()
	}
	return lineDiff(strings.Split(string(w), "\n"), strings.Split(string(g), "\n"))
}

// lineDiff is a longest-common-subsequence line diff.
func lineDiff(a, b []string) string {
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	changed := false
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i++
			j++
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+ " + b[j] + "\n")
			changed = true
			j++
		default:
			out.WriteString("- " + a[i] + "\n")
			changed = true
			i++
		}
	}
	if !changed {
		return ""
	}
	return out.String()
}

func TestParseInboundFixtures(t *testing.T) {
	const mediaBase = "https://api.twilio.com/2010-04-01/Accounts/" + fixtureAccountSID + "/Messages/MM3b7d9f1a5c2e4b6d8f0a1c3e5b7d9f2a/Media/"
	tests := []struct {
		file        string
		want        channels.Inbound
		wantChannel channels.Channel
	}{
		{
			file: "whatsapp_text.form",
			want: channels.Inbound{
				MessageSID:  "SM9e4a2c7b1d3f5e8a0c6b4d2f1e3a5c7b",
				AccountSID:  fixtureAccountSID,
				From:        "whatsapp:+27820000001",
				To:          "whatsapp:+14155238886",
				Body:        "Hi, my order #4471 hasn't arrived yet. Can you check?",
				ProfileName: "Thandi Mokoena",
				WaID:        "27820000001",
				NumSegments: 1,
			},
			wantChannel: channels.WhatsApp,
		},
		{
			file: "whatsapp_media.form",
			want: channels.Inbound{
				MessageSID:  "MM3b7d9f1a5c2e4b6d8f0a1c3e5b7d9f2a",
				AccountSID:  fixtureAccountSID,
				From:        "whatsapp:+27820000001",
				To:          "whatsapp:+14155238886",
				Body:        "Here is the receipt and the photo",
				ProfileName: "Thandi Mokoena",
				WaID:        "27820000001",
				Media: []channels.Media{
					{URL: mediaBase + "ME1a2b3c4d5e6f708192a3b4c5d6e7f809", ContentType: "image/jpeg"},
					{URL: mediaBase + "ME9f8e7d6c5b4a39281706f5e4d3c2b1a0", ContentType: "application/pdf"},
				},
				NumSegments: 1,
			},
			wantChannel: channels.WhatsApp,
		},
		{
			file: "whatsapp_location.form",
			want: channels.Inbound{
				MessageSID:  "SM0c2e4a6b8d1f3e5a7c9b0d2f4e6a8c1b",
				AccountSID:  fixtureAccountSID,
				From:        "whatsapp:+27831234567",
				To:          "whatsapp:+14155238886",
				ProfileName: "Sipho",
				WaID:        "27831234567",
				Location: &channels.Location{
					Latitude:  -33.9249,
					Longitude: 18.4241,
					Address:   "Adderley St, Cape Town City Centre, 8000",
					Label:     "Cape Town Station",
				},
				NumSegments: 1,
			},
			wantChannel: channels.WhatsApp,
		},
		{
			file: "whatsapp_button.form",
			want: channels.Inbound{
				MessageSID:  "SM5d7f9b1c3e5a7d9f1b3c5e7a9d1f3b5c",
				AccountSID:  fixtureAccountSID,
				From:        "whatsapp:+27820000001",
				To:          "whatsapp:+14155238886",
				Body:        "Yes, reschedule",
				ProfileName: "Thandi Mokoena",
				WaID:        "27820000001",
				Button:      &channels.Button{Text: "Yes, reschedule", Payload: "reschedule_yes"},
				ReplyTo:     "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
				NumSegments: 1,
			},
			wantChannel: channels.WhatsApp,
		},
		{
			file: "sms_text.form",
			want: channels.Inbound{
				MessageSID:  "SMe8c6a4b2d0f1e3c5a7b9d1f3e5c7a9b2",
				AccountSID:  fixtureAccountSID,
				From:        "sms:+27820000001",
				To:          "sms:+15005550006",
				Body:        "When does the store open on Saturday? I'd like to collect a parcel & pay in cash.",
				NumSegments: 2,
			},
			wantChannel: channels.SMS,
		},
		{
			file: "sms_stop.form",
			want: channels.Inbound{
				MessageSID:  "SM2f4b6d8a0c1e3f5b7d9a2c4e6f8b0d3a",
				AccountSID:  fixtureAccountSID,
				From:        "sms:+27820000001",
				To:          "sms:+15005550006",
				Body:        "Stop",
				OptOutType:  "STOP",
				NumSegments: 1,
			},
			wantChannel: channels.SMS,
		},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".form"), func(t *testing.T) {
			params := loadForm(t, tc.file)
			// The fixtures must look like what Twilio really sends.
			for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid", "AccountSid", "From", "To", "NumMedia", "NumSegments", "MessagingServiceSid"} {
				if _, ok := params[k]; !ok {
					t.Fatalf("fixture lacks Twilio field %s", k)
				}
			}
			if params["ApiVersion"] != "2010-04-01" || params["SmsStatus"] != "received" {
				t.Fatalf("fixture ApiVersion=%q SmsStatus=%q, want 2010-04-01 and received", params["ApiVersion"], params["SmsStatus"])
			}

			got, err := channels.ParseInbound(params)
			if err != nil {
				t.Fatalf("ParseInbound: unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseInbound mismatch (-want +got):\n%s", diff(tc.want, got))
			}
			if ch := got.Channel(); ch != tc.wantChannel {
				t.Errorf("Channel() = %q, want %q", ch, tc.wantChannel)
			}
		})
	}
}

// TestParseInboundSIDFallback checks that a webhook carrying only the legacy
// SmsMessageSid is still identified.
func TestParseInboundSIDFallback(t *testing.T) {
	params := loadForm(t, "sms_text.form")
	delete(params, "MessageSid")
	got, err := channels.ParseInbound(params)
	if err != nil {
		t.Fatalf("ParseInbound: unexpected error %v", err)
	}
	if want := "SMe8c6a4b2d0f1e3c5a7b9d1f3e5c7a9b2"; got.MessageSID != want {
		t.Errorf("MessageSID = %q, want %q (from SmsMessageSid)", got.MessageSID, want)
	}
}

// TestParseInboundOptionalTo checks that To may be absent.
func TestParseInboundOptionalTo(t *testing.T) {
	params := loadForm(t, "whatsapp_text.form")
	delete(params, "To")
	got, err := channels.ParseInbound(params)
	if err != nil {
		t.Fatalf("ParseInbound: unexpected error %v", err)
	}
	if got.To != "" || got.From != "whatsapp:+27820000001" {
		t.Errorf("To, From = %q, %q; want \"\", %q", got.To, got.From, "whatsapp:+27820000001")
	}
}

func TestParseInboundMalformed(t *testing.T) {
	tests := []struct {
		name      string
		fixture   string
		del       []string
		set       map[string]string
		wantField string
	}{
		{name: "missing MessageSid", fixture: "whatsapp_text.form", del: []string{"MessageSid", "SmsMessageSid"}, wantField: "MessageSid"},
		{name: "MessageSid too long", fixture: "whatsapp_text.form", del: []string{"SmsMessageSid"}, set: map[string]string{"MessageSid": "SM" + strings.Repeat("a", 63)}, wantField: "MessageSid"},
		{name: "missing From", fixture: "whatsapp_text.form", del: []string{"From"}, wantField: "From"},
		{name: "From with white space", fixture: "sms_text.form", set: map[string]string{"From": "+27 82 000 0001"}, wantField: "From"},
		{name: "From bare whatsapp prefix", fixture: "whatsapp_text.form", set: map[string]string{"From": "whatsapp:"}, wantField: "From"},
		{name: "From on whatsapp, To on sms", fixture: "whatsapp_text.form", set: map[string]string{"To": "+14155238886"}, wantField: "To"},
		{name: "From on sms, To on whatsapp", fixture: "sms_text.form", set: map[string]string{"To": "whatsapp:+15005550006"}, wantField: "To"},
		{name: "NumMedia 11", fixture: "whatsapp_media.form", set: map[string]string{"NumMedia": "11"}, wantField: "NumMedia"},
		{name: "NumMedia not a number", fixture: "whatsapp_media.form", set: map[string]string{"NumMedia": "two"}, wantField: "NumMedia"},
		{name: "NumMedia negative", fixture: "whatsapp_media.form", set: map[string]string{"NumMedia": "-1"}, wantField: "NumMedia"},
		{name: "NumMedia 1 without MediaUrl0", fixture: "whatsapp_text.form", set: map[string]string{"NumMedia": "1"}, wantField: "MediaUrl0"},
		{name: "NumMedia 3 with two urls", fixture: "whatsapp_media.form", set: map[string]string{"NumMedia": "3"}, wantField: "MediaUrl2"},
		{name: "MediaUrl0 not http", fixture: "whatsapp_media.form", set: map[string]string{"MediaUrl0": "ftp://api.twilio.com/x"}, wantField: "MediaUrl0"},
		{name: "bad latitude", fixture: "whatsapp_location.form", set: map[string]string{"Latitude": "-33,9249"}, wantField: "Latitude"},
		{name: "latitude out of range", fixture: "whatsapp_location.form", set: map[string]string{"Latitude": "91"}, wantField: "Latitude"},
		{name: "latitude NaN", fixture: "whatsapp_location.form", set: map[string]string{"Latitude": "NaN"}, wantField: "Latitude"},
		{name: "latitude without longitude", fixture: "whatsapp_location.form", del: []string{"Longitude"}, wantField: "Longitude"},
		{name: "longitude out of range", fixture: "whatsapp_location.form", set: map[string]string{"Longitude": "180.5"}, wantField: "Longitude"},
		{name: "longitude NaN", fixture: "whatsapp_location.form", set: map[string]string{"Longitude": "nan"}, wantField: "Longitude"},
		{name: "NumSegments not a number", fixture: "sms_text.form", set: map[string]string{"NumSegments": "x"}, wantField: "NumSegments"},
		{name: "empty body, no media", fixture: "whatsapp_text.form", set: map[string]string{"Body": ""}, wantField: "Body"},
		{name: "empty body, NumMedia 0, no location", fixture: "whatsapp_location.form", del: []string{"Latitude", "Longitude"}, wantField: "Body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := loadForm(t, tc.fixture)
			for _, k := range tc.del {
				delete(params, k)
			}
			for k, v := range tc.set {
				params[k] = v
			}
			_, err := channels.ParseInbound(params)
			if err == nil {
				t.Fatalf("ParseInbound: got no error, want a malformed %s", tc.wantField)
			}
			if !errors.Is(err, channels.ErrMalformed) {
				t.Errorf("errors.Is(%v, ErrMalformed) = false, want true", err)
			}
			var me *channels.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("errors.As(%v, *MalformedError) = false, want true", err)
			}
			if me.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (error %q)", me.Field, tc.wantField, err)
			}
			if me.Reason == "" {
				t.Errorf("Reason is empty")
			}
			if want := tc.wantField + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
		})
	}
}
