package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parleydesk/parley/config"
)

// MaxSMSBody is the longest one-way SMS: Twilio refuses a body over 1600
// characters.
const MaxSMSBody = 1600

// DecideOneWaySMS records a one-way SMS from a supervisor to the world's
// contact: a chat closed as it opens, holding the one text, filed under
// dept (the default department when empty). Agents may not send one.
// The send itself is the outbox's, like every other text, and refused
// there as anywhere for an opted-out or unreachable number.
func DecideOneWaySMS(w *World, a Actor, body, dept string) (*Conversation, error) {
	if !a.Supervises() {
		return nil, fmt.Errorf("%w: only supervisors and admins send one-way SMS", ErrNotAllowed)
	}
	body = strings.TrimSpace(body)
	if n := len([]rune(body)); n == 0 || n > MaxSMSBody {
		return nil, fmt.Errorf("%w: an SMS has 1 to %d characters (this one has %d)", ErrInvalid, MaxSMSBody, n)
	}
	if dept == "" {
		dept = w.Rules.DefaultDepartment
	} else if !slices.ContainsFunc(w.Rules.Departments, func(d config.Department) bool { return d.ID == dept }) && dept != w.Rules.DefaultDepartment {
		return nil, fmt.Errorf("%w: department %q is not configured", ErrInvalid, dept)
	}
	chat := w.NewConversation(KindChat, StateClosed, dept)
	chat.Assignee = a.ID
	if _, err := w.Reply(chat, Reply{Author: a.ID, Body: body}); err != nil {
		return nil, err
	}
	chat.LastAgentAt, chat.FirstAgentAt = w.Now, w.Now
	chat.Closed = &Closure{By: a.ID, Reason: ReasonOneWaySMS, At: w.Now}
	w.TouchContact() // a number never seen before becomes a contact, with a profile
	w.Emit(EventChanged, chat, "")
	return chat, nil
}
