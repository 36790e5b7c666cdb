package channels

import (
	"errors"
	"time"
)

// WhatsAppWindow is how long after a customer's last message a business may
// answer on WhatsApp with free text. Outside it only an approved template
// may be sent.
const WhatsAppWindow = 24 * time.Hour

var (
	// ErrTemplateRequired refuses free text to a WhatsApp contact whose
	// 24-hour window is closed.
	ErrTemplateRequired = errors.New("the WhatsApp 24-hour window is closed: only an approved template can be sent")
	// ErrOptedOut refuses any send to a contact who opted out.
	ErrOptedOut = errors.New("the contact has opted out of messages")
	// ErrUnreachable: an earlier send found the number cannot receive
	// messages; it is written to again once the customer writes.
	ErrUnreachable = errors.New("the number could not receive an earlier message: waiting for the customer to write")
)

// WindowOpen reports whether the 24-hour window opened by the contact's last
// inbound message (zero if none) is still open at now.
func WindowOpen(lastInbound, now time.Time) bool {
	return !lastInbound.IsZero() && now.Before(lastInbound.Add(WhatsAppWindow))
}

// CheckSend applies the channel rules to one outbound message before the
// provider is called: nothing to an opted-out contact, and on WhatsApp free
// text only inside the window (templates are always allowed).
func CheckSend(to Address, template bool, optedOut bool, lastInbound, now time.Time) error {
	if optedOut {
		return ErrOptedOut
	}
	if to.Channel() == WhatsApp && !template && !WindowOpen(lastInbound, now) {
		return ErrTemplateRequired
	}
	return nil
}
