package channels_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/parleydesk/parley/channels"
)

// TestContentTemplatesReadsEveryPage: the listing is followed through
// Twilio's absolute next_page_url (rewritten to the API URL), the preview is
// the text body before other types', and an approval nested under
// "whatsapp" is read as one given flat.
func TestContentTemplatesReadsEveryPage(t *testing.T) {
	pages := []string{
		`{"contents":[{"sid":"HX1","friendly_name":"card","language":"en","variables":{"1":"Ann"},
		   "types":{"twilio/card":{"body":"card body"},"twilio/text":{"body":"Hi {{1}}"}},
		   "approval_requests":{"status":"APPROVED","category":"UTILITY","rejection_reason":""}}],
		  "meta":{"next_page_url":"https://content.twilio.com/v1/ContentAndApprovals?Page=1&PageToken=PT1","key":"contents"}}`,
		`{"contents":[{"sid":"HX2","friendly_name":"promo","types":{"whatsapp/card":{"body":"Sale"}},
		   "approval_requests":{"whatsapp":{"status":"rejected","category":"MARKETING","rejection_reason":"too pushy"}}},
		  {"sid":"HX3","friendly_name":"draft","types":{"twilio/media":{"body":"See this","media":["https://x/y.png"]}}}],
		  "meta":{"next_page_url":null,"key":"contents"}}`,
	}
	var auth []bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		auth = append(auth, ok && user == testAccountSID && pass == testAuthToken)
		if r.URL.Path != "/v1/ContentAndApprovals" {
			http.NotFound(w, r)
			return
		}
		page := 0
		if r.URL.Query().Get("Page") == "1" {
			page = 1
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(pages[page]))
	}))
	defer srv.Close()
	tw, err := channels.NewTwilio(channels.TwilioConfig{AccountSID: testAccountSID, AuthToken: testAuthToken, APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tw.ContentTemplates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []channels.ContentTemplate{
		{SID: "HX1", Name: "card", Language: "en", Types: []string{"twilio/card", "twilio/text"}, Variables: map[string]string{"1": "Ann"},
			Body: "Hi {{1}}", Status: "approved", Category: "UTILITY"},
		{SID: "HX2", Name: "promo", Types: []string{"whatsapp/card"}, Variables: map[string]string{}, Body: "Sale",
			Status: "rejected", Category: "MARKETING", Rejection: "too pushy"},
		{SID: "HX3", Name: "draft", Types: []string{"twilio/media"}, Variables: map[string]string{}, Body: "See this", Status: "unsubmitted"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(auth, []bool{true, true}) {
		t.Errorf("basic auth on the two pages: %v", auth)
	}
}

func TestCheckQuickReply(t *testing.T) {
	for _, c := range []struct {
		body    string
		buttons []string
		want    string // part of the error; "" for none
	}{
		{"Pick one", []string{"hours", "agent"}, ""},
		{"Pick one", []string{"a", "b", "c"}, ""},
		{"Pick one", []string{"a", "b", "c", "d"}, "1 to 3 buttons"},
		{"Pick one", nil, "1 to 3 buttons"},
		{"", []string{"a"}, "need a body"},
		{strings.Repeat("x", 1025), []string{"a"}, "1024 characters"},
		{"Pick one", []string{"twenty-one characters"}, "1 to 20 characters, got 21"},
		{"Pick one", []string{"ünïcödé ünïcödé ünïc"}, ""}, // 20 characters, more bytes
		{"Pick one", []string{"same", "same"}, "repeats"},
	} {
		err := channels.CheckQuickReply(c.body, c.buttons)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q %q: %v, want none", c.body, c.buttons, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q %q: %v, want %q", c.body, c.buttons, err, c.want)
		}
	}
}
