package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// How contacts, conversations and messages are laid out in Redis. Every
// open conversation keeps one contact, one conversation and a few messages
// in memory, so the layouts are chosen for size: Redis keeps a hash compact
// (one listpack) only while each field is at most hash-max-listpack-value
// bytes (64 by default), and turns it into a table of separate allocations
// otherwise. Times are Unix milliseconds: 13 digits, where RFC 3339 with
// nanoseconds takes 30 characters.

// unixMS is a time as Unix milliseconds, 0 for the zero time.
type unixMS int64

func toMS(t time.Time) unixMS {
	if t.IsZero() {
		return 0
	}
	return unixMS(t.UnixMilli())
}

func (m unixMS) time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// contactFields are a contact's hash fields, one per attribute, so that
// loadScript finds the conversations a contact points at without decoding
// anything. Empty attributes have no field. The last four are those pointers.
var contactFields = []string{"ver", "name", "wa_id", "last_inbound", "opted_out", "window_closed", "unreachable", "chat", "ticket", "reach_out", "survey"}

// contactValues lists a contact's values in the order of contactFields,
// with the version given.
func contactValues(c *engine.Contact, ver int64) []string {
	opted := ""
	if c.OptedOut {
		opted = "1"
	}
	return []string{itoa(ver), c.Name, c.WaID, ms(c.LastInbound), opted, ms(c.WindowClosedAt), ms(c.UnreachableAt), c.Chat, c.Ticket, c.ReachOut, c.Survey}
}

// decodeContact reads the values of contactFields; "" for every one is a
// contact not stored yet (version 0).
func decodeContact(a channels.Address, v []string) engine.Contact {
	return engine.Contact{
		Address: a, Version: version(v[0]), Name: v[1], WaID: v[2], LastInbound: fromMS(v[3]), OptedOut: v[4] == "1",
		WindowClosedAt: fromMS(v[5]), UnreachableAt: fromMS(v[6]),
		Chat: v[7], Ticket: v[8], ReachOut: v[9], Survey: v[10],
	}
}

// writeContact adds to t the contact's values in now (in contactFields'
// order) that differ from was: set when they have a value, deleted when
// they lost it. The version always moves.
func writeContact(t *Tx, key string, was, now []string) {
	set := []string{}
	var del []string
	for i, f := range contactFields {
		switch {
		case now[i] == was[i]:
		case now[i] == "":
			del = append(del, f)
		default:
			set = append(set, f, now[i])
		}
	}
	t.do("HSET", key, set...)
	if len(del) > 0 {
		t.do("HDEL", key, del...)
	}
}

// A conversation is one string: its version, a space, and its JSON. A
// string, not a hash, because the JSON is longer than 64 bytes: as a hash
// field it would cost a table at Redis's default setting.

// convRecord is a conversation as stored. It is a type of its own, apart
// from the API's Conversation, so that the API can change its JSON without
// changing stored data (records_test.go pins the stored shape), and every
// time is in Unix milliseconds.
type convRecord struct {
	ID             string                  `json:"id"`
	Contact        channels.Address        `json:"contact"`
	Channel        channels.Channel        `json:"channel"`
	Department     string                  `json:"department"`
	Kind           engine.Kind             `json:"kind"`
	State          engine.State            `json:"state"`
	Session        engine.Session          `json:"session,omitempty"`
	Assignee       string                  `json:"assignee,omitempty"`
	Flagged        bool                    `json:"flagged,omitempty"`
	AwaitingAgent  bool                    `json:"awaiting_agent,omitempty"`
	AgentReplied   bool                    `json:"agent_replied,omitempty"`
	Ignored        []string                `json:"ignored,omitempty"`
	ContactName    string                  `json:"contact_name,omitempty"`
	Preview        string                  `json:"preview,omitempty"`
	Mentions       []string                `json:"mentions,omitempty"`
	Merged         []string                `json:"merged,omitempty"`
	MergedInto     string                  `json:"merged_into,omitempty"`
	LastResponder  string                  `json:"last_responder,omitempty"`
	ConvertedTo    string                  `json:"converted_to,omitempty"`
	Subject        string                  `json:"subject,omitempty"`
	Bot            string                  `json:"bot,omitempty"`
	BotPending     []string                `json:"bot_pending,omitempty"`
	Tags           []string                `json:"tags,omitempty"`
	Attributes     map[string]string       `json:"attributes,omitempty"`
	DeletedBy      string                  `json:"deleted_by,omitempty"`
	Rating         *ratingRecord           `json:"rating,omitempty"`
	DeletedAt      unixMS                  `json:"deleted_at,omitzero"`
	Deadlines      map[engine.Timer]unixMS `json:"deadlines,omitempty"`
	WakeAt         unixMS                  `json:"wake_at,omitzero"`
	Closed         *closureRecord          `json:"closed,omitempty"`
	CreatedAt      unixMS                  `json:"created_at"`
	UpdatedAt      unixMS                  `json:"updated_at"`
	LastCustomerAt unixMS                  `json:"last_customer_at,omitzero"`
	LastAgentAt    unixMS                  `json:"last_agent_at,omitzero"`
	FirstAgentAt   unixMS                  `json:"first_agent_at,omitzero"`
	LastActivityAt unixMS                  `json:"last_activity_at,omitzero"`
	AssignedAt     unixMS                  `json:"assigned_at,omitzero"`
}

type ratingRecord struct {
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
	At      unixMS `json:"at"`
}

type closureRecord struct {
	By        string   `json:"by"`
	Reason    string   `json:"reason"`
	Sentiment string   `json:"sentiment,omitempty"`
	Notes     string   `json:"notes,omitempty"`
	Tag       string   `json:"tag,omitempty"`
	Refs      []string `json:"refs,omitempty"`
	At        unixMS   `json:"at"`
}

// encodeConversation returns a conversation's JSON as stored (without its
// version).
func encodeConversation(c *engine.Conversation) (string, error) {
	r := convRecord{
		ID: c.ID, Contact: c.Contact, Channel: c.Channel, Department: c.Department, Kind: c.Kind, State: c.State,
		Session: c.Session, Assignee: c.Assignee, Flagged: c.Flagged, AwaitingAgent: c.AwaitingAgent,
		AgentReplied: c.AgentReplied, Ignored: c.Ignored, ContactName: c.ContactName, Preview: c.Preview,
		Mentions: c.Mentions, Merged: c.Merged, MergedInto: c.MergedInto, LastResponder: c.LastResponder,
		ConvertedTo: c.ConvertedTo, Subject: c.Subject, Bot: c.Bot, BotPending: c.BotPending, Tags: c.Tags,
		Attributes: c.Attributes, DeletedBy: c.DeletedBy,
		WakeAt: toMS(c.WakeAt), CreatedAt: toMS(c.CreatedAt), UpdatedAt: toMS(c.UpdatedAt),
		LastCustomerAt: toMS(c.LastCustomerAt), LastAgentAt: toMS(c.LastAgentAt), FirstAgentAt: toMS(c.FirstAgentAt),
		LastActivityAt: toMS(c.LastActivityAt), AssignedAt: toMS(c.AssignedAt),
	}
	if c.Rating != nil {
		r.Rating = &ratingRecord{Score: c.Rating.Score, Comment: c.Rating.Comment, At: toMS(c.Rating.At)}
	}
	if c.DeletedAt != nil {
		r.DeletedAt = toMS(*c.DeletedAt)
	}
	if len(c.Deadlines) > 0 {
		r.Deadlines = make(map[engine.Timer]unixMS, len(c.Deadlines))
		for t, at := range c.Deadlines {
			r.Deadlines[t] = toMS(at)
		}
	}
	if cl := c.Closed; cl != nil {
		r.Closed = &closureRecord{By: cl.By, Reason: cl.Reason, Sentiment: cl.Sentiment, Notes: cl.Notes, Tag: cl.Tag, Refs: cl.Refs, At: toMS(cl.At)}
	}
	raw, err := json.Marshal(r)
	return string(raw), err
}

// convValue is the stored string of a conversation's JSON at a version.
func convValue(ver int64, doc string) string { return itoa(ver) + " " + doc }

// AsCommitted returns a tracked conversation as its world's commit stored
// it, decoded from the stored document as a read would find it, and
// whether the commit left it as loaded (then c is nil). A document that
// does not decode gives nil.
func AsCommitted(tr *engine.Tracked) (c *engine.Conversation, unchanged bool) {
	doc, err := encodeConversation(tr.Conv)
	if err == nil {
		if loaded, err := loadedDoc(tr); err == nil && doc == loaded {
			return nil, true
		}
	}
	if err == nil {
		c, _ = decodeConversation(convValue(tr.Before.Version+1, doc))
	}
	return c, false
}

// decodeConversation reads a stored conversation string.
func decodeConversation(v string) (*engine.Conversation, error) {
	ver, doc, ok := strings.Cut(v, " ")
	if !ok {
		return nil, fmt.Errorf("decode conversation: no version in %.40q", v)
	}
	var r convRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("decode conversation: %w", err)
	}
	c := engine.Conversation{
		ID: r.ID, Contact: r.Contact, Channel: r.Channel, Department: r.Department, Kind: r.Kind, State: r.State,
		Session: r.Session, Assignee: r.Assignee, Flagged: r.Flagged, AwaitingAgent: r.AwaitingAgent,
		AgentReplied: r.AgentReplied, Ignored: r.Ignored, ContactName: r.ContactName, Preview: r.Preview,
		Mentions: r.Mentions, Merged: r.Merged, MergedInto: r.MergedInto, LastResponder: r.LastResponder,
		ConvertedTo: r.ConvertedTo, Subject: r.Subject, Bot: r.Bot, BotPending: r.BotPending, Tags: r.Tags,
		Attributes: r.Attributes, DeletedBy: r.DeletedBy,
		WakeAt: r.WakeAt.time(), CreatedAt: r.CreatedAt.time(), UpdatedAt: r.UpdatedAt.time(),
		LastCustomerAt: r.LastCustomerAt.time(), LastAgentAt: r.LastAgentAt.time(), FirstAgentAt: r.FirstAgentAt.time(),
		LastActivityAt: r.LastActivityAt.time(), AssignedAt: r.AssignedAt.time(),
	}
	if r.Rating != nil {
		c.Rating = &engine.Rating{Score: r.Rating.Score, Comment: r.Rating.Comment, At: r.Rating.At.time()}
	}
	if r.DeletedAt != 0 {
		at := r.DeletedAt.time()
		c.DeletedAt = &at
	}
	if r.Deadlines != nil {
		c.Deadlines = make(map[engine.Timer]time.Time, len(r.Deadlines))
		for t, at := range r.Deadlines {
			c.Deadlines[t] = at.time()
		}
	}
	if cl := r.Closed; cl != nil {
		c.Closed = &engine.Closure{By: cl.By, Reason: cl.Reason, Sentiment: cl.Sentiment, Notes: cl.Notes, Tag: cl.Tag, Refs: cl.Refs, At: cl.At.time()}
	}
	c.Version = version(ver)
	return &c, nil
}

// track adds c (nil for none), read from its stored document doc, to w,
// with doc as Loaded, unless w tracks it already.
func track(w *engine.World, c *engine.Conversation, doc string) {
	if c == nil {
		return
	}
	if _, ok := w.Convs[c.ID]; ok {
		return
	}
	w.Track(c)
	w.Convs[c.ID].Loaded = doc
}

// docOf is the document of a stored conversation string (version, space,
// document).
func docOf(raw string) string {
	_, doc, _ := strings.Cut(raw, " ")
	return doc
}

// loadedDoc is the stored document tr.Before was read from: as the store
// read it when it tracked it, or else (the Service tracked a copy read
// earlier, the request's view or a list's) encoded again.
func loadedDoc(tr *engine.Tracked) (string, error) {
	if tr.Loaded != "" {
		return tr.Loaded, nil
	}
	return encodeConversation(tr.Before)
}

// A message is a hash of its non-empty fields: a short message stays
// compact, delivery updates change their fields in place (sentScript,
// statusScript), and reading one needs no JSON but for the rarer media,
// location, button and template, kept together in "ext". The id is the
// key's.

// messageExt holds the parts of a message stored as JSON.
type messageExt struct {
	Media    []channels.Media   `json:"media,omitempty"`
	Location *channels.Location `json:"location,omitempty"`
	Button   *channels.Button   `json:"button,omitempty"`
	Template *channels.Template `json:"template,omitempty"`
	// QuickReply: the buttons of a bot's buttons action.
	QuickReply *engine.QuickReply `json:"quick_reply,omitempty"`
}

// messageFields are the hash fields and values of a message.
func messageFields(m engine.Message) ([]string, error) {
	ext := ""
	if len(m.Media) > 0 || m.Location != nil || m.Button != nil || m.Template != nil || m.QuickReply != nil {
		raw, err := json.Marshal(messageExt{Media: m.Media, Location: m.Location, Button: m.Button, Template: m.Template, QuickReply: m.QuickReply})
		if err != nil {
			return nil, err
		}
		ext = string(raw)
	}
	files := ""
	if len(m.Files) > 0 {
		raw, err := json.Marshal(m.Files)
		if err != nil {
			return nil, err
		}
		files = string(raw)
	}
	all := []string{
		"files", files,
		"conv", m.ConversationID, "dir", string(m.Direction), "author", m.Author, "to", string(m.To),
		"body", m.Body, "at", ms(m.At), "ext", ext,
		"sid", m.SID, "status", string(m.Status), "err_code", m.ErrorCode, "err", m.Error,
	}
	fields := all[:0]
	for i := 0; i < len(all); i += 2 {
		if all[i+1] != "" {
			fields = append(fields, all[i], all[i+1])
		}
	}
	return fields, nil
}

func messageFromHash(id string, h map[string]string) (engine.Message, error) {
	m := engine.Message{
		ID: id, ConversationID: h["conv"], Direction: engine.Direction(h["dir"]), Author: h["author"], To: channels.Address(h["to"]),
		Body: h["body"], At: fromMS(h["at"]),
		SID: h["sid"], Status: channels.Status(h["status"]), ErrorCode: h["err_code"], Error: h["err"],
	}
	m.ErrorReason, _ = channels.ExplainError(m.ErrorCode)
	if strings.HasPrefix(m.ErrorReason, "Twilio error") && m.Error != "" {
		m.ErrorReason += ": " + m.Error // a code the table lacks: Twilio's own words
	}
	if raw := h["files"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &m.Files); err != nil {
			return m, fmt.Errorf("decode message %s files: %w", id, err)
		}
	}
	if raw := h["ext"]; raw != "" {
		var ext messageExt
		if err := json.Unmarshal([]byte(raw), &ext); err != nil {
			return m, fmt.Errorf("decode message %s: %w", id, err)
		}
		m.Media, m.Location, m.Button, m.Template, m.QuickReply = ext.Media, ext.Location, ext.Button, ext.Template, ext.QuickReply
	}
	return m, nil
}

func version(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// agentRecord is the document of an agent's hash ("doc"), a type of its
// own apart from the API's Agent. The load and the last assignment live in
// fields of their own beside it, changed by increments.
type agentRecord struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Role        string          `json:"role"`
	Departments []string        `json:"departments"`
	Capacity    int             `json:"capacity"`
	Presence    engine.Presence `json:"presence"`
	Accepting   bool            `json:"accepting"`
	Paused      bool            `json:"paused,omitempty"`
}

// encodeAgent returns an agent's stored document.
func encodeAgent(a *engine.Agent) string {
	raw, _ := json.Marshal(agentRecord{ID: a.ID, Name: a.Name, Role: a.Role, Departments: a.Departments,
		Capacity: a.Capacity, Presence: a.Presence, Accepting: a.Accepting, Paused: a.Paused}) // always marshals
	return string(raw)
}
