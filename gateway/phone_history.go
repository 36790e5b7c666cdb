package gateway

import (
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// phoneHistoryLimit is how many of a number's last messages the phone shows.
const phoneHistoryLimit = 300

// phoneEntry is one message as the customer's phone shows it.
type phoneEntry struct {
	ID string `json:"id"`
	// Direction is "in" for what the customer wrote, "out" for what Parley
	// sent them.
	Direction engine.Direction `json:"direction"`
	// Body is the text; for a template, its preview with the variables
	// filled in, as the customer's WhatsApp shows it.
	Body     string             `json:"body,omitempty"`
	Template string             `json:"template,omitempty"`
	Media    []phoneMedia       `json:"media,omitempty"`
	Location *channels.Location `json:"location,omitempty"`
	Button   *channels.Button   `json:"button,omitempty"`
	// Status is the delivery state Parley recorded for an outbound
	// message, and Error why it failed.
	Status channels.Status `json:"status,omitempty"`
	Error  string          `json:"error,omitempty"`
	At     time.Time       `json:"at"`
}

type phoneMedia struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type,omitempty"`
}

// history returns what Parley stored for one number: every message in and
// out of its conversations, oldest first.
func (p *Phone) history(c *fiber.Ctx) error {
	from, err := phoneMessage{Channel: c.Query("channel"), Number: c.Query("number")}.address()
	if err != nil {
		return err
	}
	msgs, err := p.svc.CustomerView(c.UserContext(), from, phoneHistoryLimit)
	if err != nil {
		return errStoreDown
	}
	templates := p.svc.Rules().Templates
	out := make([]phoneEntry, 0, len(msgs))
	for _, m := range msgs {
		e := phoneEntry{ID: m.ID, Direction: m.Direction, Body: m.Body, Location: m.Location, Button: m.Button, At: m.At}
		if m.Direction == engine.DirOut {
			e.Status = m.Status
			if e.Status == "" {
				e.Status = channels.StatusQueued
			}
			if e.Status.Failed() {
				e.Error = m.ErrorReason
			}
		}
		if m.Template != nil {
			e.Template, e.Body = renderTemplate(templates, *m.Template)
		}
		for _, md := range m.Media {
			e.Media = append(e.Media, phoneMedia{URL: p.pageURL(md.URL), ContentType: md.ContentType})
		}
		out = append(out, e)
	}
	return c.JSON(fiber.Map{"messages": out})
}

// pageURL makes a URL on this server's public address relative, so the page
// loads it from wherever it was opened (localhost or the public name) and
// its policy's 'self' allows it as an image.
func (p *Phone) pageURL(u string) string {
	if base := p.verifier.URL(""); strings.HasPrefix(u, base+"/") {
		return u[len(base):]
	}
	return u
}

// placeholder is a template variable's mark in a preview: {{1}}.
var placeholder = regexp.MustCompile(`\{\{\s*([\w.-]+)\s*\}\}`)

// renderTemplate returns a template's name and its preview text with the
// variables filled in; a variable without a value keeps its mark. A
// template the settings do not know is shown by its Content SID and
// values, which is all Parley has of it.
func renderTemplate(known []config.Template, t channels.Template) (name, text string) {
	for _, k := range known {
		if k.ContentSID != t.ContentSID {
			continue
		}
		return k.Name, placeholder.ReplaceAllStringFunc(k.Preview, func(mark string) string {
			if v := t.Variables[placeholder.FindStringSubmatch(mark)[1]]; v != "" {
				return v
			}
			return mark
		})
	}
	var vals []string
	for _, k := range slices.Sorted(maps.Keys(t.Variables)) {
		vals = append(vals, "{{"+k+"}} = "+t.Variables[k])
	}
	text = "Template " + t.ContentSID
	if len(vals) > 0 {
		text += " (" + strings.Join(vals, ", ") + ")"
	}
	return t.ContentSID, text
}

// phoneReadMax bounds the messages one read receipt names.
const phoneReadMax = 100

// read sends WhatsApp's read receipts for messages the customer has seen:
// a signed "read" status callback for each, as Twilio would post when the
// customer opens the chat. Each id must be an outbound message to this
// number; one already read, not yet sent or failed is left as it is.
func (p *Phone) read(c *fiber.Ctx) error {
	var req struct {
		Channel string   `json:"channel"`
		Number  string   `json:"number"`
		IDs     []string `json:"ids"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	to, err := phoneMessage{Channel: req.Channel, Number: req.Number}.address()
	if err != nil {
		return err
	}
	switch {
	case to.Channel() != channels.WhatsApp:
		return badPhone("bad_channel", "channel: read receipts are WhatsApp's; SMS has none")
	case len(req.IDs) == 0 || len(req.IDs) > phoneReadMax:
		return badPhone("bad_ids", "ids: want 1 to 100 message ids")
	}
	read := 0
	for _, id := range req.IDs {
		m, err := p.ownMessage(c, to, id)
		if err != nil {
			return err
		}
		if m.SID == "" || m.Status.Failed() || m.Status == channels.StatusRead {
			continue
		}
		params := map[string]string{
			"MessageSid": m.SID, "SmsSid": m.SID, "MessageStatus": string(channels.StatusRead), "AccountSid": p.accountSID,
			"To": to.Twilio(), "From": channels.Address(string(to.Channel()) + ":" + p.business).Twilio(),
		}
		status, err := p.post(c, channels.StatusCallbackFor("/webhooks/twilio/status", m.ID), params)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return newError(http.StatusBadGateway, "status_refused", "the status webhook answered "+http.StatusText(status))
		}
		read++
	}
	return c.JSON(fiber.Map{"read": read})
}

// ownMessage returns an outbound message Parley sent to this number; any
// other id is 404, as one that does not exist.
func (p *Phone) ownMessage(c *fiber.Ctx, to channels.Address, id string) (engine.Message, error) {
	store := p.svc.Store()
	m, err := store.Message(c.UserContext(), id)
	if errors.Is(err, engine.ErrNotFound) {
		return m, errNotFound
	}
	if err != nil {
		return m, errStoreDown
	}
	if m.Direction != engine.DirOut {
		return m, errNotFound
	}
	conv, err := store.Conversation(c.UserContext(), m.ConversationID)
	if errors.Is(err, engine.ErrNotFound) || (err == nil && conv.Contact != to) {
		return m, errNotFound
	}
	if err != nil {
		return m, errStoreDown
	}
	return m, nil
}
