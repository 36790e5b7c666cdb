package channels

import (
	"fmt"
	"strconv"
	"strings"
)

// The one table of Twilio's delivery error codes: for each, a line an agent
// understands and what Parley does about it beyond marking the message
// failed. Codes come on a refused send or in a status callback
// (undelivered, failed). https://www.twilio.com/docs/api/errors

// ErrorAction is what Parley does about a delivery error.
type ErrorAction string

const (
	// ActionNone: the message is failed; nothing else changes.
	ActionNone ErrorAction = ""
	// ActionCloseWindow: WhatsApp refused free text outside the 24-hour
	// window; Parley's view of the window closes, so the next send offers
	// a template, as the check before sending does.
	ActionCloseWindow ErrorAction = "close_window"
	// ActionOptOut: the customer opted out; nothing more is sent until
	// they opt in again.
	ActionOptOut ErrorAction = "opt_out"
	// ActionMarkUnreachable: the address cannot take messages at all; the
	// contact is marked so.
	ActionMarkUnreachable ErrorAction = "mark_unreachable"
)

// ErrorCodeWindowClosed is WhatsApp's "outside the 24-hour window" code.
const ErrorCodeWindowClosed = 63016

// ErrorInfo is one row of the table.
type ErrorInfo struct {
	Code   int
	Reason string // for the agent, next to the failed message
	Action ErrorAction
}

// twilioErrors is the table by code; read only.
var twilioErrors = func() map[int]ErrorInfo {
	m := make(map[int]ErrorInfo, len(twilioErrorList))
	for _, e := range twilioErrorList {
		m[e.Code] = e
	}
	return m
}()

var twilioErrorList = []ErrorInfo{
	{21211, "Not a valid phone number.", ActionMarkUnreachable},
	{21408, "Sending to this country is not enabled on the Twilio account.", ActionNone},
	{21606, "The sender number cannot send messages (check PARLEY_SMS_FROM).", ActionNone},
	{21610, "The customer opted out (STOP); they must write START before they can get messages again.", ActionOptOut},
	{21612, "This number cannot be reached by SMS from this sender.", ActionNone},
	{21614, "Not a mobile number: it cannot receive messages.", ActionMarkUnreachable},
	{21617, "The message is too long (over 1,600 characters).", ActionNone},
	{30003, "The customer's phone is switched off or out of coverage.", ActionNone},
	{30004, "The customer's phone or carrier blocked the message.", ActionNone},
	{30005, "The number does not exist or is no longer in service.", ActionNone},
	{30006, "The number is a landline, or its carrier cannot take messages.", ActionNone},
	{30007, "The carrier filtered the message as unwanted.", ActionNone},
	{30008, "The carrier could not deliver the message and gave no reason.", ActionNone},
	{30032, "The toll-free sender number is not verified.", ActionNone},
	{30034, "The sender number is not registered for A2P 10DLC messaging in the US.", ActionNone},
	{63003, "The number is not on WhatsApp.", ActionNone},
	{63007, "The WhatsApp sender is not set up on the Twilio account (check PARLEY_WHATSAPP_FROM).", ActionNone},
	{ErrorCodeWindowClosed, "Outside WhatsApp's 24-hour window: a template is required.", ActionCloseWindow},
	{63018, "WhatsApp's sending limit for this sender was reached; try again later.", ActionNone},
	{63024, "Not a valid WhatsApp recipient.", ActionNone},
	{63032, "WhatsApp held back this marketing template for this customer (a Meta experiment); try later or another way.", ActionNone},
	{63049, "WhatsApp chose not to deliver this marketing template (the customer has had many lately).", ActionNone},
}

// LookupError finds a code in the table.
func LookupError(code int) (ErrorInfo, bool) {
	e, ok := twilioErrors[code]
	return e, ok
}

// ErrorReason is the line shown to the agent for a failed message: the
// table's reason, or, for a code it does not know, the code and Twilio's
// own message. Empty when there is no error at all.
func ErrorReason(code, twilioMessage string) string {
	code, twilioMessage = strings.TrimSpace(code), strings.TrimSpace(twilioMessage)
	if n, err := strconv.Atoi(code); err == nil {
		if e, ok := LookupError(n); ok {
			return e.Reason
		}
	}
	switch {
	case code == "" && twilioMessage == "":
		return ""
	case code == "":
		return twilioMessage
	case twilioMessage == "":
		return fmt.Sprintf("Twilio error %s.", code)
	}
	return fmt.Sprintf("Twilio error %s: %s", code, twilioMessage)
}
