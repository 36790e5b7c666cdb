package desk

import (
	"context"
	"errors"
	"time"

	"github.com/parleydesk/parley/desk/engine"

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
	rules := s.Rules() // one snapshot for the whole decision
	w, err := s.contactDeptWorld(ctx, rules, in.From, rules.Department(string(in.To)))
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

	plan := planInbound(w, in)
	if plan.bot != nil {
		if down, err := s.botDown(ctx, plan.bot.ID); err != nil || down {
			plan.bot = nil // the bot's circuit is open: the normal flow takes over
		}
	}
	if err := s.store.loadAgent(ctx, w, plan.agent); err != nil {
		return Received{}, err
	}
	if plan.loadDept {
		if err := s.store.loadDepartment(ctx, w, plan.dept); err != nil {
			return Received{}, err
		}
	}

	if word(in.Body) == wordTranscript {
		if err := s.loadTranscriptOffer(ctx, w); err != nil {
			return Received{}, err
		}
	}
	msg := engine.Message{
		ID: w.ids(), Direction: engine.DirIn, Author: string(in.From), Body: in.Body, Media: in.Media,
		Location: in.Location, Button: in.Button, SID: in.MessageSID, At: w.now,
	}
	if c.Name != "" {
		msg.Author = c.Name
	}
	w.onInbound(msg, plan.dept, plan.open, plan.bot)

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

// inboundPlan is what the decision on an inbound message reads besides the
// contact and its conversations, and the facts it is decided with.
type inboundPlan struct {
	dept     string      // the department the message belongs to
	open     bool        // whether that department is in business hours
	bot      *config.Bot // the bot that would take a new conversation
	agent    string      // the agent whose load the message may change
	loadDept bool        // routing may happen: the department's agents and queue
}

// planInbound chooses what to load for an inbound message, from the same
// state onInbound decides on: the open chat's agent when the message may
// change their load (a pending chat comes back, or the customer ends it),
// nothing when it continues a ticket, and otherwise, in business hours, the
// department a new chat is routed in. Should the two drift apart, the
// world notes the agent changed without being loaded (world.held) and the
// commit refuses it.
func planInbound(w *world, in channels.Inbound) inboundPlan {
	c := w.contact
	p := inboundPlan{dept: w.rules.Department(string(in.To)), open: true}
	chat, ticket := w.conversation(c.Chat), w.conversation(c.Ticket)
	switch {
	case chat != nil:
		p.dept = chat.Department
		if chat.State == engine.StatePending || word(in.Body) == wordEnd {
			p.agent = chat.Assignee
		}
	case ticket != nil && (ticket.Session == engine.SessionAsking || ticket.Session == engine.SessionCollecting ||
		(ticket.State == engine.StateAssigned && ticket.AgentReplied)):
		// The message continues the ticket: no routing.
	default:
		if ticket != nil {
			p.dept = ticket.Department
		}
		p.open = w.rules.HoursOf(p.dept).Open(w.now)
		// Only a message that would start a chat can go to a bot.
		p.bot = w.rules.BotFor(p.dept, string(in.To), p.open)
		p.loadDept = p.open
	}
	return p
}
