package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// This file holds the engine's decisions on customer messages and timers.
// Each rule of the behaviour section of the README is one branch here, and
// one row in engine_test.go.

// OnInbound decides what a customer message means. open says whether the
// department is in business hours; bot is the bot that takes new
// conversations here (nil if none, or its circuit is open); the world holds
// the contact, its open chat and ticket, and the department's agents.
func (w *World) OnInbound(m Message, dept string, open bool, bot *config.Bot) {
	c := w.Contact
	c.LastInbound = w.Now
	w.TouchContact()
	chat := w.Conversation(c.Chat)
	ticket := w.Conversation(c.Ticket)
	if surveyed := w.takeSurvey(); surveyed != nil && chat == nil {
		if score, comment, ok := parseRating(m.Body); ok {
			surveyed.Rating = &Rating{Score: score, Comment: comment, At: w.Now}
			w.add(surveyed, m)
			w.say(surveyed, w.Rules.Survey.Thanks)
			return
		}
	}
	if w.takeTranscriptRequest(m, chat, ticket) {
		return
	}
	switch {
	case chat != nil && chat.State == StateBot:
		w.addCustomer(chat, m)
		if Word(m.Body) == wordEnd {
			w.leaveBot(chat, BotClosed)
			w.closeConversation(chat, Closure{By: "customer", Reason: ReasonCustomer})
			return
		}
		w.queueForBot(chat, m.ID)
	case chat != nil:
		w.onChatMessage(chat, m)
	case ticket != nil && (ticket.Session == SessionAsking || ticket.Session == SessionCollecting):
		w.onSessionMessage(ticket, m)
	case ticket != nil && ticket.State == StateAssigned && ticket.AgentReplied:
		// The customer answers an agent who wrote from the ticket: the
		// conversation goes on there, with that agent.
		w.addCustomer(ticket, m)
		w.arm(ticket, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
	case bot != nil && (ticket == nil || ticket.Session == SessionEnded || ticket.Session == SessionNone):
		// The bot answers first; routing waits for its hand-off.
		w.takeReachOut()
		chat := w.NewConversation(KindChat, StateBot, dept)
		chat.Bot = bot.ID
		w.Contact.Chat = chat.ID
		w.addCustomer(chat, m)
		w.queueForBot(chat, m.ID)
		w.Emit(EventChanged, chat, "")
	case open && w.anyTakesChats(dept):
		w.startChat(m, dept, ticket, w.takeReachOut())
	case open:
		w.takeReachOut()
		w.leaveMessage(m, dept, ticket, w.Rules.Texts.NoAgent)
	default:
		w.takeReachOut()
		w.leaveMessage(m, dept, ticket, w.Rules.Texts.OutOfHours)
	}
}

// takeSurvey returns the closed chat whose rating question is out, if any,
// and forgets it: only the next message can answer.
func (w *World) takeSurvey() *Conversation {
	c := w.Conversation(w.Contact.Survey)
	if w.Contact.Survey != "" {
		w.Contact.Survey = ""
		w.TouchContact()
	}
	if c == nil || c.State != StateClosed || c.Rating != nil {
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
func (w *World) takeReachOut() *Conversation {
	c := w.Conversation(w.Contact.ReachOut)
	if w.Contact.ReachOut != "" {
		w.Contact.ReachOut = ""
		w.TouchContact()
	}
	if c == nil || c.Kind != KindChat || c.State != StateClosed || c.DeletedAt != nil {
		return nil
	}
	return c
}

func (w *World) addCustomer(c *Conversation, m Message) {
	c.LastCustomerAt, c.AwaitingAgent = w.Now, true
	if w.Contact.Name != "" {
		c.ContactName = w.Contact.Name
	}
	w.add(c, m)
}

// onChatMessage continues an open chat.
func (w *World) onChatMessage(chat *Conversation, m Message) {
	w.addCustomer(chat, m)
	if Word(m.Body) == wordEnd {
		w.closeConversation(chat, Closure{By: "customer", Reason: ReasonCustomer})
		return
	}
	switch chat.State {
	case StatePending:
		// The customer answered: the chat is live again, with the same agent.
		w.disarm(chat, TimerPending)
		chat.State = StateLive
		if a := w.held(chat.Assignee); a != nil {
			a.Load++
		}
		w.Emit(EventChanged, chat, "")
		w.armChatTimers(chat)
	case StateLive:
		w.armChatTimers(chat)
	}
}

// startChat opens a chat and routes it: to the best available agent, or to
// the department's queue when all are busy, or, with no queue wait
// configured, to the leave-a-message flow. An answer to a reach-out
// continues the chat the business wrote from, so its history starts there.
func (w *World) startChat(m Message, dept string, ticket, reachOut *Conversation) {
	if w.Rules.Timeouts.Queue == 0 && pickAgent(w.deptAgents(dept), dept, nil) == nil {
		w.leaveMessage(m, dept, ticket, w.Rules.Texts.NoAgent)
		return
	}
	var chat *Conversation
	if reachOut != nil {
		chat = reachOut
		chat.State, chat.Closed, chat.Assignee, chat.Department = StateQueued, nil, "", dept
		w.disarm(chat, TimerArchive)
	} else {
		chat = w.NewConversation(KindChat, StateQueued, dept)
	}
	w.Contact.Chat = chat.ID
	w.addCustomer(chat, m)
	if !w.Route(chat, ticket) {
		w.arm(chat, TimerQueue, w.Now.Add(w.Rules.Timeouts.Queue))
		w.Queued[dept]++
		w.say(chat, w.queuedText(w.Queued[dept]))
		w.Emit(EventChanged, chat, "")
	}
}

// Route gives a queued chat to the best available agent, closing the
// contact's open ticket: someone is talking to them now. It reports
// whether an agent was found.
func (w *World) Route(chat *Conversation, ticket *Conversation) bool {
	a := pickAgent(w.deptAgents(chat.Department), chat.Department, chat.Ignored)
	if a == nil {
		return false
	}
	w.assign(chat, a, true)
	if ticket != nil && ticket.Open() {
		w.note(ticket, "Closed: the customer is now in a live chat with "+w.agentName(a.ID))
		w.closeConversation(ticket, Closure{By: "system", Reason: ReasonLiveChat})
	}
	return true
}

// queuedText fills the queue message with the chat's position.
func (w *World) queuedText(position int) string {
	return strings.ReplaceAll(w.Rules.Texts.Queued, "{position}", strconv.Itoa(position))
}

// leaveMessage starts the leave-a-message flow: the message goes on the
// contact's open ticket (or a new one), and the customer is told why nobody
// answers and asked whether to leave a message.
func (w *World) leaveMessage(m Message, dept string, ticket *Conversation, why string) {
	if ticket == nil {
		ticket = w.newTicket(dept)
	}
	w.addCustomer(ticket, m)
	w.askToLeaveMessage(ticket, why)
}

func (w *World) newTicket(dept string) *Conversation {
	t := w.NewConversation(KindTicket, StateUnassigned, dept)
	w.Contact.Ticket = t.ID
	w.TouchContact()
	w.Emit(EventChanged, t, "")
	return t
}

func (w *World) askToLeaveMessage(ticket *Conversation, why string) {
	ticket.Session = SessionAsking
	w.say(ticket, why)
	w.say(ticket, w.Rules.Texts.LeaveMessage)
	// Unanswered, the question expires like an idle live chat.
	w.arm(ticket, TimerSession, w.Now.Add(w.Rules.Timeouts.Inactivity))
	w.arm(ticket, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
}

// onSessionMessage runs the YES / NO / //end flow. Every message is kept on
// the ticket, whatever it says.
func (w *World) onSessionMessage(ticket *Conversation, m Message) {
	asked, kept := ticket.Session == SessionAsking, ticket.Preview
	w.addCustomer(ticket, m)
	answer := Word(m.Body)
	if asked && (answer == wordYes || answer == wordNo || answer == wordEnd) {
		// YES, NO or //end answers Parley's question: the card keeps
		// showing the message the customer wrote before it.
		ticket.Preview = kept
	}
	w.arm(ticket, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
	if answer == wordEnd { // at any point, before or after YES
		if asked {
			ticket.AwaitingAgent = false // nothing was left for the team
		}
		w.endSession(ticket, w.Rules.Texts.Ended, "the customer sent //end")
		return
	}
	if ticket.Session == SessionCollecting {
		// NO here is an ordinary message: only //end or silence ends it.
		w.arm(ticket, TimerSession, w.Now.Add(w.Rules.Timeouts.TicketSession))
		return
	}
	switch answer {
	case wordYes:
		ticket.Session = SessionCollecting
		w.arm(ticket, TimerSession, w.Now.Add(w.Rules.Timeouts.TicketSession))
		w.say(ticket, w.Rules.Texts.Collecting)
	case wordNo:
		ticket.AwaitingAgent = false // the customer declined: nobody owes a reply
		w.endSession(ticket, w.Rules.Texts.Declined, "the customer answered NO")
	default:
		w.say(ticket, w.Rules.Texts.LeaveMessage)
		w.arm(ticket, TimerSession, w.Now.Add(w.Rules.Timeouts.Inactivity))
	}
}

func (w *World) endSession(ticket *Conversation, text, why string) {
	ticket.Session = SessionEnded
	w.disarm(ticket, TimerSession)
	w.say(ticket, text)
	w.note(ticket, "Message session ended: "+why)
}

// OnTimers applies the conversation's deadlines that are due.
func (w *World) OnTimers(c *Conversation) {
	for _, t := range []Timer{TimerQueue, TimerAgentResponse, TimerInactivity, TimerPending, TimerSession, TimerArchive, TimerBot} {
		at, ok := c.Deadlines[t]
		if !ok || at.After(w.Now) {
			continue
		}
		w.disarm(c, t)
		w.onTimer(c, t)
	}
}

func (w *World) onTimer(c *Conversation, t Timer) {
	switch {
	case t == TimerQueue && c.State == StateQueued:
		// Nobody freed up in time: the chat becomes a ticket.
		w.toTicket(c, w.Rules.Texts.NoAgent)
	case t == TimerAgentResponse && c.State == StateLive && !c.Flagged && c.AwaitingAgent:
		w.reroute(c)
	case t == TimerInactivity && c.State == StateLive && !c.Flagged:
		if c.AwaitingAgent {
			// The customer's last word is unanswered: keep it as a ticket
			// so nobody is forgotten.
			w.toTicket(c, "")
		} else {
			w.closeConversation(c, Closure{By: "system", Reason: ReasonInactivity})
		}
	case t == TimerPending && c.State == StatePending:
		w.closeConversation(c, Closure{By: "system", Reason: ReasonPendingTimeout})
	case t == TimerSession && (c.Session == SessionAsking || c.Session == SessionCollecting):
		c.Session = SessionEnded
		w.note(c, "Message session expired")
		w.Emit(EventChanged, c, "")
	case t == TimerBot && c.State == StateBot:
		// Neither the bot nor the customer said anything for the bot's
		// idle timeout: people take over.
		w.TakeFromBot(c, "the bot did not answer in time")
	case t == TimerArchive && c.Kind == KindTicket && c.State != StateArchived:
		w.unlink(c)
		c.State, c.Session = StateArchived, SessionEnded
		w.disarm(c, TimerSession)
		w.Emit(EventChanged, c, "")
	}
}

// reroute moves a chat whose agent did not answer to another available
// agent; the agent who ignored it is paused (if so configured) and never
// gets it back. With nobody available it waits in the queue again.
func (w *World) reroute(c *Conversation) {
	ignoring := c.Assignee
	w.release(c)
	c.Ignored = append(c.Ignored, ignoring)
	if a := w.held(ignoring); a != nil && w.Rules.PauseIgnoringAgent {
		a.Paused = true
	}
	w.note(c, "No answer from the agent in time: routing again")
	c.Assignee, c.State = "", StateQueued
	if !w.Route(c, w.Conversation(w.Contact.Ticket)) {
		if w.Rules.Timeouts.Queue == 0 {
			w.toTicket(c, w.Rules.Texts.NoAgent)
			return
		}
		w.arm(c, TimerQueue, w.Now.Add(w.Rules.Timeouts.Queue))
		w.Emit(EventChanged, c, "")
	}
}

// toTicket turns a chat nobody could take (or nobody answered) into an
// unassigned ticket. If the contact already has an open ticket, the chat is
// merged into it instead: never two open tickets for one contact. When why
// is not empty, the customer is told it and offered to leave a message.
func (w *World) toTicket(chat *Conversation, why string) {
	w.release(chat)
	w.disarm(chat, TimerQueue, TimerAgentResponse, TimerInactivity, TimerPending)
	if w.Contact.Chat == chat.ID {
		w.Contact.Chat = ""
		w.TouchContact()
	}
	ticket := w.Conversation(w.Contact.Ticket)
	if ticket != nil && ticket.Open() {
		ticket.Merged = append(ticket.Merged, chat.ID)
		ticket.AwaitingAgent, ticket.UpdatedAt = true, w.Now
		chat.MergedInto = ticket.ID
		w.closeConversation(chat, Closure{By: "system", Reason: ReasonMerged})
		w.note(ticket, "A new chat from the customer was added to this ticket")
	} else {
		ticket = chat
		ticket.Kind, ticket.State, ticket.Assignee = KindTicket, StateUnassigned, ""
		w.Contact.Ticket = ticket.ID
		w.TouchContact()
		w.note(ticket, "Converted to a ticket")
	}
	w.arm(ticket, TimerArchive, w.Now.Add(w.Rules.Timeouts.ArchiveAfter))
	if why != "" {
		w.askToLeaveMessage(ticket, why)
	}
	w.Emit(EventChanged, ticket, "")
}

// DueAt is the earliest deadline of a conversation, zero if none.
func DueAt(c *Conversation) time.Time {
	var first time.Time
	for _, at := range c.Deadlines {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
}

// InboundPlan is what the decision on an inbound message reads besides the
// contact and its conversations, and the facts it is decided with.
type InboundPlan struct {
	Dept     string      // the department the message belongs to
	Open     bool        // whether that department is in business hours
	Bot      *config.Bot // the bot that would take a new conversation
	Agent    string      // the agent whose load the message may change
	LoadDept bool        // routing may happen: the department's agents and queue
}

// PlanInbound chooses what to load for an inbound message, from the same
// state onInbound decides on: the open chat's agent when the message may
// change their load (a pending chat comes back, or the customer ends it),
// nothing when it continues a ticket, and otherwise, in business hours, the
// department a new chat is routed in. Should the two drift apart, the
// world notes the agent changed without being loaded (world.held) and the
// commit refuses it.
func PlanInbound(w *World, in channels.Inbound) InboundPlan {
	c := w.Contact
	p := InboundPlan{Dept: w.Rules.Department(string(in.To)), Open: true}
	chat, ticket := w.Conversation(c.Chat), w.Conversation(c.Ticket)
	switch {
	case chat != nil:
		p.Dept = chat.Department
		if chat.State == StatePending || Word(in.Body) == wordEnd {
			p.Agent = chat.Assignee
		}
	case ticket != nil && (ticket.Session == SessionAsking || ticket.Session == SessionCollecting ||
		(ticket.State == StateAssigned && ticket.AgentReplied)):
		// The message continues the ticket: no routing.
	default:
		if ticket != nil {
			p.Dept = ticket.Department
		}
		p.Open = w.Rules.HoursOf(p.Dept).Open(w.Now)
		// Only a message that would start a chat can go to a bot.
		p.Bot = w.Rules.BotFor(p.Dept, string(in.To), p.Open)
		p.LoadDept = p.Open
	}
	return p
}

// WakeNeeds is what the timers of c read besides its contact: re-routing,
// conversion and a quiet bot's hand-off move chats between agents, so the
// chat's agent and its department come along.
func WakeNeeds(c *Conversation) (agents, depts []string) {
	if c.State == StateLive || c.State == StateQueued || c.State == StateBot {
		return []string{c.Assignee}, []string{c.Department}
	}
	return nil, nil
}
