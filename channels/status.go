package channels

import (
	"net/url"
	"strconv"
)

// Status is an outbound message's delivery state, with Twilio's names.
type Status string

const (
	StatusQueued      Status = "queued"
	StatusSending     Status = "sending"
	StatusSent        Status = "sent"
	StatusDelivered   Status = "delivered"
	StatusRead        Status = "read"
	StatusUndelivered Status = "undelivered"
	StatusFailed      Status = "failed"
)

// Rank orders statuses along a message's life so that a callback arriving
// late never moves a message backwards: a "sent" after "delivered" is
// ignored. Failure ranks with delivery: both end the message's journey, and
// only "read" comes after them. Unknown statuses rank 0 and never apply.
func Rank(s Status) int {
	switch s {
	case "accepted", "scheduled", StatusQueued:
		return 1
	case StatusSending:
		return 2
	case StatusSent:
		return 3
	case StatusDelivered, StatusUndelivered, StatusFailed:
		return 4
	case StatusRead:
		return 5
	}
	return 0
}

// Advances reports whether moving from old to next is forward progress.
func Advances(old, next Status) bool { return Rank(next) > Rank(old) }

// Failed reports whether the status means the message did not arrive.
func (s Status) Failed() bool { return s == StatusFailed || s == StatusUndelivered }

// StatusUpdate is one delivery-status callback from Twilio.
type StatusUpdate struct {
	MessageSID string
	AccountSID string
	Status     Status
	ErrorCode  int
	// MessageID is Parley's id of the message, from the callback URL Parley
	// gave with the send (CallbackMessageParam); empty for older sends.
	MessageID string
}

// CallbackMessageParam is the query parameter of a send's status callback
// URL that names Parley's message. Twilio calls the URL as given and signs
// it whole, so the id comes back with every callback and cannot be forged:
// even a send whose answer Parley never read (the worker died waiting) is
// matched to its message by its first callback.
const CallbackMessageParam = "m"

// StatusCallbackFor is the status callback URL for the send of message id.
func StatusCallbackFor(base, id string) string {
	if id == "" {
		return base
	}
	return base + "?" + CallbackMessageParam + "=" + url.QueryEscape(id)
}

// ParseStatus reads a status callback's form parameters.
func ParseStatus(p map[string]string) (StatusUpdate, error) {
	u := StatusUpdate{MessageSID: p["MessageSid"], AccountSID: p["AccountSid"]}
	if u.MessageSID == "" {
		u.MessageSID = p["SmsSid"]
	}
	if u.MessageSID == "" {
		return u, malformed("MessageSid", "missing")
	}
	u.Status = Status(p["MessageStatus"])
	if u.Status == "" {
		u.Status = Status(p["SmsStatus"])
	}
	if Rank(u.Status) == 0 {
		return u, malformed("MessageStatus", "missing or unknown: "+strconv.Quote(string(u.Status)))
	}
	if ec := p["ErrorCode"]; ec != "" {
		n, err := strconv.Atoi(ec)
		if err != nil {
			return u, malformed("ErrorCode", "not a number: "+strconv.Quote(ec))
		}
		u.ErrorCode = n
	}
	return u, nil
}
