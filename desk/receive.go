package desk

import (
	"context"
	"errors"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// sidTTL is how long an outbound message's provider SID is remembered:
// long enough for late "read" receipts.
const sidTTL = 30 * 24 * time.Hour

// inboundSidTTL is how long an inbound MessageSid claim is kept. Twilio's
// signature has no time in it, so a captured webhook replayed after its
// claim expired would be stored again: the claim outlives any use of
// replaying (two years; about 100 bytes a message).
const inboundSidTTL = 2 * 365 * 24 * time.Hour

// Received is the outcome of one inbound webhook.
type Received struct {
	MessageID      string
	ConversationID string
	// Duplicate is true when the MessageSid was already stored: nothing new
	// was written.
	Duplicate bool
}

// Receive takes one inbound message: the engine decides where it goes (a
// chat, the queue, the leave-a-message flow, a ticket), and the MessageSid
// claim, the message and every change the decision made are one atomic
// write, so a webhook Twilio retries, even concurrently, is taken once.
func (s *Service) Receive(ctx context.Context, in channels.Inbound) (Received, error) {
	var r Received
	err := s.retry(ctx, func() (err error) {
		r, err = s.receiveOnce(ctx, in)
		return err
	})
	var exists *existsError
	if errors.As(err, &exists) {
		return Received{MessageID: exists.value, Duplicate: true}, nil
	}
	return r, err
}

func (s *Service) receiveOnce(ctx context.Context, in channels.Inbound) (Received, error) {
	w, err := s.contactDeptWorld(ctx, in.From, s.Rules().Department(string(in.To)))
	if err != nil {
		return Received{}, err
	}
	c := w.contact
	if in.ProfileName != "" && c.Name != in.ProfileName {
		c.Name = in.ProfileName
	}
	if in.WaID != "" {
		c.WaID = in.WaID
	}
	switch channels.ConsentOf(in.Channel(), in.Body, in.OptOutType) {
	case channels.ConsentOptOut:
		c.OptedOut = true
	case channels.ConsentOptIn:
		c.OptedOut = false
	}

	dept := w.rules.Department(string(in.To))
	chat, ticket := w.conversation(c.Chat), w.conversation(c.Ticket)
	open := true
	var bot *config.Bot
	switch {
	case chat != nil:
		dept = chat.Department
		if chat.State == StatePending || word(in.Body) == wordEnd {
			if err := s.store.loadAgent(ctx, w, chat.Assignee); err != nil {
				return Received{}, err
			}
		}
	case ticket != nil && (ticket.Session == SessionAsking || ticket.Session == SessionCollecting ||
		(ticket.State == StateAssigned && ticket.AgentReplied)):
		// The message continues the ticket: no routing.
	default:
		if ticket != nil {
			dept = ticket.Department
		}
		open = w.rules.HoursOf(dept).Open(w.now)
		// Only a message that would start a chat can go to a bot.
		if bot = w.rules.BotFor(dept, string(in.To), open); bot != nil {
			if down, err := s.botDown(ctx, bot.ID); err != nil || down {
				bot = nil // the bot's circuit is open: the normal flow takes over
			}
		}
		if open {
			if err := s.store.loadDepartment(ctx, w, dept); err != nil {
				return Received{}, err
			}
		}
	}

	if word(in.Body) == wordTranscript {
		if err := s.loadTranscriptOffer(ctx, w); err != nil {
			return Received{}, err
		}
	}
	msg := Message{
		ID: newID(), Direction: DirIn, Author: string(in.From), Body: in.Body, Media: in.Media,
		Location: in.Location, Button: in.Button, SID: in.MessageSID, At: w.now,
	}
	if c.Name != "" {
		msg.Author = c.Name
	}
	w.onInbound(msg, dept, open, bot)

	t := newTx()
	t.claim(s.store.keys.sid(in.MessageSID), msg.ID, inboundSidTTL.Milliseconds())
	if err := s.commit(ctx, t, w); err != nil {
		return Received{}, err
	}
	convID := ""
	for _, m := range w.messages {
		if m.ID == msg.ID {
			convID = m.ConversationID
		}
	}
	return Received{MessageID: msg.ID, ConversationID: convID}, nil
}
