package channels

import (
	"errors"
	"fmt"
	"strings"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	messagingv1 "github.com/twilio/twilio-go/rest/messaging/v1"
	messagingv2 "github.com/twilio/twilio-go/rest/messaging/v2"
)

// The wiring of an account: where Twilio sends the messages customers write
// to a number, a WhatsApp sender or a Messaging Service. `parley twilio
// check` reads it and, asked to, sets it. Every call goes through the same
// client as sends, so PARLEY_TWILIO_API_URL redirects these hosts too
// (api, messaging).

// ErrNotOnAccount is a number, sender or service this account does not have.
var ErrNotOnAccount = errors.New("not found on this Twilio account")

// Webhook is where and how Twilio delivers inbound messages.
type Webhook struct {
	URL    string
	Method string
}

// Wire kinds.
const (
	WirePhoneNumber      = "phone number"
	WireWhatsAppSender   = "WhatsApp sender"
	WireMessagingService = "Messaging Service"
)

// Wire is one resource an inbound webhook hangs on.
type Wire struct {
	Kind string
	SID  string
	Name string // the number, sender id or service name
	Hook Webhook
	// DefersToNumbers: a Messaging Service that hands each message to its
	// number's own webhook, so its own URL does not matter.
	DefersToNumbers bool
}

// Account fetches the account: it proves the credentials work.
func (t *Twilio) Account() (name, status string, err error) {
	a, err := t.rest.Api.FetchAccount(t.cfg.AccountSID)
	if err != nil {
		return "", "", classify(err)
	}
	return deref(a.FriendlyName), deref(a.Status), nil
}

// PhoneNumber finds one of the account's numbers (E.164).
func (t *Twilio) PhoneNumber(e164 string) (Wire, error) {
	p := &openapi.ListIncomingPhoneNumberParams{}
	p.SetPhoneNumber(e164)
	p.SetPageSize(20)
	p.SetLimit(20)
	nums, err := t.rest.Api.ListIncomingPhoneNumber(p)
	if err != nil {
		return Wire{}, classify(err)
	}
	for _, n := range nums {
		if deref(n.PhoneNumber) == e164 {
			return Wire{Kind: WirePhoneNumber, SID: deref(n.Sid), Name: e164,
				Hook: Webhook{URL: deref(n.SmsUrl), Method: deref(n.SmsMethod)}}, nil
		}
	}
	return Wire{}, fmt.Errorf("%s %s: %w", WirePhoneNumber, e164, ErrNotOnAccount)
}

// WhatsAppSender finds a registered WhatsApp sender (whatsapp:+...). The
// WhatsApp sandbox's shared number is not one.
func (t *Twilio) WhatsAppSender(addr string) (Wire, error) {
	p := &messagingv2.ListChannelsSenderParams{}
	p.SetChannel("whatsapp")
	senders, err := t.rest.MessagingV2.ListChannelsSender(p)
	if err != nil {
		return Wire{}, classify(err)
	}
	for _, s := range senders {
		if deref(s.SenderId) != addr {
			continue
		}
		w := Wire{Kind: WireWhatsAppSender, SID: deref(s.Sid), Name: addr}
		if s.Webhook != nil {
			w.Hook = Webhook{URL: deref(s.Webhook.CallbackUrl), Method: deref(s.Webhook.CallbackMethod)}
		}
		return w, nil
	}
	return Wire{}, fmt.Errorf("%s %s: %w", WireWhatsAppSender, addr, ErrNotOnAccount)
}

// MessagingService fetches a Messaging Service (MG...).
func (t *Twilio) MessagingService(sid string) (Wire, error) {
	s, err := t.rest.MessagingV1.FetchService(sid)
	if err != nil {
		var se *SendError
		if errors.As(classify(err), &se) && se.HTTPStatus == 404 {
			return Wire{}, fmt.Errorf("%s %s: %w", WireMessagingService, sid, ErrNotOnAccount)
		}
		return Wire{}, classify(err)
	}
	return Wire{Kind: WireMessagingService, SID: sid, Name: deref(s.FriendlyName),
		Hook:            Webhook{URL: deref(s.InboundRequestUrl), Method: deref(s.InboundMethod)},
		DefersToNumbers: s.UseInboundWebhookOnNumber != nil && *s.UseInboundWebhookOnNumber}, nil
}

// SetWebhook points w's inbound messages at hook.
func (t *Twilio) SetWebhook(w Wire, hook Webhook) error {
	var err error
	switch w.Kind {
	case WirePhoneNumber:
		p := &openapi.UpdateIncomingPhoneNumberParams{}
		p.SetSmsUrl(hook.URL)
		p.SetSmsMethod(hook.Method)
		_, err = t.rest.Api.UpdateIncomingPhoneNumber(w.SID, p)
	case WireWhatsAppSender:
		p := &messagingv2.UpdateChannelsSenderParams{}
		p.SetMessagingV2Update(messagingv2.MessagingV2Update{
			Webhook: &messagingv2.MessagingV2Webhook{CallbackUrl: &hook.URL, CallbackMethod: &hook.Method},
		})
		_, err = t.rest.MessagingV2.UpdateChannelsSender(w.SID, p)
	case WireMessagingService:
		p := &messagingv1.UpdateServiceParams{}
		p.SetInboundRequestUrl(hook.URL)
		p.SetInboundMethod(hook.Method)
		_, err = t.rest.MessagingV1.UpdateService(w.SID, p)
	default:
		return fmt.Errorf("set webhook: unknown kind %q", w.Kind)
	}
	if err != nil {
		return classify(err)
	}
	return nil
}

// Matches reports whether h delivers to want: the same URL (a fragment,
// such as Twilio's connection overrides #rc=3&rp=all, aside) and method.
func (h Webhook) Matches(want Webhook) bool {
	got, _, _ := strings.Cut(h.URL, "#")
	return got == want.URL && strings.EqualFold(h.Method, want.Method)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
