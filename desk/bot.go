package desk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

// The bot connector. While a chat is in the bot state, each customer message
// is POSTed to the bot by a job, as a signed JSON event, one at a time and in
// order; the bot answers with actions in the response body, or later through
// the callback API. A bot that fails (after retries), whose circuit is open,
// or that leaves a chat quiet for its idle timeout hands the chat to the
// normal flow, so no customer is left waiting. When a chat leaves the bot by
// any way but the bot's own action, the bot is told by a lifecycle event.
// The wire contract (events, answers, signatures) and the HTTP call are
// desk/bots'; what needs Redis stays here: the circuit, the callbacks
// already applied, and the chat's state.

// ErrBotFailed marks a bot call that failed for good: the chat was handed
// to the normal flow.
var ErrBotFailed = errors.New("bot failed")

// The circuit breaker: botTrip failed events within botWindow open a bot's
// circuit for botCooldown, during which new chats skip the bot and its
// chats' events hand them over.
const (
	botTrip     = 5
	botWindow   = time.Minute
	botCooldown = 30 * time.Second
)

func (s *Service) botDown(ctx context.Context, bot string) (bool, error) {
	return s.store.BotCircuitOpen(ctx, bot)
}

func (s *Service) botFailed(ctx context.Context, bot string) {
	opened, err := s.store.CountBotFailure(ctx, bot, botWindow, botTrip, botCooldown)
	if err != nil {
		s.log.Warn().Err(err).Str("bot", bot).Msg("bot failure not counted")
		return
	}
	if opened {
		s.log.Warn().Str("bot", bot).Msg("bot circuit open: new chats skip it for a while")
	}
}

// DeliverBotEvent sends one event to the bot of a chat; it is the body of
// the bot job. A customer message is sent only while it is the chat's
// event in flight, and the bot's answer is applied with the next message
// sent on. A failure is returned for the job to retry, unless lastAttempt:
// then the bot's failure is counted and the chat handed to the normal flow.
func (s *Service) DeliverBotEvent(ctx context.Context, convID, event string, attempt int, lastAttempt bool) error {
	defer func() { _ = s.settleDue(context.Background(), store.BotWake(convID, event)) }() // whatever ctx came to
	c, err := s.store.Conversation(ctx, convID)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if bots.IsLifecycle(event) {
		return s.deliverLifecycle(ctx, c, event, attempt, lastAttempt)
	}
	if c.State != engine.StateBot || len(c.BotPending) == 0 || c.BotPending[0] != event {
		return nil // handed off, closed, or answered meanwhile
	}
	bot := s.Rules().Bot(c.Bot)
	if bot == nil || len(s.bots.Secrets(c.Bot)) == 0 {
		return s.botHandOff(ctx, convID, "the bot is no longer configured")
	}
	if down, _ := s.botDown(ctx, bot.ID); down {
		return s.botHandOff(ctx, convID, "the bot is unavailable")
	}
	ev, err := s.messageEvent(ctx, bot, c, event, attempt)
	if err != nil {
		return err
	}
	reply, err := s.bots.Post(ctx, bot, ev)
	if err != nil {
		return s.botAttemptFailed(ctx, bot.ID, convID, err, lastAttempt)
	}
	_ = s.store.ResetBotFailures(ctx, bot.ID) // the bot answered: its failures start again from none
	err = s.applyBotActions(ctx, bot.ID, convID, reply.Actions, botAnswer{event: event})
	if errors.Is(err, engine.ErrWrongState) {
		return nil // someone took the chat meanwhile
	}
	if err != nil {
		// An answer Parley cannot carry out (an unknown action, a text
		// outside WhatsApp's window) is a failing bot too.
		return s.botAttemptFailed(ctx, bot.ID, convID, &bots.Failure{Reason: "the bot's answer could not be carried out: " + reason(err), Err: err}, lastAttempt)
	}
	return err
}

// botAttemptFailed returns a failed attempt for a retry or, on the last
// one, counts the failure and hands the chat over.
func (s *Service) botAttemptFailed(ctx context.Context, bot, convID string, err error, lastAttempt bool) error {
	if !lastAttempt {
		return err
	}
	s.botFailed(ctx, bot)
	why := "the bot is unavailable"
	var f *bots.Failure
	if errors.As(err, &f) {
		why = f.Reason
	}
	if herr := s.botHandOff(ctx, convID, why); herr != nil {
		return herr
	}
	return fmt.Errorf("%w: %v", ErrBotFailed, err)
}

// reason is an ErrInvalid's text without its prefix.
func reason(err error) string {
	msg := err.Error()
	if p := engine.ErrInvalid.Error() + ": "; len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}

// messageEvent builds the event of a customer message.
func (s *Service) messageEvent(ctx context.Context, bot *config.Bot, c *engine.Conversation, messageID string, attempt int) (bots.Event, error) {
	all, err := s.store.History(ctx, c.ID)
	if err != nil {
		return bots.Event{}, err
	}
	ev, err := s.eventOf(ctx, bot, c, bots.EventMessage, attempt)
	ev.ID = messageID
	ev.Message, ev.History = bots.History(all, messageID)
	return ev, err
}

// eventOf is an event's common part.
func (s *Service) eventOf(ctx context.Context, bot *config.Bot, c *engine.Conversation, kind string, attempt int) (bots.Event, error) {
	contact, err := s.store.Contact(ctx, c.Contact)
	if err != nil {
		return bots.Event{}, err
	}
	now := s.now().UTC()
	return bots.Event{
		ID: c.ID + ":" + kind, Attempt: attempt, Type: kind, Bot: bot.ID, ConversationID: c.ID,
		Contact: bots.Contact{Address: c.Contact, Name: contact.Name}, Channel: c.Channel,
		WindowOpen: windowOpen(contact, now), SentAt: now,
	}, nil
}

// deliverLifecycle tells the bot that a chat it held has left it. What the
// bot answers is not used; after the last attempt the event is dropped.
func (s *Service) deliverLifecycle(ctx context.Context, c *engine.Conversation, kind string, attempt int, lastAttempt bool) error {
	bot := s.Rules().Bot(c.Bot)
	if bot == nil || len(s.bots.Secrets(c.Bot)) == 0 {
		return nil
	}
	ev, err := s.eventOf(ctx, bot, c, kind, attempt)
	if err != nil {
		return err
	}
	if _, err := s.bots.Post(ctx, bot, ev); err != nil {
		if !lastAttempt {
			return err
		}
		s.log.Warn().Err(err).Str("bot", bot.ID).Str("conversation", c.ID).Str("event", kind).Msg("the bot was not told that its chat left it")
	}
	return nil
}
