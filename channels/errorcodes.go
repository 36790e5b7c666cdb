package channels

import "strconv"

// What Twilio's error codes mean to an agent, and what Parley does about
// them. A code reaches Parley either in the answer to a send or, later,
// in a status callback (undelivered or failed).

// ErrorAction is what Parley does on a delivery error beyond marking the
// message failed.
type ErrorAction string

const (
	// ActionNone: the message is failed; nothing else changes.
	ActionNone ErrorAction = ""
	// ActionOptOut: the customer unsubscribed; nothing more is sent until
	// they subscribe again.
	ActionOptOut ErrorAction = "opt_out"
	// ActionCloseWindow: WhatsApp's 24-hour window is closed whatever the
	// last inbound time says; only a template goes until the customer
	// writes again.
	ActionCloseWindow ErrorAction = "close_window"
	// ActionUnreachable: the number cannot receive messages; nothing more
	// is sent until the customer writes again.
	ActionUnreachable ErrorAction = "unreachable"
)

// ErrorCodeWindowClosed is Twilio's code for WhatsApp free text sent
// outside the 24-hour window.
const ErrorCodeWindowClosed = 63016

type errorInfo struct {
	reason string
	action ErrorAction
}

var errorCodes = map[int]errorInfo{
	21211:                 {"not a valid phone number", ActionUnreachable},
	21408:                 {"sending to this country is not enabled on the Twilio account", ActionNone},
	ErrorCodeOptedOut:     {"the customer has unsubscribed (STOP)", ActionOptOut},
	21612:                 {"this number cannot be reached from the sending number", ActionNone},
	21614:                 {"not a mobile number that can receive texts", ActionUnreachable},
	30001:                 {"Twilio's queue for the sender overflowed; try again later", ActionNone},
	30002:                 {"the Twilio account is suspended", ActionNone},
	30003:                 {"the phone is switched off or out of reach", ActionNone},
	30004:                 {"the message was blocked by the customer or their carrier", ActionNone},
	30005:                 {"the number is unknown or no longer in service", ActionNone},
	30006:                 {"a landline, or a carrier that cannot take texts", ActionNone},
	30007:                 {"the carrier filtered the message as unwanted", ActionNone},
	30008:                 {"the carrier gave no reason", ActionNone},
	30034:                 {"the sending number is not registered for US messaging (A2P 10DLC)", ActionNone},
	63003:                 {"the number is not on WhatsApp", ActionNone},
	ErrorCodeWindowClosed: {"outside WhatsApp's 24-hour window: a template is required", ActionCloseWindow},
	63018:                 {"WhatsApp's sending rate was exceeded", ActionNone},
	63024:                 {"not a valid WhatsApp recipient", ActionNone},
	63032:                 {"WhatsApp does not deliver this kind of message to this customer", ActionNone},
	63049:                 {"WhatsApp chose not to deliver this marketing message", ActionNone},
}

// ExplainError is the plain-language reason for a failed message's error
// code (Twilio's number, or one of Parley's own words such as
// "template_required"), and what Parley does about it. An unknown code
// says so; "" for no code.
func ExplainError(code string) (string, ErrorAction) {
	switch code {
	case "":
		return "", ActionNone
	case "template_required":
		return "outside WhatsApp's 24-hour window: a template is required", ActionNone
	case "opted_out":
		return "the customer has unsubscribed (STOP)", ActionNone
	case "unreachable":
		return "the number could not receive an earlier message; waiting for the customer to write", ActionNone
	case "send_error":
		return "Twilio did not take the message", ActionNone
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return "not sent (" + code + ")", ActionNone
	}
	if info, ok := errorCodes[n]; ok {
		return info.reason, info.action
	}
	return "Twilio error " + code, ActionNone
}
