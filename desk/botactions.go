package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

var (
	// ErrBadSignature: a bot callback whose signature does not hold.
	ErrBadSignature = errors.New("bad signature")
	// ErrReplay: a bot callback whose id was applied before.
	ErrReplay = errors.New("replayed callback")
)

// botAnswer says where actions came from: the answer to the event in
// flight, or a callback with its id.
type botAnswer struct {
	event    string
	callback string
}

// BotCallback applies actions a bot sent later, through the callback API.
// The request must be signed with one of the bot's secrets over its method,
// path and body, recently, and carry an id not applied before. The id is
// recorded in the write that applies the actions, so a refused callback
// can be corrected and sent again under the same id.
func (s *Service) BotCallback(ctx context.Context, botID, convID, signature string, body []byte) error {
	secrets := s.bots.Secrets(botID)
	if len(secrets) == 0 || s.Rules().Bot(botID) == nil {
		return engine.ErrNotFound
	}
	if err := bots.VerifyCallback(secrets, signature, botID, convID, body, s.now()); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	var reply bots.Reply
	if err := json.Unmarshal(body, &reply); err != nil {
		return fmt.Errorf("%w: body: %v", engine.ErrInvalid, err)
	}
	if reply.ID == "" || len(reply.ID) > 100 {
		return fmt.Errorf("%w: a callback needs an id (up to 100 characters), unique per callback", engine.ErrInvalid)
	}
	// Told apart from wrong_state: a replay of an applied callback is a
	// replay, whatever the chat's state now. The claim at commit decides.
	if applied, err := s.store.BotCallbackApplied(ctx, botID, reply.ID); err != nil {
		return err
	} else if applied {
		return fmt.Errorf("%w: callback %s was already applied", ErrReplay, reply.ID)
	}
	return s.applyBotActions(ctx, botID, convID, reply.Actions, botAnswer{callback: reply.ID})
}

// botHandOff passes a chat from a failed bot to the normal flow.
func (s *Service) botHandOff(ctx context.Context, convID, why string) error {
	return s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, convID)
		if err != nil {
			return err
		}
		if c.State != engine.StateBot {
			return nil
		}
		if err := s.store.LoadDepartment(ctx, w, c.Department); err != nil {
			return err
		}
		w.TakeFromBot(c, why)
		return s.commit(ctx, s.store.NewCommit(), w)
	})
}

// BotActions applies a bot's actions to a chat it holds, as a callback
// without an id would.
func (s *Service) BotActions(ctx context.Context, botID, convID string, actions []engine.BotAction) error {
	return s.applyBotActions(ctx, botID, convID, actions, botAnswer{})
}

// applyBotActions applies a bot's actions to a chat it holds, in one write
// with what answered them: the event in flight ends (and the next is sent),
// or the callback's id is recorded. Sends follow the channel rules (a
// template outside WhatsApp's window); a bot never writes into a chat that
// a person holds.
func (s *Service) applyBotActions(ctx context.Context, botID, convID string, actions []engine.BotAction, from botAnswer) error {
	if err := bots.CheckActions(actions, s.Rules().DepartmentIDs()); err != nil {
		return err
	}
	err := s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, convID)
		if err != nil {
			return err
		}
		for _, dept := range engine.BotAnswerNeeds(c, actions) {
			if err := s.store.LoadDepartment(ctx, w, dept); err != nil {
				return err
			}
		}
		if err := engine.DecideBotAnswer(w, c, botID, actions, from.event); err != nil {
			return err
		}
		t := s.store.NewCommit()
		if from.callback != "" {
			s.store.ClaimBotCallback(t, botID, from.callback, 2*bots.SignatureTolerance)
		}
		return s.commit(ctx, t, w)
	})
	var exists *store.ExistsError
	if errors.As(err, &exists) {
		return fmt.Errorf("%w: callback %s was already applied", ErrReplay, from.callback)
	}
	return err
}
