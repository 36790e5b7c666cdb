package engine

import (
	"fmt"
	"slices"

	"github.com/parleydesk/parley/channels"
)

// queueForBot puts a customer message in line for the bot: it goes at once
// if nothing is in flight, else when the one before it is answered. Either
// way the chat is not quiet: its idle deadline starts again.
func (w *World) queueForBot(c *Conversation, messageID string) {
	c.BotPending = append(c.BotPending, messageID)
	if len(c.BotPending) == 1 {
		w.BotDeliveries = append(w.BotDeliveries, BotDelivery{c.ID, messageID})
	}
	w.ArmBotIdle(c)
}

// ArmBotIdle starts the time the bot may leave the chat quiet.
func (w *World) ArmBotIdle(c *Conversation) {
	idle := w.Rules.Timeouts.Inactivity
	if b := w.Rules.Bot(c.Bot); b != nil {
		idle = w.Rules.Idle(b)
	}
	w.arm(c, TimerBot, w.Now.Add(idle))
}

// NextForBot ends the event in flight, done, and sends the next in line.
// It reports false if done is not the event in flight (a job that ran
// twice).
func (w *World) NextForBot(c *Conversation, done string) bool {
	if len(c.BotPending) == 0 || c.BotPending[0] != done {
		return false
	}
	c.BotPending = c.BotPending[1:]
	if len(c.BotPending) > 0 {
		w.BotDeliveries = append(w.BotDeliveries, BotDelivery{c.ID, c.BotPending[0]})
	}
	return true
}

// leaveBot ends the bot's hold on a chat: nothing more of it is sent to
// the bot, except the lifecycle event (if any) saying why.
func (w *World) leaveBot(c *Conversation, lifecycle string) {
	c.BotPending = nil
	w.disarm(c, TimerBot)
	if lifecycle != "" {
		w.BotDeliveries = append(w.BotDeliveries, BotDelivery{c.ID, lifecycle})
	}
}

// TakeFromBot hands a chat from a bot that failed or went quiet to the
// normal flow, with a note for the agent saying why.
func (w *World) TakeFromBot(c *Conversation, why string) {
	w.leaveBot(c, BotHandedOff)
	w.note(c, "Taken from the bot: "+why)
	w.handOff(c, c.Department)
}

// BotAnswerNeeds lists the departments a bot's answer may hand its chat
// to, whose agents the decision must have loaded.
func BotAnswerNeeds(c *Conversation, actions []BotAction) []string {
	var depts []string
	for _, a := range actions {
		if a.Type != "handoff" {
			continue
		}
		dept := c.Department
		if a.Department != "" {
			dept = a.Department
		}
		if !slices.Contains(depts, dept) {
			depts = append(depts, dept)
		}
	}
	return depts
}

// DecideBotAnswer applies a bot's answer to the chat it holds: its actions
// in order, until one hands the chat off or closes it (the rest is no
// longer the bot's to do). event is the customer message answered ("" for
// a callback, which answers nothing in particular); an answer to an event
// that is not the one in flight was applied before and changes nothing.
// A chat the bot does not hold is ErrWrongState.
func DecideBotAnswer(w *World, c *Conversation, bot string, actions []BotAction, event string) error {
	if c.State != StateBot || c.Bot != bot {
		return fmt.Errorf("%w: the bot does not hold this conversation", ErrWrongState)
	}
	if event != "" && !w.NextForBot(c, event) {
		return nil // this answer was applied already
	}
	for _, a := range actions {
		if c.State != StateBot {
			break
		}
		if err := w.BotAction(c, a); err != nil {
			return err
		}
	}
	if c.State == StateBot && len(actions) > 0 {
		w.ArmBotIdle(c) // the bot answered: the chat is not quiet
	}
	return nil
}

// BotAction does one thing a bot asked on the chat it holds.
func (w *World) BotAction(c *Conversation, a BotAction) error {
	author := "bot:" + c.Bot
	switch a.Type {
	case "text":
		_, err := w.Reply(c, Reply{Author: author, Body: a.Body})
		return err
	case "template":
		_, err := w.Reply(c, Reply{Author: author, Template: a.Template})
		return err
	case "buttons":
		r := Reply{Author: author, Body: numberedList(a.Body, a.Buttons)}
		if c.Contact.Channel() == channels.WhatsApp {
			// Refused rather than cut: a bot's labels are its menu.
			if err := channels.CheckQuickReply(a.Body, a.Buttons); err != nil {
				return fmt.Errorf("%w: buttons: %v", ErrInvalid, err)
			}
			r.QuickReply = &QuickReply{Body: a.Body, Buttons: a.Buttons}
		}
		_, err := w.Reply(c, r)
		return err
	case "tags":
		for _, t := range a.Tags {
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
	case "attributes":
		if c.Attributes == nil {
			c.Attributes = map[string]string{}
		}
		for k, v := range a.Attributes {
			c.Attributes[k] = v
		}
	case "handoff":
		dept := c.Department
		if a.Department != "" {
			dept = a.Department
		}
		note := "Handed over by the bot"
		if a.Note != "" {
			note += ": " + a.Note
		}
		w.leaveBot(c, "") // the bot knows: it asked
		w.note(c, note)
		w.handOff(c, dept)
	case "close":
		w.leaveBot(c, "")
		w.closeConversation(c, Closure{By: "bot:" + c.Bot, Reason: "closed by the bot"})
	default:
		return fmt.Errorf("%w: unknown action %q", ErrInvalid, a.Type)
	}
	w.Emit(EventChanged, c, "")
	return nil
}

// handOff routes a chat from its bot as a new chat would be: to an agent,
// the queue, or the leave-a-message flow.
func (w *World) handOff(c *Conversation, dept string) {
	c.Department = dept
	open := w.Rules.HoursOf(dept).Open(w.Now)
	ticket := w.Conversation(w.Contact.Ticket)
	switch {
	case open && w.anyTakesChats(dept) && (w.Rules.Timeouts.Queue > 0 || pickAgent(w.deptAgents(dept), dept, nil) != nil):
		c.State = StateQueued
		if !w.Route(c, ticket) {
			w.arm(c, TimerQueue, w.Now.Add(w.Rules.Timeouts.Queue))
			w.Queued[dept]++
			w.say(c, w.queuedText(w.Queued[dept]))
		}
	default:
		why := w.Rules.Texts.OutOfHours
		if open {
			why = w.Rules.Texts.NoAgent
		}
		c.State = StateQueued // toTicket takes a chat that nobody could take
		w.toTicket(c, why)
	}
}

// The lifecycle events: how a chat left the bot when the bot did not do it.
const (
	BotClosed    = "closed"     // the customer ended the chat
	BotHandedOff = "handed_off" // Parley took it from a failing or quiet bot
	BotTakenOver = "taken_over" // a supervisor transferred it to a person
)

// BotAction is one thing a bot asks Parley to do.
type BotAction struct {
	// Type is text, template, buttons, tags, attributes, handoff or close.
	Type string `json:"type"`
	Body string `json:"body,omitempty"`
	// Template: on WhatsApp outside the 24-hour window, the only send allowed.
	Template *channels.Template `json:"template,omitempty"`
	// Buttons are quick replies: real WhatsApp quick-reply buttons (up to
	// 3 of up to 20 characters), a numbered list after Body on SMS.
	Buttons    []string          `json:"buttons,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Department and Note go with a hand-off: where to (one of the
	// configured departments; the chat's own if empty), and what the agent
	// should know.
	Department string `json:"department,omitempty"`
	Note       string `json:"note,omitempty"`
}
