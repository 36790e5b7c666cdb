package desk

import (
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/config"
)

// This file holds the engine's decisions on customer messages and timers.
// Each rule of the behaviour section of the README is one branch here, and
// one row in engine_test.go.

// onInbound decides what a customer message means. open says whether the
// department is in business hours; bot is the bot that takes new
// conversations here (nil if none, or its circuit is open); the world holds
// the contact, its open chat and ticket, and the department's agents.
func (w *world) onInbound(m engine.Message, dept string, open bool, bot *config.Bot) {
	c := w.contact
	c.LastInbound = w.now
	w.touchContact()
	chat := w.conversation(c.Chat)
	ticket := w.conversation(c.Ticket)
	if surveyed := w.takeSurvey(); surveyed != nil && chat == nil {
		if score, comment, ok := parseRating(m.Body); ok {
			surveyed.Rating = &engine.Rating{Score: score, Comment: comment, At: w.now}
			w.add(surveyed, m)
			w.say(surveyed, w.rules.Survey.Thanks)
			return
		}
	}
	if w.takeTranscriptRequest(m, chat, ticket) {
		return
	}
	switch {
	case chat != nil && chat.State == engine.StateBot:
		w.addCustomer(chat, m)
		if word(m.Body) == wordEnd {
			w.leaveBot(chat, BotClosed)
			w.closeConversation(chat, engine.Closure{By: "customer", Reason: engine.ReasonCustomer})
			return
		}
		w.queueForBot(chat, m.ID)
	case chat != nil:
		w.onChatMessage(chat, m)
	case ticket != nil && (ticket.Session == engine.SessionAsking || ticket.Session == engine.SessionCollecting):
		w.onSessionMessage(ticket, m)
	case ticket != nil && ticket.State == engine.StateAssigned && ticket.AgentReplied:
		// The customer answers an agent who wrote from the ticket: the
		// conversation goes on there, with that agent.
		w.addCustomer(ticket, m)
		w.arm(ticket, engine.TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
	case bot != nil && (ticket == nil || ticket.Session == engine.SessionEnded || ticket.Session == engine.SessionNone):
		// The bot answers first; routing waits for its hand-off.
		w.takeReachOut()
		chat := w.newConversation(engine.KindChat, engine.StateBot, dept)
		chat.Bot = bot.ID
		w.contact.Chat = chat.ID
		w.addCustomer(chat, m)
		w.queueForBot(chat, m.ID)
		w.emit(EventChanged, chat, "")
	case open && w.anyTakesChats(dept):
		w.startChat(m, dept, ticket, w.takeReachOut())
	case open:
		w.takeReachOut()
		w.leaveMessage(m, dept, ticket, w.rules.Texts.NoAgent)
	default:
		w.takeReachOut()
		w.leaveMessage(m, dept, ticket, w.rules.Texts.OutOfHours)
	}
}

// takeSurvey returns the closed chat whose rating question is out, if any,
// and forgets it: only the next message can answer.
func (w *world) takeSurvey() *engine.Conversation {
	c := w.conversation(w.contact.Survey)
	if w.contact.Survey != "" {
		w.contact.Survey = ""
		w.touchContact()
	}
	if c == nil || c.State != engine.StateClosed || c.Rating != nil {
		return nil
	}
	return c
}

// parseRating reads "4" or "4 quick and friendly": a score of 1 to 5 first,
// then an optional comment.
func parseRating(body string) (int, string, bool) {
	body = strings.TrimSpace(body)
	if body == "" || body[0] < '1' || body[0] > '5' || (len(body) > 1 && body[1] >= '0' && body[1] <= '9') {
		return 0, "", false
	}
	return int(body[0] - '0'), strings.TrimSpace(strings.TrimLeft(body[1:], " .,:-/")), true
}

// takeReachOut returns the closed chat a business last reached out from,
// if any, and forgets it: the customer's answer is routed once.
func (w *world) takeReachOut() *engine.Conversation {
	c := w.conversation(w.contact.ReachOut)
	if w.contact.ReachOut != "" {
		w.contact.ReachOut = ""
		w.touchContact()
	}
	if c == nil || c.Kind != engine.KindChat || c.State != engine.StateClosed || c.DeletedAt != nil {
		return nil
	}
	return c
}

func (w *world) addCustomer(c *engine.Conversation, m engine.Message) {
	c.LastCustomerAt, c.AwaitingAgent = w.now, true
	if w.contact.Name != "" {
		c.ContactName = w.contact.Name
	}
	w.add(c, m)
}

// onChatMessage continues an open chat.
func (w *world) onChatMessage(chat *engine.Conversation, m engine.Message) {
	w.addCustomer(chat, m)
	if word(m.Body) == wordEnd {
		w.closeConversation(chat, engine.Closure{By: "customer", Reason: engine.ReasonCustomer})
		return
	}
	switch chat.State {
	case engine.StatePending:
		// The customer answered: the chat is live again, with the same agent.
		w.disarm(chat, engine.TimerPending)
		chat.State = engine.StateLive
		if a := w.held(chat.Assignee); a != nil {
			a.Load++
		}
		w.emit(EventChanged, chat, "")
		w.armChatTimers(chat)
	case engine.StateLive:
		w.armChatTimers(chat)
	}
}

// startChat opens a chat and routes it: to the best available agent, or to
// the department's queue when all are busy, or, with no queue wait
// configured, to the leave-a-message flow. An answer to a reach-out
// continues the chat the business wrote from, so its history starts there.
func (w *world) startChat(m engine.Message, dept string, ticket, reachOut *engine.Conversation) {
	if w.rules.Timeouts.Queue == 0 && pickAgent(w.deptAgents(dept), dept, nil) == nil {
		w.leaveMessage(m, dept, ticket, w.rules.Texts.NoAgent)
		return
	}
	var chat *engine.Conversation
	if reachOut != nil {
		chat = reachOut
		chat.State, chat.Closed, chat.Assignee, chat.Department = engine.StateQueued, nil, "", dept
		w.disarm(chat, engine.TimerArchive)
	} else {
		chat = w.newConversation(engine.KindChat, engine.StateQueued, dept)
	}
	w.contact.Chat = chat.ID
	w.addCustomer(chat, m)
	if !w.route(chat, ticket) {
		w.arm(chat, engine.TimerQueue, w.now.Add(w.rules.Timeouts.Queue))
		w.queued[dept]++
		w.say(chat, w.queuedText(w.queued[dept]))
		w.emit(EventChanged, chat, "")
	}
}

// route gives a queued chat to the best available agent, closing the
// contact's open ticket: someone is talking to them now. It reports
// whether an agent was found.
func (w *world) route(chat *engine.Conversation, ticket *engine.Conversation) bool {
	a := pickAgent(w.deptAgents(chat.Department), chat.Department, chat.Ignored)
	if a == nil {
		return false
	}
	w.assign(chat, a, true)
	if ticket != nil && ticket.Open() {
		w.note(ticket, "Closed: the customer is now in a live chat with "+w.agentName(a.ID))
		w.closeConversation(ticket, engine.Closure{By: "system", Reason: engine.ReasonLiveChat})
	}
	return true
}

// queuedText fills the queue message with the chat's position.
func (w *world) queuedText(position int) string {
	return strings.ReplaceAll(w.rules.Texts.Queued, "{position}", strconv.Itoa(position))
}

// leaveMessage starts the leave-a-message flow: the message goes on the
// contact's open ticket (or a new one), and the customer is told why nobody
// answers and asked whether to leave a message.
func (w *world) leaveMessage(m engine.Message, dept string, ticket *engine.Conversation, why string) {
	if ticket == nil {
		ticket = w.newTicket(dept)
	}
	w.addCustomer(ticket, m)
	w.askToLeaveMessage(ticket, why)
}

func (w *world) newTicket(dept string) *engine.Conversation {
	t := w.newConversation(engine.KindTicket, engine.StateUnassigned, dept)
	w.contact.Ticket = t.ID
	w.touchContact()
	w.emit(EventChanged, t, "")
	return t
}

func (w *world) askToLeaveMessage(ticket *engine.Conversation, why string) {
	ticket.Session = engine.SessionAsking
	w.say(ticket, why)
	w.say(ticket, w.rules.Texts.LeaveMessage)
	// Unanswered, the question expires like an idle live chat.
	w.arm(ticket, engine.TimerSession, w.now.Add(w.rules.Timeouts.Inactivity))
	w.arm(ticket, engine.TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
}

// onSessionMessage runs the YES / NO / //end flow. Every message is kept on
// the ticket, whatever it says.
func (w *world) onSessionMessage(ticket *engine.Conversation, m engine.Message) {
	asked, kept := ticket.Session == engine.SessionAsking, ticket.Preview
	w.addCustomer(ticket, m)
	answer := word(m.Body)
	if asked && (answer == wordYes || answer == wordNo || answer == wordEnd) {
		// YES, NO or //end answers Parley's question: the card keeps
		// showing the message the customer wrote before it.
		ticket.Preview = kept
	}
	w.arm(ticket, engine.TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
	if answer == wordEnd { // at any point, before or after YES
		if asked {
			ticket.AwaitingAgent = false // nothing was left for the team
		}
		w.endSession(ticket, w.rules.Texts.Ended, "the customer sent //end")
		return
	}
	if ticket.Session == engine.SessionCollecting {
		// NO here is an ordinary message: only //end or silence ends it.
		w.arm(ticket, engine.TimerSession, w.now.Add(w.rules.Timeouts.TicketSession))
		return
	}
	switch answer {
	case wordYes:
		ticket.Session = engine.SessionCollecting
		w.arm(ticket, engine.TimerSession, w.now.Add(w.rules.Timeouts.TicketSession))
		w.say(ticket, w.rules.Texts.Collecting)
	case wordNo:
		ticket.AwaitingAgent = false // the customer declined: nobody owes a reply
		w.endSession(ticket, w.rules.Texts.Declined, "the customer answered NO")
	default:
		w.say(ticket, w.rules.Texts.LeaveMessage)
		w.arm(ticket, engine.TimerSession, w.now.Add(w.rules.Timeouts.Inactivity))
	}
}

func (w *world) endSession(ticket *engine.Conversation, text, why string) {
	ticket.Session = engine.SessionEnded
	w.disarm(ticket, engine.TimerSession)
	w.say(ticket, text)
	w.note(ticket, "Message session ended: "+why)
}

// onTimers applies the conversation's deadlines that are due.
func (w *world) onTimers(c *engine.Conversation) {
	for _, t := range []engine.Timer{engine.TimerQueue, engine.TimerAgentResponse, engine.TimerInactivity, engine.TimerPending, engine.TimerSession, engine.TimerArchive, engine.TimerBot} {
		at, ok := c.Deadlines[t]
		if !ok || at.After(w.now) {
			continue
		}
		w.disarm(c, t)
		w.onTimer(c, t)
	}
}

func (w *world) onTimer(c *engine.Conversation, t engine.Timer) {
	switch {
	case t == engine.TimerQueue && c.State == engine.StateQueued:
		// Nobody freed up in time: the chat becomes a ticket.
		w.toTicket(c, w.rules.Texts.NoAgent)
	case t == engine.TimerAgentResponse && c.State == engine.StateLive && !c.Flagged && c.AwaitingAgent:
		w.reroute(c)
	case t == engine.TimerInactivity && c.State == engine.StateLive && !c.Flagged:
		if c.AwaitingAgent {
			// The customer's last word is unanswered: keep it as a ticket
			// so nobody is forgotten.
			w.toTicket(c, "")
		} else {
			w.closeConversation(c, engine.Closure{By: "system", Reason: engine.ReasonInactivity})
		}
	case t == engine.TimerPending && c.State == engine.StatePending:
		w.closeConversation(c, engine.Closure{By: "system", Reason: engine.ReasonPendingTimeout})
	case t == engine.TimerSession && (c.Session == engine.SessionAsking || c.Session == engine.SessionCollecting):
		c.Session = engine.SessionEnded
		w.note(c, "Message session expired")
		w.emit(EventChanged, c, "")
	case t == engine.TimerBot && c.State == engine.StateBot:
		// Neither the bot nor the customer said anything for the bot's
		// idle timeout: people take over.
		w.takeFromBot(c, "the bot did not answer in time")
	case t == engine.TimerArchive && c.Kind == engine.KindTicket && c.State != engine.StateArchived:
		w.unlink(c)
		c.State, c.Session = engine.StateArchived, engine.SessionEnded
		w.disarm(c, engine.TimerSession)
		w.emit(EventChanged, c, "")
	}
}

// reroute moves a chat whose agent did not answer to another available
// agent; the agent who ignored it is paused (if so configured) and never
// gets it back. With nobody available it waits in the queue again.
func (w *world) reroute(c *engine.Conversation) {
	ignoring := c.Assignee
	w.release(c)
	c.Ignored = append(c.Ignored, ignoring)
	if a := w.held(ignoring); a != nil && w.rules.PauseIgnoringAgent {
		a.Paused = true
	}
	w.note(c, "No answer from the agent in time: routing again")
	c.Assignee, c.State = "", engine.StateQueued
	if !w.route(c, w.conversation(w.contact.Ticket)) {
		if w.rules.Timeouts.Queue == 0 {
			w.toTicket(c, w.rules.Texts.NoAgent)
			return
		}
		w.arm(c, engine.TimerQueue, w.now.Add(w.rules.Timeouts.Queue))
		w.emit(EventChanged, c, "")
	}
}

// toTicket turns a chat nobody could take (or nobody answered) into an
// unassigned ticket. If the contact already has an open ticket, the chat is
// merged into it instead: never two open tickets for one contact. When why
// is not empty, the customer is told it and offered to leave a message.
func (w *world) toTicket(chat *engine.Conversation, why string) {
	w.release(chat)
	w.disarm(chat, engine.TimerQueue, engine.TimerAgentResponse, engine.TimerInactivity, engine.TimerPending)
	if w.contact.Chat == chat.ID {
		w.contact.Chat = ""
		w.touchContact()
	}
	ticket := w.conversation(w.contact.Ticket)
	if ticket != nil && ticket.Open() {
		ticket.Merged = append(ticket.Merged, chat.ID)
		ticket.AwaitingAgent, ticket.UpdatedAt = true, w.now
		chat.MergedInto = ticket.ID
		w.closeConversation(chat, engine.Closure{By: "system", Reason: engine.ReasonMerged})
		w.note(ticket, "A new chat from the customer was added to this ticket")
	} else {
		ticket = chat
		ticket.Kind, ticket.State, ticket.Assignee = engine.KindTicket, engine.StateUnassigned, ""
		w.contact.Ticket = ticket.ID
		w.touchContact()
		w.note(ticket, "Converted to a ticket")
	}
	w.arm(ticket, engine.TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
	if why != "" {
		w.askToLeaveMessage(ticket, why)
	}
	w.emit(EventChanged, ticket, "")
}

// dueAt is the earliest deadline of a conversation, zero if none.
func dueAt(c *engine.Conversation) time.Time {
	var first time.Time
	for _, at := range c.Deadlines {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
}
