// Package bots is Parley's bot connector as a bot sees it: the events
// Parley posts to a bot and the answers it reads back (the same answer
// comes later through the callback API), the signatures on both, and the
// client that posts an event and reads its answer.
//
// A bot written in Go can build on it: decode an Event, check it with
// Verify, answer with a Reply, and sign a later answer with SignCallback.
// Nothing here keeps state: which chat a bot holds, its circuit breaker and
// the callbacks already applied are the desk's (they live in Redis), and
// what an action does to a chat is the engine's (engine.World.BotAction).
package bots

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
)

// EventMessage is the type of the event that carries a customer message.
// The other types (engine.BotClosed, engine.BotHandedOff,
// engine.BotTakenOver) end the bot's hold on a chat.
const EventMessage = "message"

// IsLifecycle reports whether an event type ends the bot's hold on a chat:
// such an event carries no message and no history, and its answer is not
// used.
func IsLifecycle(eventType string) bool {
	return eventType == engine.BotClosed || eventType == engine.BotHandedOff || eventType == engine.BotTakenOver
}

// Event is what a bot receives: a customer message (type EventMessage), or
// the end of its hold on a chat, whose id is the conversation's and the
// type ("<conversation>:<type>").
type Event struct {
	ID string `json:"id"`
	// Attempt counts Parley's deliveries of this event (0 the first): a
	// retry carries the same id, a new attempt number and a new signature.
	Attempt        int              `json:"attempt"`
	Type           string           `json:"type"`
	Bot            string           `json:"bot"`
	ConversationID string           `json:"conversation_id"`
	Contact        Contact          `json:"contact"`
	Channel        channels.Channel `json:"channel"`
	Message        engine.Message   `json:"message,omitzero"`
	// WindowOpen is false when only a template can reach a WhatsApp contact.
	WindowOpen bool `json:"window_open"`
	// History is the conversation as the customer saw it (messages in and
	// out, the current one last); notes and comments are never sent.
	History []engine.Message `json:"history,omitempty"`
	SentAt  time.Time        `json:"sent_at"`
}

// Contact is the contact as a bot sees it.
type Contact struct {
	Address channels.Address `json:"address"`
	Name    string           `json:"name,omitempty"`
}

// HistoryLen is how many messages an event's history carries at most.
const HistoryLen = 20

// History picks, from a conversation's messages in order, the message id
// and the history sent with it: the messages in and out up to and
// including it, the last HistoryLen of them. What came after the message
// is left for a later event; notes and comments are internal and never
// reach a bot.
func History(conversation []engine.Message, id string) (engine.Message, []engine.Message) {
	var msg engine.Message
	var hist []engine.Message
	for _, m := range conversation {
		if m.Direction != engine.DirIn && m.Direction != engine.DirOut {
			continue
		}
		hist = append(hist, m)
		if m.ID == id {
			msg = m
			break
		}
	}
	if len(hist) > HistoryLen {
		hist = hist[len(hist)-HistoryLen:]
	}
	return msg, hist
}

// Reply is a bot's answer, in a response body or a callback. An empty
// body, or no actions, means the bot answers later.
type Reply struct {
	// ID makes a callback unique: an id applied before is refused as a
	// replay. An answer in a response body needs none.
	ID      string             `json:"id,omitempty"`
	Actions []engine.BotAction `json:"actions"`
}

// The limits of one answer.
const (
	MaxActions = 20
	MaxButtons = 10
)

// CheckActions refuses an answer Parley cannot carry out, before anything
// of it is done (an answer is all or nothing): too many actions, an unknown
// type, a buttons action without buttons or with too many, a hand-off to a
// department not among departments. The errors wrap engine.ErrInvalid and
// name the action. What depends on the chat (a text outside WhatsApp's
// window) is the engine's to refuse.
func CheckActions(actions []engine.BotAction, departments []string) error {
	if len(actions) > MaxActions {
		return fmt.Errorf("%w: at most %d actions", engine.ErrInvalid, MaxActions)
	}
	for i, a := range actions {
		switch a.Type {
		case "text", "template", "tags", "attributes", "close":
		case "buttons":
			if len(a.Buttons) == 0 || len(a.Buttons) > MaxButtons {
				return fmt.Errorf("%w: actions[%d]: buttons: 1 to %d", engine.ErrInvalid, i, MaxButtons)
			}
		case "handoff":
			if a.Department != "" && !slices.Contains(departments, a.Department) {
				return fmt.Errorf("%w: actions[%d]: handoff to unknown department %q (known: %s)", engine.ErrInvalid, i, a.Department, strings.Join(departments, ", "))
			}
		default:
			return fmt.Errorf("%w: actions[%d]: unknown action %q", engine.ErrInvalid, i, a.Type)
		}
	}
	return nil
}
