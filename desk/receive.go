package desk

import (
	"context"
	"errors"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
)

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
	var exists *store.ExistsError
	if errors.As(err, &exists) {
		return Received{MessageID: exists.Value, Duplicate: true}, nil
	}
	return r, err
}

func (s *Service) receiveOnce(ctx context.Context, in channels.Inbound) (Received, error) {
	rules := s.Rules() // one snapshot for the whole decision
	w, err := s.inboundWorld(ctx, rules, in.From, rules.Department(string(in.To)))
	if err != nil {
		return Received{}, err
	}
	c := w.Contact
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

	plan := engine.PlanInbound(w, in)
	if plan.Bot != nil {
		if down, err := s.botDown(ctx, plan.Bot.ID); err != nil || down {
			plan.Bot = nil // the bot's circuit is open: the normal flow takes over
		}
	}
	if err := s.store.LoadAgent(ctx, w, plan.Agent); err != nil {
		return Received{}, err
	}
	if plan.LoadDept {
		if err := s.store.LoadDepartment(ctx, w, plan.Dept); err != nil {
			return Received{}, err
		}
	}

	if engine.Word(in.Body) == engine.WordTranscript {
		if err := s.loadTranscriptOffer(ctx, w); err != nil {
			return Received{}, err
		}
	}
	msg := engine.Message{
		ID: w.IDs(), Direction: engine.DirIn, Author: string(in.From), Body: in.Body, Media: in.Media,
		Location: in.Location, Button: in.Button, SID: in.MessageSID, At: w.Now,
	}
	if c.Name != "" {
		msg.Author = c.Name
	}
	w.OnInbound(msg, plan.Dept, plan.Open, plan.Bot)

	t := s.store.NewCommit()
	s.store.ClaimInboundSID(t, in.MessageSID, msg.ID, inboundSidTTL)
	if err := s.commit(ctx, t, w); err != nil {
		return Received{}, err
	}
	convID := ""
	for _, m := range w.Messages {
		if m.ID == msg.ID {
			convID = m.ConversationID
		}
	}
	return Received{MessageID: msg.ID, ConversationID: convID}, nil
}
