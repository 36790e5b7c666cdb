// Package desk is Parley's domain: contacts, conversations, messages, the
// decisions taken on them, and their storage in Redis. It talks to the job
// system and to providers only through the small interfaces it declares.
package desk

import (
	"time"

	"github.com/parleydesk/parley/channels"
)

// Kind tells a live chat from a ticket.
type Kind string

const (
	KindChat   Kind = "chat"
	KindTicket Kind = "ticket"
)

// State is where a conversation is in its life. Chats and tickets have their
// own states; see the README's behaviour section.
type State string

const (
	StateQueued State = "queued"
	StateClosed State = "closed"
)

// Direction says who wrote a message.
type Direction string

const (
	DirIn     Direction = "in"     // from the contact
	DirOut    Direction = "out"    // to the contact
	DirSystem Direction = "system" // an event recorded in the history
	DirNote   Direction = "note"   // internal, never sent
)

// Contact is one address on one channel.
type Contact struct {
	Address     channels.Address `json:"address"`
	Name        string           `json:"name,omitempty"`
	WaID        string           `json:"wa_id,omitempty"`
	LastInbound time.Time        `json:"last_inbound,omitzero"`
	OptedOut    bool             `json:"opted_out"`
	// Open is the id of the contact's open conversation, if any.
	Open    string `json:"open,omitempty"`
	Version int64  `json:"version"`
}

// Conversation is a chat or a ticket with one contact.
type Conversation struct {
	ID        string           `json:"id"`
	Contact   channels.Address `json:"contact"`
	Channel   channels.Channel `json:"channel"`
	Kind      Kind             `json:"kind"`
	State     State            `json:"state"`
	Assignee  string           `json:"assignee,omitempty"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
	// Version is bumped by every committed change; a write that was decided
	// on an older version is refused and decided again.
	Version int64 `json:"version"`
}

// Message is one entry of a conversation's history.
type Message struct {
	ID             string             `json:"id"`
	ConversationID string             `json:"conversation_id"`
	Direction      Direction          `json:"direction"`
	Author         string             `json:"author,omitempty"`
	To             channels.Address   `json:"to,omitempty"`
	Body           string             `json:"body,omitempty"`
	Media          []channels.Media   `json:"media,omitempty"`
	Location       *channels.Location `json:"location,omitempty"`
	Button         *channels.Button   `json:"button,omitempty"`
	Template       *channels.Template `json:"template,omitempty"`
	At             time.Time          `json:"at"`

	// Delivery, for outbound messages; SID is also set on inbound ones.
	SID       string          `json:"sid,omitempty"`
	Status    channels.Status `json:"status,omitempty"`
	ErrorCode string          `json:"error_code,omitempty"`
	Error     string          `json:"error,omitempty"`
}
