package channels

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxMedia is the most media items Twilio attaches to one message.
const MaxMedia = 10

// Inbound is one message a contact sent, as Twilio's messaging webhook
// describes it.
type Inbound struct {
	MessageSID  string  `json:"message_sid"`
	AccountSID  string  `json:"account_sid"`
	From        Address `json:"from"`
	To          Address `json:"to"`
	Body        string  `json:"body"`
	ProfileName string  `json:"profile_name,omitempty"`
	WaID        string  `json:"wa_id,omitempty"`
	Media       []Media `json:"media,omitempty"`
	// Location is set when a WhatsApp user shares a location.
	Location *Location `json:"location,omitempty"`
	// Button is set when the message is a tap on a quick-reply button.
	Button *Button `json:"button,omitempty"`
	// ReplyTo is the SID of the message this one answers (WhatsApp context).
	ReplyTo     string `json:"reply_to,omitempty"`
	OptOutType  string `json:"opt_out_type,omitempty"`
	NumSegments int    `json:"num_segments,omitempty"`
}

// Media is one attachment, hosted by Twilio.
type Media struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// Location is a shared place.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Address   string  `json:"address,omitempty"`
	Label     string  `json:"label,omitempty"`
}

// Button is a quick-reply tap: the text shown and the payload the business set.
type Button struct {
	Text    string `json:"text"`
	Payload string `json:"payload,omitempty"`
}

// Channel is the channel the message came in on.
func (m Inbound) Channel() Channel { return m.From.Channel() }

// MalformedError says which field of a webhook is missing or wrong.
type MalformedError struct {
	Field  string
	Reason string
}

func (e *MalformedError) Error() string { return e.Field + ": " + e.Reason }

// ErrMalformed is the class of every MalformedError, for errors.Is.
var ErrMalformed = errors.New("malformed webhook")

func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(field, reason string) error { return &MalformedError{Field: field, Reason: reason} }

// ParseInbound reads an incoming-message webhook's form parameters.
func ParseInbound(p map[string]string) (Inbound, error) {
	var m Inbound
	m.MessageSID = p["MessageSid"]
	if m.MessageSID == "" {
		m.MessageSID = p["SmsMessageSid"]
	}
	if m.MessageSID == "" {
		return m, malformed("MessageSid", "missing")
	}
	if len(m.MessageSID) > 64 {
		return m, malformed("MessageSid", "longer than 64 characters")
	}
	if p["From"] == "" {
		return m, malformed("From", "missing")
	}
	var err error
	if m.From, err = ParseAddress(p["From"]); err != nil {
		return m, malformed("From", err.Error())
	}
	if p["To"] != "" {
		if m.To, err = ParseAddress(p["To"]); err != nil {
			return m, malformed("To", err.Error())
		}
		if m.To.Channel() != m.From.Channel() {
			return m, malformed("To", "on a different channel from From")
		}
	}
	m.AccountSID = p["AccountSid"]
	m.Body = p["Body"]
	m.ProfileName = p["ProfileName"]
	m.WaID = p["WaId"]
	m.ReplyTo = p["OriginalRepliedMessageSid"]
	m.OptOutType = p["OptOutType"]
	if m.NumSegments, err = optionalInt(p, "NumSegments"); err != nil {
		return m, err
	}
	if m.Media, err = parseMedia(p); err != nil {
		return m, err
	}
	if m.Location, err = parseLocation(p); err != nil {
		return m, err
	}
	if text := p["ButtonText"]; text != "" || p["ButtonPayload"] != "" {
		m.Button = &Button{Text: text, Payload: p["ButtonPayload"]}
	}
	if m.Body == "" && len(m.Media) == 0 && m.Location == nil && m.Button == nil {
		return m, malformed("Body", "empty, and the message carries no media, location or button")
	}
	return m, nil
}

func optionalInt(p map[string]string, field string) (int, error) {
	v := p[field]
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, malformed(field, fmt.Sprintf("not a count: %q", v))
	}
	return n, nil
}

func parseMedia(p map[string]string) ([]Media, error) {
	n, err := optionalInt(p, "NumMedia")
	if err != nil {
		return nil, err
	}
	if n > MaxMedia {
		return nil, malformed("NumMedia", fmt.Sprintf("%d is more than %d", n, MaxMedia))
	}
	media := make([]Media, 0, n)
	for i := range n {
		u := p["MediaUrl"+strconv.Itoa(i)]
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return nil, malformed("MediaUrl"+strconv.Itoa(i), "missing or not an http(s) URL")
		}
		media = append(media, Media{URL: u, ContentType: p["MediaContentType"+strconv.Itoa(i)]})
	}
	if len(media) == 0 {
		return nil, nil
	}
	return media, nil
}

func parseLocation(p map[string]string) (*Location, error) {
	lat, lon := p["Latitude"], p["Longitude"]
	if lat == "" && lon == "" {
		return nil, nil
	}
	la, err := strconv.ParseFloat(lat, 64)
	if err != nil || !(la >= -90 && la <= 90) { // written so that NaN fails too
		return nil, malformed("Latitude", fmt.Sprintf("not a latitude: %q", lat))
	}
	lo, err := strconv.ParseFloat(lon, 64)
	if err != nil || !(lo >= -180 && lo <= 180) {
		return nil, malformed("Longitude", fmt.Sprintf("not a longitude: %q", lon))
	}
	return &Location{Latitude: la, Longitude: lo, Address: p["Address"], Label: p["Label"]}, nil
}
