package engine

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

var surveyOn = config.Survey{Enabled: true, Question: "How did we do, from 1 to 5?"}

// The rules of the operations agents, supervisors and admins ask for, one
// row each, decided on in-memory worlds with a fixed clock and counted ids:
// no Redis.

var (
	ann = Actor{ID: "ann", Role: "agent"}
	bob = Actor{ID: "bob", Role: "agent"}
	sue = Actor{ID: "sue", Role: "supervisor"}
)

// countedIDs makes the world's new ids id1, id2, ... so a row can name them.
func countedIDs(w *World) {
	n := 0
	w.IDs = func() string { n++; return fmt.Sprintf("id%d", n) }
}

// closedChat is a chat ann closed; the contact points at no open chat.
func (s *scene) closedChat() *Conversation {
	c := s.chat(StateClosed, "ann")
	c.Closed = &Closure{By: "ann", Reason: ReasonAgent, At: t0.Add(-time.Minute)}
	s.w.Contact.Chat = ""
	return c
}

type opRow struct {
	name  string
	given func(s *scene) *Conversation
	op    Op
	err   error // errors.Is; nil for success
	then  func(t *testing.T, s *scene, c *Conversation, out Outcome)
}

func runOpRows(t *testing.T, rows []opRow) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			s := newScene(t)
			countedIDs(s.w)
			c := r.given(s)
			r.op.Conv = c.ID
			out, err := Decide(s.w, r.op, c)
			if r.err == nil && err != nil {
				t.Fatalf("error %v, want none", err)
			}
			if r.err != nil {
				if !errors.Is(err, r.err) {
					t.Fatalf("error %v, want %v", err, r.err)
				}
				if len(s.w.Messages) > 0 {
					t.Fatalf("a refused operation wrote %d messages", len(s.w.Messages))
				}
				return
			}
			if r.then != nil {
				r.then(t, s, c, out)
			}
		})
	}
}

func TestReplyRules(t *testing.T) {
	live := func(s *scene) *Conversation {
		s.agent("ann", 1, true)
		c := s.chat(StateLive, "ann")
		c.AwaitingAgent = true
		s.w.arm(c, TimerAgentResponse, t0.Add(time.Minute))
		return c
	}
	runOpRows(t, []opRow{
		{name: "the assigned agent answers a live chat", given: live, op: Op{Kind: OpReply, Actor: ann, Reply: Reply{Body: "Hello"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if out.Message.ID != "id1" || out.Message.Author != "ann" || out.Message.Status != channels.StatusQueued {
					t.Fatalf("message %+v, want id1 by ann, queued", out.Message)
				}
				if c.AwaitingAgent || !c.LastAgentAt.Equal(t0) || !c.FirstAgentAt.Equal(t0) {
					t.Fatalf("chat still waits for its agent: %+v", c)
				}
				wantNoDeadline(t, c, TimerAgentResponse)
				wantDeadline(t, c, TimerInactivity, t0.Add(s.rules.Timeouts.Inactivity))
				wantSent(t, s, "Hello")
			}},
		{name: "another agent may not write", given: live, op: Op{Kind: OpReply, Actor: bob, Reply: Reply{Body: "Hi"}}, err: ErrNotAllowed},
		{name: "a supervisor may not write into a live chat", given: live, op: Op{Kind: OpReply, Actor: sue, Reply: Reply{Body: "Hi"}}, err: ErrNotAllowed},
		{name: "nothing to send", given: live, op: Op{Kind: OpReply, Actor: ann}, err: ErrInvalid},
		{name: "not into a closed chat", given: func(s *scene) *Conversation { return s.closedChat() },
			op: Op{Kind: OpReply, Actor: ann, Reply: Reply{Body: "Hi"}}, err: ErrWrongState},
		{name: "no free text outside the WhatsApp window", given: func(s *scene) *Conversation {
			s.w.Contact.LastInbound = t0.Add(-25 * time.Hour)
			return live(s)
		}, op: Op{Kind: OpReply, Actor: ann, Reply: Reply{Body: "Hi"}}, err: channels.ErrTemplateRequired},
		{name: "a template outside the WhatsApp window", given: func(s *scene) *Conversation {
			s.w.Contact.LastInbound = t0.Add(-25 * time.Hour)
			return live(s)
		}, op: Op{Kind: OpReply, Actor: ann, Reply: Reply{Template: &channels.Template{ContentSID: "HX1"}}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if out.Message.Template == nil {
					t.Fatal("the template was not queued")
				}
			}},
		{name: "nothing to a customer who opted out", given: func(s *scene) *Conversation {
			s.w.Contact.OptedOut = true
			return live(s)
		}, op: Op{Kind: OpReply, Actor: ann, Reply: Reply{Body: "Hi"}}, err: channels.ErrOptedOut},
		{name: "an answer to an assigned ticket marks it answered and arms its archiving", given: func(s *scene) *Conversation {
			c := s.ticket(StateAssigned, SessionEnded)
			c.Assignee = "ann"
			return c
		}, op: Op{Kind: OpReply, Actor: ann, Reply: Reply{Body: "Sorted"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if !c.AgentReplied {
					t.Fatal("the ticket is not marked answered")
				}
				wantDeadline(t, c, TimerArchive, t0.Add(s.rules.Timeouts.ArchiveAfter))
			}},
		{name: "not into an unassigned ticket", given: func(s *scene) *Conversation { return s.ticket(StateUnassigned, SessionEnded) },
			op: Op{Kind: OpReply, Actor: ann, Reply: Reply{Body: "Hi"}}, err: ErrWrongState},
	})
}

func TestCommentRules(t *testing.T) {
	live := func(s *scene) *Conversation {
		s.agent("ann", 1, true)
		s.agent("bob", 0, true)
		return s.chat(StateLive, "ann")
	}
	runOpRows(t, []opRow{
		{name: "a mention tags the agent and rings their bell", given: live,
			op: Op{Kind: OpComment, Actor: sue, Body: "@bob can you look? @bob @nobody @sue"},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if !slices.Equal(c.Mentions, []string{"bob"}) {
					t.Fatalf("mentions %q, want only bob (unknown ids and the author are left out)", c.Mentions)
				}
				if len(s.w.Notices) != 1 || s.w.Notices[0].Agent != "bob" || s.w.Notices[0].Notification.MessageID != out.Message.ID {
					t.Fatalf("notices %+v, want one for bob naming the note", s.w.Notices)
				}
				if out.Message.Direction != DirNote || out.Message.ID != "id1" {
					t.Fatalf("note %+v", out.Message)
				}
				wantSent(t, s) // a comment never goes to the customer
			}},
		{name: "naming oneself gives no access", given: live, op: Op{Kind: OpComment, Actor: ann, Body: "note to self @ann"},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if len(c.Mentions) != 0 || len(s.w.Notices) != 0 {
					t.Fatalf("mentions %q, notices %d: want none", c.Mentions, len(s.w.Notices))
				}
			}},
		{name: "an empty comment", given: live, op: Op{Kind: OpComment, Actor: ann, Body: "  "}, err: ErrInvalid},
		{name: "an agent who may not see the chat", given: live, op: Op{Kind: OpComment, Actor: bob, Body: "hi"}, err: ErrNotFound},
	})
}

func TestFlagPendingAndCloseRules(t *testing.T) {
	live := func(s *scene) *Conversation {
		s.agent("ann", 1, true)
		c := s.chat(StateLive, "ann")
		s.w.arm(c, TimerInactivity, t0.Add(time.Minute))
		return c
	}
	runOpRows(t, []opRow{
		{name: "a flagged chat has no inactivity deadline", given: live, op: Op{Kind: OpFlag, Actor: ann, Flagged: true},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if !c.Flagged {
					t.Fatal("not flagged")
				}
				wantNoDeadline(t, c, TimerInactivity, TimerAgentResponse)
			}},
		{name: "only its agent flags a chat", given: live, op: Op{Kind: OpFlag, Actor: bob, Flagged: true}, err: ErrNotAllowed},
		{name: "a ticket is not flagged", given: func(s *scene) *Conversation {
			c := s.ticket(StateAssigned, SessionEnded)
			c.Assignee = "ann"
			return c
		}, op: Op{Kind: OpFlag, Actor: ann, Flagged: true}, err: ErrWrongState},
		{name: "pending frees the agent and arms the pending close", given: live, op: Op{Kind: OpPending, Actor: ann},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.State != StatePending || s.w.Agent("ann").Load != 0 {
					t.Fatalf("state %s, ann's load %d: want pending, 0", c.State, s.w.Agent("ann").Load)
				}
				wantDeadline(t, c, TimerPending, t0.Add(s.rules.Timeouts.Pending))
				wantNoDeadline(t, c, TimerInactivity)
			}},
		{name: "a pending chat is not marked pending again", given: func(s *scene) *Conversation {
			s.agent("ann", 0, true)
			return s.chat(StatePending, "ann")
		}, op: Op{Kind: OpPending, Actor: ann}, err: ErrWrongState},
		{name: "closing records the form and frees the agent", given: live,
			op: Op{Kind: OpCloseChat, Actor: ann, Form: CloseForm{Sentiment: "positive", Notes: "done", Refs: []string{"https://example.com/o/1"}}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.State != StateClosed || c.Closed == nil || c.Closed.Notes != "done" || c.Closed.By != "ann" || !c.Closed.At.Equal(t0) {
					t.Fatalf("closed as %+v", c.Closed)
				}
				if s.w.Contact.Chat != "" || s.w.Agent("ann").Load != 0 {
					t.Fatal("the contact still points at the chat, or ann still carries it")
				}
			}},
		{name: "a sentiment is required", given: live, op: Op{Kind: OpCloseChat, Actor: ann, Form: CloseForm{}}, err: ErrInvalid},
		{name: "only configured tags", given: live, op: Op{Kind: OpCloseChat, Actor: ann, Form: CloseForm{Sentiment: "neutral", Tag: "no-such-tag"}}, err: ErrInvalid},
		{name: "a supervisor does not close an agent's chat", given: live, op: Op{Kind: OpCloseChat, Actor: sue, Form: CloseForm{Sentiment: "neutral"}}, err: ErrNotAllowed},
		{name: "a ticket is closed only once answered", given: func(s *scene) *Conversation {
			c := s.ticket(StateAssigned, SessionEnded)
			c.Assignee = "ann"
			return c
		}, op: Op{Kind: OpCloseTicket, Actor: ann}, err: ErrReplyFirst},
		{name: "an answered ticket closes, neutral by default, and is archived later", given: func(s *scene) *Conversation {
			c := s.ticket(StateAssigned, SessionEnded)
			c.Assignee, c.AgentReplied = "ann", true
			return c
		}, op: Op{Kind: OpCloseTicket, Actor: ann},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.State != StateClosed || c.Closed.Sentiment != "neutral" {
					t.Fatalf("ticket %s, closure %+v", c.State, c.Closed)
				}
				wantDeadline(t, c, TimerArchive, t0.Add(s.rules.Timeouts.ArchiveAfter))
			}},
	})
}

func TestSurveyFollowsAnAgentsClose(t *testing.T) {
	s := newScene(t)
	s.rules.Survey = surveyOn
	s.agent("ann", 1, true)
	c := s.chat(StateLive, "ann")
	if _, err := Decide(s.w, Op{Kind: OpCloseChat, Actor: ann, Conv: c.ID, Form: CloseForm{Sentiment: "neutral"}}, c); err != nil {
		t.Fatal(err)
	}
	wantSent(t, s, surveyOn.Question)
	if s.w.Contact.Survey != c.ID {
		t.Fatal("the contact does not await the survey's answer")
	}
}

func TestReopenRules(t *testing.T) {
	runOpRows(t, []opRow{
		{name: "its last agent reopens it", given: func(s *scene) *Conversation {
			s.agent("ann", 0, false) // even while offline: it is their customer
			return s.closedChat()
		}, op: Op{Kind: OpReopen, Actor: ann, Reply: Reply{Body: "Back again"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.State != StateLive || c.Assignee != "ann" || c.Closed != nil || s.w.Contact.Chat != c.ID {
					t.Fatalf("chat %s with %s, contact's chat %q", c.State, c.Assignee, s.w.Contact.Chat)
				}
				wantSent(t, s, "Back again")
			}},
		{name: "another agent may not", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			return s.closedChat()
		}, op: Op{Kind: OpReopen, Actor: bob, Reply: Reply{Body: "Hi"}}, err: ErrNotAllowed},
		{name: "a supervisor not for themselves", given: func(s *scene) *Conversation { return s.closedChat() },
			op: Op{Kind: OpReopen, Actor: sue, Reply: Reply{Body: "Hi"}}, err: ErrNotAllowed},
		{name: "a supervisor for an available agent", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			return s.closedChat()
		}, op: Op{Kind: OpReopen, Actor: sue, To: "bob", Reply: Reply{Body: "Hi"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.Assignee != "bob" || s.w.Agent("bob").Load != 1 {
					t.Fatalf("assignee %s, bob's load %d", c.Assignee, s.w.Agent("bob").Load)
				}
			}},
		{name: "a supervisor not for an agent who is away", given: func(s *scene) *Conversation {
			s.agent("bob", 0, false)
			return s.closedChat()
		}, op: Op{Kind: OpReopen, Actor: sue, To: "bob", Reply: Reply{Body: "Hi"}}, err: ErrNoAgentAvailable},
		{name: "an agent only for someone else if supervising", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			return s.closedChat()
		}, op: Op{Kind: OpReopen, Actor: ann, To: "bob", Reply: Reply{Body: "Hi"}}, err: ErrNotAllowed},
		{name: "not while the contact is in another open chat", given: func(s *scene) *Conversation {
			s.agent("ann", 0, true)
			c := s.closedChat()
			s.w.Contact.Chat = "other-chat"
			return c
		}, op: Op{Kind: OpReopen, Actor: ann, Reply: Reply{Body: "Hi"}}, err: ErrWrongState},
		{name: "the contact's open ticket closes", given: func(s *scene) *Conversation {
			s.agent("ann", 0, true)
			c := s.closedChat()
			s.ticket(StateUnassigned, SessionEnded)
			return c
		}, op: Op{Kind: OpReopen, Actor: ann, Reply: Reply{Body: "Hi"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				tk := s.conv("ticket1")
				if tk.State != StateClosed || tk.Closed.Reason != ReasonLiveChat || s.w.Contact.Ticket != "" {
					t.Fatalf("ticket %s, closure %+v", tk.State, tk.Closed)
				}
			}},
		{name: "a live chat is not reopened", given: func(s *scene) *Conversation { return s.chat(StateLive, "ann") },
			op: Op{Kind: OpReopen, Actor: ann, Reply: Reply{Body: "Hi"}}, err: ErrWrongState},
	})
}

func TestTransferRules(t *testing.T) {
	live := func(s *scene) *Conversation {
		s.agent("ann", 1, true)
		return s.chat(StateLive, "ann")
	}
	runOpRows(t, []opRow{
		{name: "to a named available agent", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			return live(s)
		}, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "bob"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.Assignee != "bob" || s.w.Agent("ann").Load != 0 || s.w.Agent("bob").Load != 1 || s.w.Routed["bob"] != 1 {
					t.Fatalf("assignee %s; loads ann %d bob %d", c.Assignee, s.w.Agent("ann").Load, s.w.Agent("bob").Load)
				}
				if last := s.w.Messages[len(s.w.Messages)-1]; last.Body != "Transferred from ann" {
					t.Fatalf("last line %q, want the transfer named by its agent", last.Body)
				}
			}},
		{name: "not to an agent who is offline", given: func(s *scene) *Conversation {
			s.agent("bob", 0, false)
			return live(s)
		}, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "bob"}}, err: ErrNoAgentAvailable},
		{name: "not to an agent who is full", given: func(s *scene) *Conversation {
			s.agent("bob", 2, true)
			return live(s)
		}, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "bob"}}, err: ErrNoAgentAvailable},
		{name: "not to oneself", given: live, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "ann"}}, err: ErrNoAgentAvailable},
		{name: "an unknown agent", given: live, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "zed"}}, err: ErrNotFound},
		{name: "an agent outside the department named", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			return live(s)
		}, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "bob", Department: "sales"}}, err: ErrInvalid},
		{name: "to a department: its least loaded available agent, never the current one", given: func(s *scene) *Conversation {
			s.agent("bob", 1, true)
			s.agent("cat", 0, true)
			s.agent("dan", 0, false)
			return live(s)
		}, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Department: "general"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.Assignee != "cat" {
					t.Fatalf("assignee %s, want cat", c.Assignee)
				}
			}},
		{name: "a department with nobody available", given: live, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Department: "general"}}, err: ErrNoAgentAvailable},
		{name: "tickets are never transferred", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			c := s.ticket(StateAssigned, SessionEnded)
			c.Assignee = "ann"
			return c
		}, op: Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "bob"}}, err: ErrTicketTransfer},
		{name: "another agent may not", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			s.agent("cat", 0, true)
			return live(s)
		}, op: Op{Kind: OpTransfer, Actor: bob, Target: Target{Agent: "cat"}}, err: ErrNotAllowed},
		{name: "a supervisor takes a chat from its bot", given: func(s *scene) *Conversation {
			s.agent("bob", 0, true)
			c := s.chat(StateBot, "")
			c.Bot = "helper"
			return c
		}, op: Op{Kind: OpTransfer, Actor: sue, Target: Target{Agent: "bob"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.State != StateLive || c.Assignee != "bob" {
					t.Fatalf("chat %s with %q", c.State, c.Assignee)
				}
				if len(s.w.BotDeliveries) != 1 || s.w.BotDeliveries[0].Message != BotTakenOver {
					t.Fatalf("bot events %+v, want the bot told it was taken over", s.w.BotDeliveries)
				}
			}},
		{name: "nothing named", given: live, op: Op{Kind: OpTransfer, Actor: ann}, err: ErrInvalid},
	})
}

func TestTicketAcceptAndReachOutRules(t *testing.T) {
	sales := func(s *scene) {
		s.rules.Departments = []config.Department{{ID: "general"}, {ID: "sales"}}
	}
	runOpRows(t, []opRow{
		{name: "an agent accepts an unassigned ticket of their department", given: func(s *scene) *Conversation {
			s.agent("ann", 0, true)
			return s.ticket(StateUnassigned, SessionEnded)
		}, op: Op{Kind: OpAccept, Actor: ann},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.State != StateAssigned || c.Assignee != "ann" || !c.AssignedAt.Equal(t0) {
					t.Fatalf("ticket %s with %s", c.State, c.Assignee)
				}
			}},
		{name: "not a ticket of another department", given: func(s *scene) *Conversation {
			sales(s)
			s.agent("ann", 0, true)
			c := s.ticket(StateUnassigned, SessionEnded)
			c.Department = "sales"
			return c
		}, op: Op{Kind: OpAccept, Actor: ann}, err: ErrNotAllowed},
		{name: "not a ticket already taken", given: func(s *scene) *Conversation {
			s.agent("ann", 0, true)
			c := s.ticket(StateAssigned, SessionEnded)
			c.Assignee = "bob"
			return c
		}, op: Op{Kind: OpAccept, Actor: ann}, err: ErrWrongState},
		{name: "a reach-out starts a new closed chat", given: func(s *scene) *Conversation { return s.closedChat() },
			op: Op{Kind: OpReachOut, Actor: ann, Reply: Reply{Body: "Your order shipped"}},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				chat := s.onlyNew(KindChat)
				if out.ID != chat.ID || chat.State != StateClosed || chat.Closed.Reason != ReasonReachOut || s.w.Contact.ReachOut != chat.ID {
					t.Fatalf("reach-out %q: %+v", out.ID, chat)
				}
				wantSent(t, s, "Your order shipped")
			}},
		{name: "no reach-out by a stranger", given: func(s *scene) *Conversation { return s.closedChat() },
			op: Op{Kind: OpReachOut, Actor: bob, Reply: Reply{Body: "Hi"}}, err: ErrNotAllowed},
		{name: "no reach-out while the contact is in an open chat", given: func(s *scene) *Conversation {
			c := s.closedChat()
			s.w.Contact.Chat = "other"
			return c
		}, op: Op{Kind: OpReachOut, Actor: sue, Reply: Reply{Body: "Hi"}}, err: ErrWrongState},
		{name: "no reach-out from an open chat", given: func(s *scene) *Conversation { return s.chat(StateLive, "ann") },
			op: Op{Kind: OpReachOut, Actor: ann, Reply: Reply{Body: "Hi"}}, err: ErrWrongState},
	})
}

func TestTrashAndConvertRules(t *testing.T) {
	runOpRows(t, []opRow{
		{name: "a closed chat goes to the trash and is purged later", given: func(s *scene) *Conversation { return s.closedChat() },
			op: Op{Kind: OpDelete, Actor: ann},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.DeletedAt == nil || c.DeletedBy != "ann" {
					t.Fatal("not in the trash")
				}
				wantDeadline(t, c, TimerPurge, t0.Add(TrashKeep))
			}},
		{name: "not by a stranger", given: func(s *scene) *Conversation { return s.closedChat() }, op: Op{Kind: OpDelete, Actor: bob}, err: ErrNotAllowed},
		{name: "not an open chat", given: func(s *scene) *Conversation { return s.chat(StateLive, "ann") }, op: Op{Kind: OpDelete, Actor: ann}, err: ErrWrongState},
		{name: "restored by who deleted it", given: func(s *scene) *Conversation {
			c := s.closedChat()
			at := t0.Add(-time.Hour)
			c.DeletedAt, c.DeletedBy = &at, "ann"
			s.w.arm(c, TimerPurge, at.Add(TrashKeep))
			return c
		}, op: Op{Kind: OpRestore, Actor: ann},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if c.DeletedAt != nil {
					t.Fatal("still in the trash")
				}
				wantNoDeadline(t, c, TimerPurge)
			}},
		{name: "not restored by another agent", given: func(s *scene) *Conversation {
			c := s.closedChat()
			at := t0
			c.DeletedAt, c.DeletedBy = &at, "ann"
			return c
		}, op: Op{Kind: OpRestore, Actor: bob}, err: ErrNotAllowed},
		{name: "a closed chat becomes a ticket assigned to its converter", given: func(s *scene) *Conversation { return s.closedChat() },
			op: Op{Kind: OpConvert, Actor: ann, Subject: " Refund for order 42 "},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				tk := s.onlyNew(KindTicket)
				if out.ID != tk.ID || tk.Subject != "Refund for order 42" || tk.Assignee != "ann" || tk.State != StateAssigned || c.ConvertedTo != tk.ID {
					t.Fatalf("ticket %+v", tk)
				}
			}},
		{name: "a subject is required", given: func(s *scene) *Conversation { return s.closedChat() },
			op: Op{Kind: OpConvert, Actor: ann, Subject: " "}, err: ErrInvalid},
		{name: "the contact's open ticket takes the chat", given: func(s *scene) *Conversation {
			c := s.closedChat()
			s.ticket(StateAssigned, SessionEnded).Assignee = "bob"
			return c
		}, op: Op{Kind: OpConvert, Actor: ann, Subject: "More"},
			then: func(t *testing.T, s *scene, c *Conversation, out Outcome) {
				if out.ID != "ticket1" || !slices.Contains(s.conv("ticket1").Merged, c.ID) {
					t.Fatalf("converted into %q", out.ID)
				}
			}},
	})
}

func TestQuickAcceptDecidesAgainWhenOneIsTaken(t *testing.T) {
	s := newScene(t)
	s.agent("ann", 0, true)
	free := s.w.Track(&Conversation{ID: "t1", Kind: KindTicket, State: StateUnassigned, Department: "general", Version: 1})
	taken := s.w.Track(&Conversation{ID: "t2", Kind: KindTicket, State: StateAssigned, Assignee: "bob", Department: "general", Version: 1})
	if _, err := DecideQuickAccept(s.w, ann, []*Conversation{free, taken}); !errors.Is(err, ErrConflict) {
		t.Fatalf("error %v, want a conflict so that the tickets are read again", err)
	}
	s = newScene(t)
	s.agent("ann", 0, true)
	a := s.w.Track(&Conversation{ID: "t1", Kind: KindTicket, State: StateUnassigned, Department: "general", Version: 1})
	b := s.w.Track(&Conversation{ID: "t2", Kind: KindTicket, State: StateUnassigned, Department: "general", Version: 1})
	ids, err := DecideQuickAccept(s.w, ann, []*Conversation{a, b})
	if err != nil || !slices.Equal(ids, []string{"t1", "t2"}) || a.Assignee != "ann" || b.Assignee != "ann" {
		t.Fatalf("taken %q, %v", ids, err)
	}
}

func TestPresenceRules(t *testing.T) {
	s := newScene(t)
	a := s.agent("ann", 0, true)
	a.Paused = true
	if err := DecidePresence(s.w, a, "busy", true); !errors.Is(err, ErrInvalid) {
		t.Fatalf("presence busy: %v, want ErrInvalid", err)
	}
	if err := DecidePresence(s.w, a, Away, true); err != nil || !a.Paused || a.Presence != Away {
		t.Fatalf("away: %v; paused %v", err, a.Paused)
	}
	if err := DecidePresence(s.w, a, Online, true); err != nil || a.Paused || !a.TakesChats() {
		t.Fatalf("online: %v; paused %v", err, a.Paused)
	}
}

// TestOpNeeds checks what each operation has loaded: a decision finds every
// agent and department it reads.
func TestOpNeeds(t *testing.T) {
	c := &Conversation{Assignee: "ann"}
	for _, r := range []struct {
		op            Op
		agents, depts []string
	}{
		{Op{Kind: OpReply, Actor: bob}, []string{"bob", "ann"}, nil},
		{Op{Kind: OpReopen, Actor: sue, To: "cat"}, []string{"sue", "ann", "cat"}, nil},
		{Op{Kind: OpTransfer, Actor: ann, Target: Target{Agent: "bob"}}, []string{"ann", "ann", "bob"}, nil},
		{Op{Kind: OpTransfer, Actor: ann, Target: Target{Department: "sales"}}, []string{"ann", "ann"}, []string{"sales"}},
		{Op{Kind: OpComment, Actor: sue, Body: "@bob and @cat, @bob"}, []string{"sue", "ann", "bob", "cat"}, nil},
	} {
		agents, depts := r.op.Needs(c)
		if !slices.Equal(agents, r.agents) || !slices.Equal(depts, r.depts) {
			t.Errorf("%s: needs %q %q, want %q %q", r.op.Kind, agents, depts, r.agents, r.depts)
		}
	}
}

// TestPlanInbound checks what an inbound message has loaded before the
// engine decides on it.
func TestPlanInbound(t *testing.T) {
	in := func(body string) channels.Inbound {
		return channels.Inbound{From: "whatsapp:+27820000001", To: "whatsapp:+14155238886", Body: body}
	}
	for _, r := range []struct {
		name  string
		given func(s *scene)
		body  string
		want  InboundPlan
	}{
		{"a live chat goes on: nothing more", func(s *scene) { s.chat(StateLive, "ann") }, "hi",
			InboundPlan{Dept: "general", Open: true}},
		{"a pending chat comes back: its agent's load grows", func(s *scene) { s.chat(StatePending, "ann") }, "hi",
			InboundPlan{Dept: "general", Open: true, Agent: "ann"}},
		{"the customer ends a live chat: its agent's load shrinks", func(s *scene) { s.chat(StateLive, "ann") }, "//end",
			InboundPlan{Dept: "general", Open: true, Agent: "ann"}},
		{"a ticket's questions go on: no routing", func(s *scene) { s.ticket(StateUnassigned, SessionAsking) }, "YES",
			InboundPlan{Dept: "general", Open: true}},
		{"a new conversation in hours: the department", func(s *scene) {}, "hi",
			InboundPlan{Dept: "general", Open: true, LoadDept: true}},
		{"a new conversation out of hours: no routing", func(s *scene) {
			s.rules.Hours = config.Hours{Timezone: "UTC", Weekly: map[string][]string{"monday": {"12:00-17:00"}}}
			if err := s.rules.Hours.Compile(); err != nil {
				t.Fatal(err)
			}
		}, "hi", InboundPlan{Dept: "general", Open: false}},
	} {
		t.Run(r.name, func(t *testing.T) {
			s := newScene(t)
			r.given(s)
			if got := PlanInbound(s.w, in(r.body)); got != r.want {
				t.Fatalf("plan %+v, want %+v", got, r.want)
			}
		})
	}
}

// TestUnloadedAgentIsNoted: a decision that changes an agent the loading
// missed is noted, so that the commit refuses it rather than lose the
// change; an agent looked for and not found is not.
func TestUnloadedAgentIsNoted(t *testing.T) {
	s := newScene(t)
	s.chat(StatePending, "ann")
	s.in("I'm back", true)
	if !slices.Equal(s.w.Unloaded, []string{"ann"}) {
		t.Fatalf("unloaded %q, want ann", s.w.Unloaded)
	}
	s = newScene(t)
	s.chat(StatePending, "gone")
	s.w.Sought["gone"] = true // looked for: deleted since
	s.in("I'm back", true)
	if len(s.w.Unloaded) != 0 {
		t.Fatalf("unloaded %q, want none", s.w.Unloaded)
	}
}
