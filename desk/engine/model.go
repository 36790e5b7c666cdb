// Package engine is Parley's domain model and its decisions: contacts,
// conversations, messages and agents, and the rules that change them. It
// knows nothing of Redis, jobs or HTTP; desk loads its state, asks it what
// to do and writes the answer.
package engine

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

// State is where a conversation is in its life.
//
//	chat:   (bot →) queued → live ⇄ pending → closed (reopenable)
//	ticket: unassigned → assigned → closed → archived
type State string

const (
	StateQueued     State = "queued"
	StateLive       State = "live"
	StatePending    State = "pending"
	StateBot        State = "bot" // an external bot holds the chat
	StateClosed     State = "closed"
	StateUnassigned State = "unassigned"
	StateAssigned   State = "assigned"
	StateArchived   State = "archived"
)

// Session is the leave-a-message flow running on a ticket.
type Session string

const (
	SessionNone       Session = ""
	SessionAsking     Session = "asking"     // the YES/NO question is out
	SessionCollecting Session = "collecting" // YES: every message joins the ticket
	SessionEnded      Session = "ended"      // NO, //end, or expired
)

// Timer names a conversation's deadline.
type Timer string

const (
	TimerQueue         Timer = "queue"          // a queued chat becomes a ticket
	TimerAgentResponse Timer = "agent_response" // the agent did not answer: re-route
	TimerInactivity    Timer = "inactivity"     // nobody wrote: close, or convert
	TimerPending       Timer = "pending"        // the customer did not answer: close
	TimerSession       Timer = "session"        // the leave-a-message session expires
	TimerArchive       Timer = "archive"        // a quiet ticket is archived
	TimerBot           Timer = "bot"            // the bot went quiet: people take the chat
)

// Direction says who wrote a message.
type Direction string

const (
	DirIn     Direction = "in"     // from the contact
	DirOut    Direction = "out"    // to the contact
	DirSystem Direction = "system" // an event recorded in the history
	DirNote   Direction = "note"   // internal, never sent
)

// SystemAuthor signs what Parley itself writes.
const SystemAuthor = "parley"

// Contact is one address on one channel.
type Contact struct {
	Address     channels.Address `json:"address"`
	Name        string           `json:"name,omitempty"`
	WaID        string           `json:"wa_id,omitempty"`
	LastInbound time.Time        `json:"last_inbound,omitzero"`
	OptedOut    bool             `json:"opted_out"`
	// WindowClosedAt is when WhatsApp refused free text (63016) although
	// the last inbound time said the window was open; UnreachableAt when
	// Twilio found the number cannot receive messages. Each holds until
	// the customer writes again.
	WindowClosedAt time.Time `json:"window_closed_at,omitzero"`
	UnreachableAt  time.Time `json:"unreachable_at,omitzero"`
	// Chat is the contact's open chat (queued, live or pending), if any.
	Chat string `json:"chat,omitempty"`
	// Ticket is the contact's open ticket (unassigned or assigned), if any:
	// never more than one.
	Ticket string `json:"ticket,omitempty"`
	// ReachOut is the closed chat a business last wrote from to this
	// contact; their answer reopens it as a live chat.
	ReachOut string `json:"reach_out,omitempty"`
	// Survey is the closed chat whose rating question awaits an answer.
	Survey  string `json:"survey,omitempty"`
	Version int64  `json:"-"`
}

// WindowFrom is when the contact's WhatsApp window opened, or the zero time
// when Twilio reported it closed since.
func (c *Contact) WindowFrom() time.Time {
	if !c.WindowClosedAt.IsZero() && !c.WindowClosedAt.Before(c.LastInbound) {
		return time.Time{}
	}
	return c.LastInbound
}

// Conversation is a chat or a ticket with one contact.
type Conversation struct {
	ID         string           `json:"id"`
	Contact    channels.Address `json:"contact"`
	Channel    channels.Channel `json:"channel"`
	Department string           `json:"department"`
	Kind       Kind             `json:"kind"`
	State      State            `json:"state"`
	Session    Session          `json:"session,omitempty"`
	Assignee   string           `json:"assignee,omitempty"`
	Flagged    bool             `json:"flagged,omitempty"`
	// AwaitingAgent is true while the customer's last message is unanswered.
	AwaitingAgent bool `json:"awaiting_agent,omitempty"`
	// AgentReplied is true once an agent has written to the customer on
	// this ticket; a ticket can only be closed after that.
	AgentReplied bool `json:"agent_replied,omitempty"`
	// Ignored lists the agents who let this chat time out; it is not
	// routed back to them.
	Ignored []string `json:"ignored,omitempty"`
	// ContactName and Preview (the last message, shortened) let lists show
	// a conversation without reading its contact and history.
	ContactName string `json:"contact_name,omitempty"`
	Preview     string `json:"preview,omitempty"`
	// Mentions lists the agents @-mentioned in its comments; while the
	// conversation is open it is in their Tagged tab.
	Mentions []string `json:"mentions,omitempty"`
	// Merged lists conversations whose history continues in this one.
	Merged     []string `json:"merged,omitempty"`
	MergedInto string   `json:"merged_into,omitempty"`
	// LastResponder is the agent who last wrote to the customer, for the
	// desk's cards.
	LastResponder string `json:"last_responder,omitempty"`
	// ConvertedTo is the ticket a closed chat was converted into.
	ConvertedTo string `json:"converted_to,omitempty"`
	// Subject names a ticket made from a chat.
	Subject string `json:"subject,omitempty"`
	// Bot is the bot that holds or held the chat.
	Bot string `json:"bot,omitempty"`
	// BotPending are the customer messages waiting for the bot, oldest
	// first; the first is the one event in flight.
	BotPending []string `json:"bot_pending,omitempty"`
	// Tags and Attributes are set by a bot for the agent who takes over.
	Tags       []string          `json:"tags,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Rating is the customer's answer to the post-chat survey.
	Rating *Rating `json:"rating,omitempty"`
	// DeletedAt is set while the conversation is in the trash.
	DeletedAt *time.Time          `json:"deleted_at,omitempty"`
	DeletedBy string              `json:"deleted_by,omitempty"`
	Deadlines map[Timer]time.Time `json:"deadlines,omitempty"`
	// WakeAt is when this conversation's wake-up job is scheduled. A job
	// that is due no later than the earliest deadline serves it: on finding
	// nothing due it schedules the next. So a deadline that only moves
	// later (every message in a live chat) needs no new job.
	WakeAt time.Time `json:"wake_at,omitzero"`
	Closed *Closure  `json:"closed,omitempty"`

	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	LastCustomerAt time.Time `json:"last_customer_at,omitzero"`
	LastAgentAt    time.Time `json:"last_agent_at,omitzero"`
	// FirstAgentAt is when an agent first wrote to the customer.
	FirstAgentAt time.Time `json:"first_agent_at,omitzero"`
	// LastActivityAt is the time of the last message either way.
	LastActivityAt time.Time `json:"last_activity_at,omitzero"`
	AssignedAt     time.Time `json:"assigned_at,omitzero"`
	// Version is bumped by every committed change; a write that was decided
	// on an older version is refused and decided again.
	Version int64 `json:"-"`
}

// Open reports whether the conversation still expects work: a chat that is
// queued, live or pending, or a ticket that is unassigned or assigned.
func (c *Conversation) Open() bool {
	switch c.State {
	case StateBot, StateQueued, StateLive, StatePending, StateUnassigned, StateAssigned:
		return true
	}
	return false
}

// Rating is a customer's 1-5 score of a chat, with an optional comment.
type Rating struct {
	Score   int       `json:"score"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Closure records how a conversation ended.
type Closure struct {
	// By is an agent id, "customer" or "system".
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Sentiment, Notes, Tag and Refs are what the agent recorded on closing.
	Sentiment string    `json:"sentiment,omitempty"`
	Notes     string    `json:"notes,omitempty"`
	Tag       string    `json:"tag,omitempty"`
	Refs      []string  `json:"refs,omitempty"`
	At        time.Time `json:"at"`
}

// Reasons a conversation closed.
const (
	ReasonAgent          = "closed by agent"
	ReasonCustomer       = "ended by customer"
	ReasonInactivity     = "inactivity"
	ReasonPendingTimeout = "no reply while pending"
	ReasonLiveChat       = "customer started a live chat"
	ReasonMerged         = "merged into the contact's open ticket"
	ReasonReachOut       = "reached out; waiting for the customer"
	// ReasonOneWaySMS closes the chat a one-way SMS is recorded in: a
	// text from the desk, not a conversation with the customer.
	ReasonOneWaySMS = "one-way SMS"
)

// Agent is a person who answers chats and tickets.
type Agent struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Departments []string `json:"departments"`
	// Capacity is the most live chats the agent takes at once.
	Capacity  int      `json:"capacity"`
	Presence  Presence `json:"presence"`
	Accepting bool     `json:"accepting"`
	// Paused is set when the agent let a chat time out; going online again
	// clears it.
	Paused bool `json:"paused,omitempty"`
	// Load is the number of live chats assigned to the agent, and
	// LastAssigned when the last one came. They are stored beside the
	// document and changed by increments, so concurrent assignments to one
	// agent do not conflict as long as the agent has room.
	Load         int       `json:"-"`
	LastAssigned time.Time `json:"-"`
	Version      int64     `json:"-"`
}

// Presence is an agent's status.
type Presence string

const (
	Online  Presence = "online"
	Away    Presence = "away"
	Offline Presence = "offline"
)

// TakesChats reports whether the agent is online and accepting chats.
func (a *Agent) TakesChats() bool { return a.Presence == Online && a.Accepting && !a.Paused }

// Available reports whether routing may give the agent one more chat.
func (a *Agent) Available() bool { return a.TakesChats() && a.Load < a.Capacity }

// InDepartment reports whether the agent works in dept.
func (a *Agent) InDepartment(dept string) bool {
	for _, d := range a.Departments {
		if d == dept {
			return true
		}
	}
	return false
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
	// QuickReply holds a bot's buttons; Body is then their numbered list.
	QuickReply *QuickReply `json:"quick_reply,omitempty"`
	At         time.Time   `json:"at"`

	// Delivery, for outbound messages; SID is also set on inbound ones.
	SID       string          `json:"sid,omitempty"`
	Status    channels.Status `json:"status,omitempty"`
	ErrorCode string          `json:"error_code,omitempty"`
	Error     string          `json:"error,omitempty"`
	// ErrorReason is ErrorCode in words, for the agent (not stored).
	ErrorReason string `json:"error_reason,omitempty"`
	// Files are Parley's own copies of Media, item by item (desk/inmedia.go).
	Files []File `json:"-"`
	// Attachments are Media and Location as the desk shows them: Parley's
	// signed URLs, never the provider's (not stored; set by Detail).
	Attachments []MessageAttachment `json:"attachments,omitempty"`
}

// File states.
const (
	FileFetching = "fetching" // the fetch job has not finished with it
	FileReady    = "ready"
	FileFailed   = "failed"  // the fetch gave up: the desk says so
	FileExpired  = "expired" // kept media.Keep, then gone
)

// File is Parley's copy of one media item of a message.
type File struct {
	// ID names the stored copy (keys.media); empty unless ready.
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Type  string `json:"type,omitempty"`
	Size  int    `json:"size,omitempty"`
	State string `json:"state,omitempty"` // "" is still fetching
	// Until is when the copy expires, Unix ms.
	Until int64 `json:"until,omitempty"`
	// Reason says why a failed fetch failed, for the agent's tooltip.
	Reason string `json:"reason,omitempty"`
}

// Attachment kinds.
const (
	KindImage    = "image"
	KindAudio    = "audio"
	KindVideo    = "video"
	KindDocument = "document"
	KindLocation = "location"
)

// MessageAttachment is one attachment as the desk shows it.
type MessageAttachment struct {
	Kind  string `json:"kind"`
	State string `json:"state"`
	// URL is Parley's signed, expiring address of the file (ready only).
	URL         string `json:"url,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Name        string `json:"name,omitempty"`
	Size        int    `json:"size,omitempty"`
	// Error is what the desk shows for a failed one.
	Error string `json:"error,omitempty"`
	// A location's place, with a link to a map.
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
	Label     string   `json:"label,omitempty"`
	Address   string   `json:"address,omitempty"`
	MapURL    string   `json:"map_url,omitempty"`
}

// QuickReply is a message's buttons, kept with it so the send job can
// choose how they go.
type QuickReply struct {
	Body    string   `json:"body"`
	Buttons []string `json:"buttons"`
}

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

// Notification tells an agent they were @-mentioned in a comment.
type Notification struct {
	ConversationID string    `json:"conversation_id"`
	MessageID      string    `json:"message_id"`
	By             string    `json:"by"`
	Text           string    `json:"text"`
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

// TrashKeep is how long a deleted conversation can be restored before it is
// purged for good.
const TrashKeep = 30 * 24 * time.Hour

// TimerPurge removes a deleted conversation once TrashKeep has passed.
const TimerPurge Timer = "purge"

// Attachment is a stored file.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	// URL is the signed, expiring address of the file.
	URL string `json:"url"`
	// Until is when the stored file expires (not shown: the URL says it).
	Until time.Time `json:"-"`
}
