package desk

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
)

// A customer's profile: who they are, what the channel allows now, what
// bots learnt about them, a note the team keeps, and every conversation
// they had with its close information. It is read from the contact and
// its conversations; only the note is stored for the profile itself.

// e164 is a phone number in E.164 form: a plus, then up to 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ParseCustomer reads a customer's address as the desk names it:
// "whatsapp:+27820000001", "sms:+27820000001", or a bare E.164 number
// (an SMS customer). Anything else is ErrInvalid, with the reason.
func ParseCustomer(s string) (channels.Address, error) {
	ch, number := channels.SMS, s
	if rest, ok := strings.CutPrefix(s, string(channels.WhatsApp)+":"); ok {
		ch, number = channels.WhatsApp, rest
	} else if rest, ok := strings.CutPrefix(s, string(channels.SMS)+":"); ok {
		number = rest
	}
	if !e164.MatchString(number) {
		return "", fmt.Errorf("%w: %q is not a phone number in E.164 form (a plus and up to 15 digits)", engine.ErrInvalid, number)
	}
	return channels.Address(string(ch) + ":" + number), nil
}

// MaxCustomerNote is the longest note the team keeps about a customer.
const MaxCustomerNote = 4000

// Engagement is one conversation as a customer's history lists it: what it
// was, who handled it, and how it ended.
type Engagement struct {
	ID         string           `json:"id"`
	Kind       engine.Kind      `json:"kind"`
	State      engine.State     `json:"state"`
	Channel    channels.Channel `json:"channel"`
	Department string           `json:"department"`
	Assignee   string           `json:"assignee,omitempty"`
	// AgentName is the assignee's name, for people who do not know ids.
	AgentName string          `json:"agent_name,omitempty"`
	Subject   string          `json:"subject,omitempty"`
	Preview   string          `json:"preview,omitempty"`
	Closed    *engine.Closure `json:"closed,omitempty"`
	Rating    *engine.Rating  `json:"rating,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// engagementOf summarises a conversation; names maps agent ids to names.
func engagementOf(c *engine.Conversation, names map[string]string) Engagement {
	return Engagement{
		ID: c.ID, Kind: c.Kind, State: c.State, Channel: c.Channel, Department: c.Department, Assignee: c.Assignee,
		AgentName: names[c.Assignee], Subject: c.Subject, Preview: c.Preview, Closed: c.Closed, Rating: c.Rating,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// Profile is a customer as the desk's profile page shows it.
type Profile struct {
	Contact engine.Contact   `json:"contact"`
	Channel channels.Channel `json:"channel"`
	// WindowOpen says whether free text can go now (always on SMS);
	// Unreachable whether Twilio found the number cannot receive messages.
	WindowOpen  bool               `json:"window_open"`
	Unreachable bool               `json:"unreachable"`
	Note        store.CustomerNote `json:"note"`
	// Attributes and Tags are what bots set on the customer's
	// conversations, the latest value of each attribute winning.
	Attributes map[string]string `json:"attributes"`
	Tags       []string          `json:"tags"`
	// Conversations are every conversation the actor may know of, newest first.
	Conversations []Engagement `json:"conversations"`
}

// customerAccess loads a customer's conversations and checks the actor may
// see the customer: a supervisor any, an agent only one with a conversation
// they may see. A customer the actor may not see is ErrNotFound, as an
// unknown one is, so the desk does not reveal who else writes in. It
// returns the conversations the actor may know of, oldest first.
func (s *Service) customerAccess(ctx context.Context, a engine.Actor, addr channels.Address) (engine.Contact, []*engine.Conversation, error) {
	contact, err := s.store.Contact(ctx, addr)
	if err != nil {
		return contact, nil, err
	}
	all, err := s.store.ContactConversations(ctx, addr)
	if err != nil {
		return contact, nil, err
	}
	var shown []*engine.Conversation
	allowed := a.Supervises()
	for _, c := range all {
		ok, err := s.CanSee(ctx, a, c)
		if err != nil {
			return contact, nil, err
		}
		allowed = allowed || ok
		// The trash is private to who deleted a conversation; the rest of
		// the customer's history is shown as the open chat's history is.
		if ok || c.DeletedAt == nil {
			shown = append(shown, c)
		}
	}
	if !allowed {
		return contact, nil, engine.ErrNotFound
	}
	return contact, shown, nil
}

// CustomerProfile returns a customer's profile for the actor.
func (s *Service) CustomerProfile(ctx context.Context, a engine.Actor, addr channels.Address) (Profile, error) {
	contact, convs, err := s.customerAccess(ctx, a, addr)
	if err != nil {
		return Profile{}, err
	}
	names, err := s.store.AgentNames(ctx)
	if err != nil {
		return Profile{}, err
	}
	note, _, err := s.store.CustomerNote(ctx, addr)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{
		Contact: contact, Channel: addr.Channel(), WindowOpen: windowOpen(contact, s.now()),
		Unreachable: !contact.UnreachableAt.IsZero() && !contact.UnreachableAt.Before(contact.LastInbound),
		Note:        note, Attributes: map[string]string{}, Tags: []string{}, Conversations: []Engagement{},
	}
	for _, c := range convs { // oldest first: later attributes win
		maps.Copy(p.Attributes, c.Attributes)
		for _, tag := range c.Tags {
			if !slices.Contains(p.Tags, tag) {
				p.Tags = append(p.Tags, tag)
			}
		}
	}
	for _, c := range slices.Backward(convs) {
		p.Conversations = append(p.Conversations, engagementOf(c, names))
	}
	return p, nil
}

// SetCustomerNote replaces the team's note about a customer. Whoever may
// see the customer may keep their note (the guides let agents manage the
// profile); each change is audited in the same write, with its text.
func (s *Service) SetCustomerNote(ctx context.Context, a engine.Actor, addr channels.Address, text string) (store.CustomerNote, error) {
	text = strings.TrimSpace(text)
	if len([]rune(text)) > MaxCustomerNote {
		return store.CustomerNote{}, fmt.Errorf("%w: a customer note has at most %d characters", engine.ErrInvalid, MaxCustomerNote)
	}
	if _, _, err := s.customerAccess(ctx, a, addr); err != nil {
		return store.CustomerNote{}, err
	}
	note := store.CustomerNote{Text: text, By: a.ID, At: s.now().UTC().Truncate(time.Millisecond)}
	detail := "note: " + shorten(text, 200)
	if text == "" {
		detail = "note cleared"
	}
	err := s.retry(ctx, func() error {
		return s.store.SaveCustomerNote(ctx, addr, note, s.auditEntry(a, "customer.note", string(addr), detail))
	})
	return note, err
}

// shorten cuts text to n characters, marking the cut.
func shorten(text string, n int) string {
	if r := []rune(text); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return text
}

// engagementsBefore summarises the contact's conversations other than c and
// those merged into it: the earlier engagements an open chat shows with
// its history, with their close notes, tags, sentiment and references.
func (s *Service) engagementsBefore(ctx context.Context, c *engine.Conversation) ([]Engagement, error) {
	all, err := s.store.ContactConversations(ctx, c.Contact)
	if err != nil {
		return nil, err
	}
	names, err := s.store.AgentNames(ctx)
	if err != nil {
		return nil, err
	}
	out := []Engagement{}
	for _, other := range all {
		if other.ID == c.ID || slices.Contains(c.Merged, other.ID) || other.DeletedAt != nil {
			continue
		}
		out = append(out, engagementOf(other, names))
	}
	return out, nil
}
