package desk

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// Tabs of the desk, and the conversations each lists.
const (
	TabLive          = "live"
	TabPending       = "pending"
	TabTagged        = "tagged"
	TabClosed        = "closed"
	TabUnassigned    = "unassigned"
	TabAssigned      = "assigned"
	TabTicketsClosed = "tickets_closed"
	TabTrash         = "trash"
	// TabBot lists the chats bots hold (each names its bot), for
	// supervisors, who may take them over.
	TabBot = "bot"
)

// Tabs lists every tab, in the desk's order.
var Tabs = []string{TabLive, TabPending, TabTagged, TabClosed, TabUnassigned, TabAssigned, TabTicketsClosed, TabTrash, TabBot}

// ListQuery filters one tab.
type ListQuery struct {
	Tab     string
	Text    string // in the contact's name or number, the last message, notes, tag
	Channel string
	Tag     string
	From    time.Time // created on or after
	To      time.Time // created before
	// Sort is "new" (newest conversation first) or "activity" (latest
	// customer message first).
	Sort string
	// Mine keeps only the tickets the actor closed ("Closed by me").
	Mine   bool
	Offset int
	Limit  int
}

// Page is one page of a list.
type Page struct {
	Items []*engine.Conversation `json:"items"`
	Total int                    `json:"total"`
	// Next is the offset of the next page, 0 when this is the last.
	Next int `json:"next"`
}

// listScan bounds how many conversations one list request reads.
const listScan = 2000

// indexesFor names the indexes (as Store.NewestInIndex takes them) a tab
// reads for an actor: an agent's own lists, or everyone's for a supervisor.
func (s *Service) indexesFor(ctx context.Context, a engine.Actor, tab string) ([]string, error) {
	own := func(name string) []string {
		if a.Supervises() {
			return []string{name}
		}
		return []string{name + ":" + a.ID}
	}
	switch tab {
	case TabLive, TabPending, TabClosed, TabTrash:
		return own(tab), nil
	case TabAssigned:
		return own("tickets:assigned"), nil
	case TabTagged:
		return []string{"tagged:" + a.ID}, nil
	case TabBot:
		if !a.Supervises() {
			return nil, nil // agents see a bot's chat once it hands off
		}
		return []string{"bot"}, nil
	case TabTicketsClosed:
		return []string{"tickets:closed"}, nil
	case TabUnassigned:
		depts, err := s.departmentsOf(ctx, a)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, d := range depts {
			out = append(out, "tickets:unassigned:"+d)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown tab %q", engine.ErrInvalid, tab)
}

// departmentsOf lists the departments whose unassigned tickets the actor
// sees: their own, or all when no departments are configured or the actor
// supervises.
func (s *Service) departmentsOf(ctx context.Context, a engine.Actor) ([]string, error) {
	all := s.Rules().DepartmentIDs()
	if a.Supervises() || len(s.Rules().Departments) == 0 {
		return all, nil
	}
	agent, err := s.store.Agent(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return agent.Departments, nil
}

// List returns one page of a tab, filtered, for the actor.
func (s *Service) List(ctx context.Context, a engine.Actor, q ListQuery) (Page, error) {
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 50
	}
	if q.Offset < 0 {
		return Page{}, fmt.Errorf("%w: offset must not be negative", engine.ErrInvalid)
	}
	kept, err := s.filtered(ctx, a, q)
	if err != nil {
		return Page{}, err
	}
	page := Page{Total: len(kept)}
	if q.Offset < len(kept) {
		end := min(q.Offset+q.Limit, len(kept))
		page.Items = kept[q.Offset:end]
		if end < len(kept) {
			page.Next = end
		}
	}
	if page.Items == nil {
		page.Items = []*engine.Conversation{}
	}
	return page, nil
}

// Group is one agent's share of a tab; Agent "" holds the unassigned.
type Group struct {
	Agent string `json:"agent"`
	Count int    `json:"count"`
}

// Groups counts a tab's conversations per agent, for the supervisor desk.
func (s *Service) Groups(ctx context.Context, a engine.Actor, q ListQuery) ([]Group, error) {
	if !a.Supervises() {
		return nil, fmt.Errorf("%w: grouped views are for supervisors", engine.ErrNotAllowed)
	}
	kept, err := s.filtered(ctx, a, q)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, c := range kept {
		counts[c.Assignee]++
	}
	out := []Group{}
	for agent, n := range counts {
		out = append(out, Group{Agent: agent, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Agent < out[j].Agent })
	return out, nil
}

// filtered returns a tab's conversations that pass the query's filters,
// sorted, for the actor.
func (s *Service) filtered(ctx context.Context, a engine.Actor, q ListQuery) ([]*engine.Conversation, error) {
	idx, err := s.indexesFor(ctx, a, q.Tab)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, name := range idx {
		more, err := s.store.NewestInIndex(ctx, name, listScan)
		if err != nil {
			return nil, err
		}
		ids = append(ids, more...)
	}
	convs, err := s.store.Conversations(ctx, ids)
	if err != nil {
		return nil, err
	}
	text := strings.ToLower(strings.TrimSpace(q.Text))
	kept := convs[:0]
	for _, c := range convs {
		if q.Channel != "" && string(c.Channel) != q.Channel ||
			q.Tag != "" && (c.Closed == nil || c.Closed.Tag != q.Tag) ||
			!q.From.IsZero() && c.CreatedAt.Before(q.From) ||
			!q.To.IsZero() && !c.CreatedAt.Before(q.To) ||
			q.Mine && (c.Closed == nil || c.Closed.By != a.ID) ||
			text != "" && !matches(c, text) {
			continue
		}
		kept = append(kept, c)
	}
	sortConversations(kept, q.Tab, q.Sort)
	return kept, nil
}

func matches(c *engine.Conversation, text string) bool {
	fields := []string{string(c.Contact), c.ContactName, c.Preview, c.ID}
	if c.Closed != nil {
		fields = append(fields, c.Closed.Notes, c.Closed.Tag, strings.Join(c.Closed.Refs, " "))
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), text) {
			return true
		}
	}
	return false
}

// sortConversations orders a list: unassigned tickets newest first (the
// seeds' "most recent at the top"), live chats by newest chat or latest
// customer activity, everything else by latest change.
func sortConversations(cs []*engine.Conversation, tab, by string) {
	key := func(c *engine.Conversation) time.Time { return c.UpdatedAt }
	switch {
	case tab == TabLive && by == "activity":
		key = func(c *engine.Conversation) time.Time { return c.LastCustomerAt }
	case tab == TabLive || tab == TabUnassigned || by == "new":
		key = func(c *engine.Conversation) time.Time { return c.CreatedAt }
	}
	sort.SliceStable(cs, func(i, j int) bool {
		ki, kj := key(cs[i]), key(cs[j])
		if !ki.Equal(kj) {
			return ki.After(kj)
		}
		return cs[i].ID > cs[j].ID
	})
}

// Counts returns the number of conversations in each tab for the actor.
func (s *Service) Counts(ctx context.Context, a engine.Actor) (map[string]int64, error) {
	out := map[string]int64{}
	for _, tab := range Tabs {
		idx, err := s.indexesFor(ctx, a, tab)
		if err != nil {
			return nil, err
		}
		for _, name := range idx {
			n, err := s.store.IndexSize(ctx, name)
			if err != nil {
				return nil, err
			}
			out[tab] += n
		}
	}
	return out, nil
}

// CanSee reports whether the actor may read a conversation: supervisors see
// everything; an agent sees what is assigned to them (open or closed), the
// unassigned tickets of their departments, every closed ticket, and the
// conversations they were @-mentioned in.
func (s *Service) CanSee(ctx context.Context, a engine.Actor, c *engine.Conversation) (bool, error) {
	var err error
	ok := engine.MayView(a, c, func(dept string) bool {
		var depts []string
		depts, err = s.departmentsOf(ctx, a)
		return slices.Contains(depts, dept)
	})
	return ok && err == nil, err
}

// Detail is a conversation as the desk shows it.
type Detail struct {
	Conversation *engine.Conversation `json:"conversation"`
	Contact      engine.Contact       `json:"contact"`
	// History is the conversation's messages; for an open chat, the
	// contact's earlier conversations come first (live history is by
	// contact, closed history by conversation).
	History []engine.Message `json:"history"`
	// WindowOpen says whether free text can go to a WhatsApp contact.
	WindowOpen bool `json:"window_open"`
	// Engagements are, for an open chat, the contact's earlier
	// conversations whose messages History holds, with how each ended
	// (customers.go).
	Engagements []Engagement `json:"engagements"`
}

// Open returns a conversation the actor may see; one they may not see is
// ErrNotFound, so its existence is not revealed.
func (s *Service) Open(ctx context.Context, a engine.Actor, id string) (*engine.Conversation, error) {
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := s.CanSee(ctx, a, c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, engine.ErrNotFound
	}
	return c, nil
}

// Detail returns what the desk shows of one conversation.
func (s *Service) Detail(ctx context.Context, a engine.Actor, id string) (Detail, error) {
	c, err := s.Open(ctx, a, id)
	if err != nil {
		return Detail{}, err
	}
	contact, err := s.store.Contact(ctx, c.Contact)
	if err != nil {
		return Detail{}, err
	}
	var hist []engine.Message
	engagements := []Engagement{}
	if c.Kind == engine.KindChat && c.Open() {
		if engagements, err = s.engagementsBefore(ctx, c); err != nil {
			return Detail{}, err
		}
		earlier, err := s.store.ContactConversationIDs(ctx, c.Contact)
		if err != nil {
			return Detail{}, err
		}
		for _, other := range earlier {
			if other == c.ID || slices.Contains(c.Merged, other) {
				continue
			}
			h, err := s.store.History(ctx, other)
			if err != nil {
				return Detail{}, err
			}
			hist = append(hist, h...)
		}
	}
	own, err := s.store.History(ctx, c.ID)
	if err != nil {
		return Detail{}, err
	}
	hist = append(hist, own...)
	s.media.ForDesk(c.ID, hist, s.now())
	return Detail{Conversation: c, Contact: contact, History: hist, WindowOpen: windowOpen(contact, s.now()), Engagements: engagements}, nil
}

func windowOpen(c engine.Contact, now time.Time) bool {
	return c.Address.Channel() != channels.WhatsApp || channels.WindowOpen(c.WindowFrom(), now)
}

// Comment adds an internal note to a conversation the actor can see; each
// @agent-id names an agent to notify (decideComment).
func (s *Service) Comment(ctx context.Context, a engine.Actor, convID, body string) (engine.Message, error) {
	out, err := s.run(ctx, engine.Op{Kind: engine.OpComment, Actor: a, Conv: convID, Body: body})
	return out.Message, err
}
