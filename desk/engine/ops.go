package engine

import (
	"errors"

	"github.com/oklog/ulid/v2"
)

var (
	// ErrNotAllowed: the actor may not do this to this conversation.
	ErrNotAllowed = errors.New("not allowed")
	// ErrWrongState: the conversation is not in a state this applies to.
	ErrWrongState = errors.New("not possible in the conversation's current state")
	// ErrNoAgentAvailable: no agent of the target can take a chat now.
	ErrNoAgentAvailable = errors.New("no agent is online and available")
	// ErrTicketTransfer: tickets stay with the agent who accepted them.
	ErrTicketTransfer = errors.New("tickets cannot be transferred between agents")
	// ErrReplyFirst: a ticket is closed only after an agent answered it.
	ErrReplyFirst = errors.New("reply to the customer before closing the ticket")
)

// Actor is who asks for an operation.
type Actor struct {
	ID   string
	Role string
}

// Supervises reports whether the actor is a supervisor or an admin.
func (a Actor) Supervises() bool { return a.Role == "supervisor" || a.Role == "admin" }

// Sentiments an agent records on closing a chat.
var Sentiments = []string{"positive", "neutral", "negative"}

// CloseForm is what an agent records when closing a chat.
type CloseForm struct {
	Sentiment string   `json:"sentiment"`
	Notes     string   `json:"notes"`
	Tag       string   `json:"tag"`
	Refs      []string `json:"refs"`
}

// closure is an agent's close, as recorded.
func (f CloseForm) closure(agent string) Closure {
	return Closure{By: agent, Reason: ReasonAgent, Sentiment: f.Sentiment, Notes: f.Notes, Tag: f.Tag, Refs: f.Refs}
}

// Target is where a chat is transferred: a department (its best available
// agent), an agent within a department, or any agent.
type Target struct {
	Department string `json:"department"`
	Agent      string `json:"agent"`
}

// ErrInvalid marks a request the caller got wrong (bad value, missing field).
var ErrInvalid = errors.New("invalid request")

// NewID returns a sortable unique id (a ULID).
func NewID() string { return ulid.Make().String() }

// ErrNotFound is returned for an id that names nothing.
var ErrNotFound = errors.New("not found")

// ErrConflict means a guard failed: something changed since the state was
// loaded. The caller loads again, decides again and retries.
var ErrConflict = errors.New("concurrent change")

// ErrTemplateNotApproved: a send of a synced template WhatsApp has not
// approved, refused before Twilio is called.
var ErrTemplateNotApproved = errors.New("template not approved by WhatsApp")
