package channels

import (
	"context"
	"errors"
	"fmt"
)

// Outbound is one message Parley sends to a contact.
type Outbound struct {
	// ID is Parley's message id; providers may use it for idempotency.
	ID        string
	To        Address
	Body      string
	MediaURLs []string
	Template  *Template
}

// Template is a pre-approved WhatsApp template (a Twilio Content SID) with
// its variables, the only thing that may be sent outside the 24-hour window.
type Template struct {
	ContentSID string            `json:"content_sid"`
	Variables  map[string]string `json:"variables,omitempty"`
}

// Receipt is the provider's acknowledgement of a send.
type Receipt struct {
	SID    string
	Status Status
}

// Provider sends messages. Twilio is one; the sandbox is another.
type Provider interface {
	Send(ctx context.Context, m Outbound) (Receipt, error)
}

// ErrorCodeOptedOut is Twilio's code for "the recipient has opted out".
const ErrorCodeOptedOut = 21610

// SendError is a send the provider refused or could not take.
type SendError struct {
	// Code is the provider's error code (Twilio's numeric code), 0 if none.
	Code int
	// HTTPStatus is the provider's HTTP answer, 0 for a network failure.
	HTTPStatus int
	Message    string
	// Temporary errors are worth retrying: network failures, 429, 5xx.
	Temporary bool
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	return fmt.Sprintf("%s send error (http %d, code %d): %s", kind, e.HTTPStatus, e.Code, e.Message)
}

// IsTemporary reports whether err is a send error worth retrying.
func IsTemporary(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}
