package desk

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// One-way SMS: a supervisor (or an admin) texts any number from the desk,
// a notice rather than a conversation. It leaves through the contact's
// outbox like every other send and is recorded as a closed chat, signed by
// who sent it, so the customer's profile and history show it. A reply from
// the customer is an ordinary new message: nothing waits for one.

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
	if strings.HasPrefix(req.To, string(channels.WhatsApp)+":") {
		return nil, fmt.Errorf("%w: a one-way message goes by SMS: give the number without whatsapp:", engine.ErrInvalid)
	}
	to, err := ParseCustomer(strings.TrimSpace(req.To))
	if err != nil {
		return nil, err
	}
	var rec *engine.Conversation
	err = s.retry(ctx, func() error {
		w, err := s.contactWorld(ctx, to)
		if err != nil {
			return err
		}
		chat, err := engine.DecideOneWaySMS(w, a, req.Body, req.Department)
		if err != nil {
			return err
		}
		t := s.store.NewCommit()
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
