package channels

import "strings"

// Consent is what a message says about the sender's SMS subscription.
type Consent int

const (
	ConsentUnchanged Consent = iota
	ConsentOptOut
	ConsentOptIn
)

// The keywords Twilio's Advanced Opt-Out recognises by default; a message
// consisting of one of them (any case, surrounding space ignored) changes the
// contact's subscription.
var (
	optOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
	optInWords  = []string{"START", "UNSTOP", "YES"}
)

// ConsentOf returns what an inbound SMS means for the subscription. Twilio's
// own verdict (OptOutType) wins over the keyword lists when present. WhatsApp
// has no carrier opt-out, so only SMS is classified.
func ConsentOf(ch Channel, body, optOutType string) Consent {
	if ch != SMS {
		return ConsentUnchanged
	}
	switch strings.ToUpper(optOutType) {
	case "STOP":
		return ConsentOptOut
	case "START":
		return ConsentOptIn
	}
	word := strings.ToUpper(strings.TrimSpace(body))
	for _, w := range optOutWords {
		if word == w {
			return ConsentOptOut
		}
	}
	for _, w := range optInWords {
		if word == w {
			return ConsentOptIn
		}
	}
	return ConsentUnchanged
}
