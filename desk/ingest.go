package desk

import (
	"context"
	"errors"
	"time"

	"github.com/parleydesk/parley/channels"
)

// sidTTL is how long a provider SID is remembered: longer than Twilio retries
// a webhook, and long enough for late "read" receipts.
const sidTTL = 30 * 24 * time.Hour

// Received is the outcome of one inbound webhook.
type Received struct {
	MessageID      string
	ConversationID string
	// Duplicate is true when the MessageSid was already stored: nothing new
	// was written.
	Duplicate bool
}

// Receive stores one inbound message on the contact's open conversation
// (opening one if needed) and updates the contact. The MessageSid claim, the
// message, the contact and the conversation are one atomic write, so a
// webhook Twilio retries, even concurrently, is stored exactly once.
func (s *Service) Receive(ctx context.Context, in channels.Inbound) (Received, error) {
	for range maxAttempts {
		r, err := s.receiveOnce(ctx, in)
		if errors.Is(err, errConflict) {
			continue
		}
		var exists *existsError
		if errors.As(err, &exists) {
			return Received{MessageID: exists.value, Duplicate: true}, nil
		}
		return r, err
	}
	return Received{}, errConflict
}

func (s *Service) receiveOnce(ctx context.Context, in channels.Inbound) (Received, error) {
	contact, open, err := s.store.loadContact(ctx, in.From)
	if err != nil {
		return Received{}, err
	}
	now := s.now().UTC()
	conv, msg := applyInbound(contact, open, in, now)

	k := s.store.keys
	t := newTx()
	t.claim(k.sid(in.MessageSID), msg.ID, sidTTL.Milliseconds())
	t.expectVersion(k.contact(in.From), contact.Version)
	t.expectVersion(k.conversation(conv.ID), conv.Version)

	fields := []string{"last_in", ms(now), "open", conv.ID, "ver", itoa(contact.Version + 1)}
	if in.ProfileName != "" {
		fields = append(fields, "name", in.ProfileName)
	}
	if in.WaID != "" {
		fields = append(fields, "wa_id", in.WaID)
	}
	switch channels.ConsentOf(in.Channel(), in.Body, in.OptOutType) {
	case channels.ConsentOptOut:
		fields = append(fields, "opted_out", "1")
	case channels.ConsentOptIn:
		fields = append(fields, "opted_out", "0")
	}
	t.do("HSET", k.contact(in.From), fields...)
	if err := s.writeConversation(t, conv); err != nil {
		return Received{}, err
	}
	if err := s.appendMessage(t, msg); err != nil {
		return Received{}, err
	}
	t.publish(k.events(), Event{Type: EventMessageIn, ConversationID: conv.ID, MessageID: msg.ID, At: now}.encode())
	if err := t.commit(ctx, s.store.rdb); err != nil {
		return Received{}, err
	}
	return Received{MessageID: msg.ID, ConversationID: conv.ID}, nil
}

// applyInbound decides where an inbound message goes: onto the contact's open
// conversation, or a new chat waiting for an agent. It returns the
// conversation as it must be written (Version still the loaded one) and the
// message.
func applyInbound(contact Contact, open *Conversation, in channels.Inbound, now time.Time) (Conversation, Message) {
	var conv Conversation
	if open != nil && open.State != StateClosed {
		conv = *open
	} else {
		conv = Conversation{ID: newID(), Contact: in.From, Channel: in.Channel(), Kind: KindChat, State: StateQueued, CreatedAt: now}
	}
	conv.UpdatedAt = now
	msg := Message{
		ID: newID(), ConversationID: conv.ID, Direction: DirIn, Author: string(in.From),
		Body: in.Body, Media: in.Media, Location: in.Location, Button: in.Button,
		SID: in.MessageSID, At: now,
	}
	if in.ProfileName != "" {
		msg.Author = in.ProfileName
	}
	return conv, msg
}

// writeConversation adds the conversation's document to t with its version
// bumped.
func (s *Service) writeConversation(t *tx, c Conversation) error {
	next := c
	next.Version = c.Version + 1
	raw, err := jsonString(next)
	if err != nil {
		return err
	}
	t.do("HSET", s.store.keys.conversation(c.ID), "doc", raw, "ver", itoa(next.Version))
	return nil
}

// appendMessage adds a message and its place in the history to t.
func (s *Service) appendMessage(t *tx, m Message) error {
	fields, err := messageFields(m)
	if err != nil {
		return err
	}
	t.do("HSET", s.store.keys.message(m.ID), fields...)
	t.do("RPUSH", s.store.keys.history(m.ConversationID), m.ID)
	return nil
}
