package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// One-way SMS: a supervisor (or an admin) texts any number from the desk,
// a notice rather than a conversation. It leaves through the contact's
// outbox like every other send and is recorded as a closed chat, signed by
// who sent it, so the customer's profile and history show it. A reply from
// the customer is an ordinary new message: nothing waits for one.

// MaxSMSBody is the longest one-way SMS: Twilio refuses a body over 1600
// characters.
const MaxSMSBody = 1600

// OneWaySMS is what a supervisor asks to send.
type OneWaySMS struct {
	To   string `json:"to"`
	Body string `json:"body"`
	// Department files the record; the default department when empty.
	Department string `json:"department"`
}

// SendOneWaySMS queues a one-way SMS and returns the closed chat that
// records it. Agents may not send one; an opted-out number is refused
// (channels.ErrOptedOut), as is a number Twilio found unreachable.
func (s *Service) SendOneWaySMS(ctx context.Context, a engine.Actor, req OneWaySMS) (*engine.Conversation, error) {
	if !a.Supervises() {
		return nil, fmt.Errorf("%w: only supervisors and admins send one-way SMS", engine.ErrNotAllowed)
	}
	if strings.HasPrefix(req.To, string(channels.WhatsApp)+":") {
		return nil, fmt.Errorf("%w: a one-way message goes by SMS: give the number without whatsapp:", engine.ErrInvalid)
	}
	to, err := ParseCustomer(strings.TrimSpace(req.To))
	if err != nil {
		return nil, err
	}
	body := strings.TrimSpace(req.Body)
	if n := len([]rune(body)); n == 0 || n > MaxSMSBody {
		return nil, fmt.Errorf("%w: an SMS has 1 to %d characters (this one has %d)", engine.ErrInvalid, MaxSMSBody, n)
	}
	rules := s.Rules()
	dept := req.Department
	if dept == "" {
		dept = rules.DefaultDepartment
	} else if !slices.ContainsFunc(rules.Departments, func(d config.Department) bool { return d.ID == dept }) && dept != rules.DefaultDepartment {
		return nil, fmt.Errorf("%w: department %q is not configured", engine.ErrInvalid, dept)
	}
	var rec *engine.Conversation
	err = s.retry(ctx, func() error {
		w, err := s.contactWorld(ctx, to)
		if err != nil {
			return err
		}
		chat := w.NewConversation(engine.KindChat, engine.StateClosed, dept)
		chat.Assignee = a.ID
		if _, err := w.Reply(chat, engine.Reply{Author: a.ID, Body: body}); err != nil {
			return err
		}
		chat.LastAgentAt, chat.FirstAgentAt = w.Now, w.Now
		chat.Closed = &engine.Closure{By: a.ID, Reason: engine.ReasonOneWaySMS, At: w.Now}
		w.TouchContact() // a number never seen before becomes a contact, with a profile
		w.Emit(engine.EventChanged, chat, "")
		t := newTx()
		if err := s.audit(t, a, "sms.send", chat.ID, "one-way SMS to "+to.Masked()); err != nil {
			return err
		}
		if err := s.commit(ctx, t, w); err != nil {
			return err
		}
		rec = chat
		return nil
	})
	return rec, err
}
