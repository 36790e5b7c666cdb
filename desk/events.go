package desk

import (
	"encoding/json"
	"time"
)

// Event is a live update, published on the store's Events channel in the same
// atomic write as the change it announces.
type Event struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id,omitempty"`
	MessageID      string `json:"message_id,omitempty"`
	Status         string `json:"status,omitempty"`
	State          string `json:"state,omitempty"`
	Assignee       string `json:"assignee,omitempty"`
	Agent          string `json:"agent,omitempty"`
	// Was is the previous assignee when the change moved the conversation.
	Was        string `json:"was,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Department string `json:"department,omitempty"`
	// Mentions are the agents a comment named.
	Mentions []string `json:"mentions,omitempty"`
	// Typing is set on viewer events: the agent is typing, not only viewing.
	Typing bool `json:"typing,omitempty"`
	// Preview and LastCustomerAt are the conversation's card after a message
	// in or out, so a desk updates the card without reading its list again.
	Preview        string    `json:"preview,omitempty"`
	LastCustomerAt time.Time `json:"last_customer_at,omitzero"`
	At             time.Time `json:"at"`
}

// Event types.
const (
	EventMessageIn     = "message.in"
	EventMessageOut    = "message.out"
	EventMessageStatus = "message.status"
	EventNote          = "message.note"
	EventChanged       = "conversation.changed"
	EventAssigned      = "conversation.assigned"
	EventClosed        = "conversation.closed"
	EventAgent         = "agent.changed"
	EventComment       = "comment"
	EventViewing       = "viewing"
)

func (e Event) encode() []byte {
	raw, _ := json.Marshal(e) // an Event always marshals
	return raw
}
