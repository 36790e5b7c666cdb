package channels

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	contentv1 "github.com/twilio/twilio-go/rest/content/v1"
)

// Twilio's Content API (content.twilio.com): the account's templates with
// their WhatsApp approvals, and the quick-reply resources bot buttons are
// sent with. The calls share the client of the sends, so
// PARLEY_TWILIO_API_URL redirects this host too.

// ContentTemplate is one content resource as the Content API lists it.
type ContentTemplate struct {
	SID      string
	Name     string // friendly_name
	Language string
	// Types are the content types it has (twilio/text, twilio/quick-reply, ...), sorted.
	Types []string
	// Variables maps each variable ("1", "2", ...) to its sample value.
	Variables map[string]string
	// Body is the text of its first type that has one, for a preview.
	Body string
	// Status, Category and Rejection are WhatsApp's approval, lower-case
	// status ("unsubmitted" when never submitted).
	Status, Category, Rejection string
}

// ContentTemplates lists every content resource of the account with its
// WhatsApp approval, following Twilio's pages to the end.
func (t *Twilio) ContentTemplates(_ context.Context) ([]ContentTemplate, error) {
	p := &contentv1.ListContentAndApprovalsParams{}
	p.SetPageSize(100)
	items, err := t.rest.ContentV1.ListContentAndApprovals(p)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]ContentTemplate, 0, len(items))
	for _, it := range items {
		ct := ContentTemplate{SID: deref(it.Sid), Name: deref(it.FriendlyName), Language: deref(it.Language), Variables: map[string]string{}}
		if it.Variables != nil {
			for k, v := range *it.Variables {
				ct.Variables[k] = fmt.Sprint(v)
			}
		}
		if it.Types != nil {
			ct.Types, ct.Body = contentBody(*it.Types)
		}
		if it.ApprovalRequests != nil {
			ct.Status, ct.Category, ct.Rejection = approvalOf(*it.ApprovalRequests)
		}
		if ct.Status == "" {
			ct.Status = "unsubmitted"
		}
		out = append(out, ct)
	}
	return out, nil
}

// bodyOrder is where a preview's text is looked for first.
var bodyOrder = []string{"twilio/text", "twilio/media", "twilio/quick-reply", "twilio/call-to-action", "twilio/card", "whatsapp/card", "twilio/list-picker"}

// contentBody returns the sorted type names and the preview text: the body
// of the first type in bodyOrder that has one, else of any type.
func contentBody(types map[string]any) ([]string, string) {
	names := make([]string, 0, len(types))
	for name := range types {
		names = append(names, name)
	}
	sort.Strings(names)
	bodyOf := func(name string) string {
		m, _ := types[name].(map[string]any)
		b, _ := m["body"].(string)
		return b
	}
	for _, name := range bodyOrder {
		if b := bodyOf(name); b != "" {
			return names, b
		}
	}
	for _, name := range names {
		if b := bodyOf(name); b != "" {
			return names, b
		}
	}
	return names, ""
}

// approvalOf reads WhatsApp's approval from a listing's approval_requests,
// which is the WhatsApp approval itself or holds it under "whatsapp".
func approvalOf(a map[string]any) (status, category, rejection string) {
	if w, ok := a["whatsapp"].(map[string]any); ok {
		a = w
	}
	str := func(k string) string { s, _ := a[k].(string); return s }
	return strings.ToLower(str("status")), str("category"), str("rejection_reason")
}

// WhatsApp's limits for quick replies sent inside the 24-hour window
// without approval (Twilio's twilio/quick-reply content type).
const (
	QuickReplyMaxButtons = 3
	QuickReplyMaxTitle   = 20
	QuickReplyMaxBody    = 1024
)

// CheckQuickReply tells why a set of buttons cannot go as WhatsApp quick
// replies, nil when it can.
func CheckQuickReply(body string, buttons []string) error {
	switch {
	case strings.TrimSpace(body) == "":
		return fmt.Errorf("WhatsApp quick replies need a body")
	case utf8.RuneCountInString(body) > QuickReplyMaxBody:
		return fmt.Errorf("WhatsApp quick replies take a body of at most %d characters", QuickReplyMaxBody)
	case len(buttons) == 0 || len(buttons) > QuickReplyMaxButtons:
		return fmt.Errorf("WhatsApp quick replies take 1 to %d buttons inside the 24-hour window, got %d", QuickReplyMaxButtons, len(buttons))
	}
	for i, b := range buttons {
		if n := utf8.RuneCountInString(b); n == 0 || n > QuickReplyMaxTitle {
			return fmt.Errorf("WhatsApp quick-reply button %d %q: 1 to %d characters, got %d", i+1, b, QuickReplyMaxTitle, n)
		}
		if slices.Contains(buttons[:i], b) {
			return fmt.Errorf("WhatsApp quick-reply button %d %q repeats another", i+1, b)
		}
	}
	return nil
}

// CreateQuickReply creates a twilio/quick-reply content resource with a
// twilio/text fallback (the numbered list, for channels without buttons)
// and returns its SID. Each button's id is its title, so a tap reaches
// Parley as the same text whichever of ButtonText and ButtonPayload is read.
func (t *Twilio) CreateQuickReply(_ context.Context, name, body string, buttons []string, fallback string) (string, error) {
	actions := make([]contentv1.QuickReplyAction, len(buttons))
	for i, b := range buttons {
		actions[i] = contentv1.QuickReplyAction{Title: b, Id: b}
	}
	p := &contentv1.CreateContentParams{}
	p.SetContentCreateRequest(contentv1.ContentCreateRequest{
		FriendlyName: name, Language: "en",
		Types: contentv1.Types{
			TwilioQuickReply: &contentv1.TwilioQuickReply{Body: body, Actions: actions},
			TwilioText:       &contentv1.TwilioText{Body: fallback},
		},
	})
	c, err := t.rest.ContentV1.CreateContent(p)
	if err != nil {
		return "", classify(err)
	}
	sid := deref(c.Sid)
	if !strings.HasPrefix(sid, "HX") {
		return "", &SendError{Message: "Twilio created the quick-reply content but returned no HX SID"}
	}
	return sid, nil
}
