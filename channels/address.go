// Package channels is Parley's edge to messaging providers: it parses and
// verifies what Twilio sends, knows each channel's rules (WhatsApp's 24-hour
// window, SMS opt-out keywords), and sends messages out through a Provider.
package channels

import (
	"fmt"
	"regexp"
	"strings"
)

// Channel is the messaging network a contact writes on.
type Channel string

const (
	WhatsApp Channel = "whatsapp"
	SMS      Channel = "sms"
)

// whatsAppPrefix marks a WhatsApp address in Twilio's From and To fields.
const whatsAppPrefix = "whatsapp:"

// Address is a contact's address as Parley stores it: "whatsapp:+27820000001"
// or "sms:+27820000001". It names the channel, so one phone number on two
// channels is two contacts (their 24-hour windows and opt-outs differ).
type Address string

// ParseAddress turns Twilio's From/To value into an Address.
func ParseAddress(twilio string) (Address, error) {
	ch, number := SMS, twilio
	if rest, ok := strings.CutPrefix(twilio, whatsAppPrefix); ok {
		ch, number = WhatsApp, rest
	}
	if number == "" {
		return "", fmt.Errorf("empty address %q", twilio)
	}
	if strings.ContainsAny(number, " \t\r\n") {
		return "", fmt.Errorf("address %q contains white space", twilio)
	}
	return Address(string(ch) + ":" + number), nil
}

// Channel returns the address's channel.
func (a Address) Channel() Channel {
	if strings.HasPrefix(string(a), whatsAppPrefix) {
		return WhatsApp
	}
	return SMS
}

// Number is the address without its channel.
func (a Address) Number() string {
	_, n, _ := strings.Cut(string(a), ":")
	return n
}

// Twilio is the address as Twilio's To field wants it.
func (a Address) Twilio() string {
	if a.Channel() == WhatsApp {
		return whatsAppPrefix + a.Number()
	}
	return a.Number()
}

// Masked hides the middle of the number for log lines at info level:
// "whatsapp:+2782*****01".
func (a Address) Masked() string {
	return string(a.Channel()) + ":" + MaskNumber(a.Number())
}

// numberInText finds phone numbers in free text (a provider's error
// message): seven or more digits, with an optional + and the spaces, dots
// or dashes people write between groups.
var numberInText = regexp.MustCompile(`\+?\d(?:[ .-]?\d){6,}`)

// MaskNumbers masks every phone number in a text, for logs and stored
// error messages: "The 'To' number +27820000001 is not valid" becomes
// "The 'To' number +2782*****01 is not valid".
func MaskNumbers(text string) string {
	return numberInText.ReplaceAllStringFunc(text, MaskNumber)
}

// MaskNumber keeps the first five and last two characters of a number.
func MaskNumber(n string) string {
	if len(n) <= 7 {
		return strings.Repeat("*", len(n))
	}
	return n[:5] + strings.Repeat("*", len(n)-7) + n[len(n)-2:]
}
