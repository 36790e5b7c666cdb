// Package store keeps Parley's state in Redis: the key layout, the stored
// records of contacts, conversations, messages and agents, the one guarded
// commit (Tx) a decision's world is written in, and every Lua script. The
// desk's Service loads, commits and reads through a Store and never names
// a key or a command; the store imports nothing of desk but the engine's
// model (and media's file lifetime).
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/redis/go-redis/v9"
)

// Store reads and writes Parley's state in Redis. Every write that changes a
// conversation goes through a guarded Tx.
type Store struct {
	rdb    redis.UniversalClient
	keys   keys
	recent *recentContacts
}

// New returns a store whose keys all start with prefix (KeyPrefix in production).
func New(rdb redis.UniversalClient, prefix string) *Store {
	k := keys{prefix: prefix, channel: prefix + "events"}
	if c, ok := rdb.(*redis.Client); ok && c.Options().DB != 0 {
		// Pub/sub ignores database numbers: deployments sharing a Redis
		// server on different databases must not hear each other.
		k.channel += ":db" + strconv.Itoa(c.Options().DB)
	}
	return &Store{rdb: rdb, keys: k, recent: newRecentContacts()}
}

// Events is the pub/sub channel on which every committed change is announced.
func (s *Store) Events() string { return s.keys.events() }

// Client is the Redis client the store speaks through, for the desk's
// sign-ins (desk/sessions), which keep their own keys beside the store's.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Prefix starts every key the store writes.
func (s *Store) Prefix() string { return s.keys.prefix }

func ms(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func fromMS(v string) time.Time {
	n, _ := strconv.ParseInt(v, 10, 64) // "" or junk: the zero time
	return unixMS(n).time()
}

// loadScript returns, in one round trip, a contact's fields (contactFields)
// and the stored strings of the conversations it points at: its open chat,
// open ticket, last reach-out and the chat whose survey awaits an answer
// ("" where there is none).
var loadScript = redis.NewScript(`
local out = redis.call("HMGET", KEYS[1], ` + luaStrings(contactFields) + `)
local n = #out
for i = 1, n do out[i] = out[i] or "" end
-- The last four fields are the ids of the conversations to load.
for i = n - 3, n do
  local conv = ""
  if out[i] ~= "" then conv = redis.call("GET", ARGV[1] .. out[i]) or "" end
  out[#out + 1] = conv
end
if KEYS[2] and out[n + 1] == "" then
  -- No open chat: the message may need routing, so the department's queue
  -- length and agents come along in the same round trip.
` + deptLua("KEYS[2]", "KEYS[3]", "ARGV[2]") + `
end
return out
`)

// worldScript reads, in one round trip, what a decision on one of a
// contact's conversations needs (Op.needs): the contact with the
// conversations it points at, some agents, and some departments. The
// conversations' and departments' agents' keys are read from stored ids,
// all under Parley's one hash tag.
//
// KEYS[1] -> the contact's hash
// KEYS[2 .. 1+ARGV[3]] -> the agents' hashes
// KEYS[2+ARGV[3] ..] -> for each department: its agent set, then its queue
// ARGV[1] -> the prefix of conversation keys
// ARGV[2] -> the prefix of agent keys
// ARGV[3] -> the number of agents named
// Output: the contact's fields (contactFields), the stored strings of its
// four conversations ("" for none), each named agent's agentFields ("" for
// an unknown agent), then for each department the number of values that
// follow and deptLua's values.
var worldScript = redis.NewScript(`
local out = redis.call("HMGET", KEYS[1], ` + luaStrings(contactFields) + `)
local n = #out
for i = 1, n do out[i] = out[i] or "" end
for i = n - 3, n do
  local conv = ""
  if out[i] ~= "" then conv = redis.call("GET", ARGV[1] .. out[i]) or "" end
  out[#out + 1] = conv
end
local agents = tonumber(ARGV[3])
for k = 2, 1 + agents do
  local a = redis.call("HMGET", KEYS[k], ` + luaStrings(agentFields) + `)
  for j = 1, ` + strconv.Itoa(len(agentFields)) + ` do out[#out + 1] = a[j] or "" end
end
for k = 2 + agents, #KEYS, 2 do
  local at = #out + 1
  out[at] = ""
` + deptLua("KEYS[k]", "KEYS[k + 1]", "ARGV[2]") + `
  out[at] = tostring(#out - at)
end
return out
`)

// LoadWorld adds to w, in one round trip, contact a with the conversations
// it points at, the agents named and the departments named (all their
// agents and their queue length). Unknown agents are left out.
func (s *Store) LoadWorld(ctx context.Context, w *engine.World, a channels.Address, agents, depts []string) error {
	keys := []string{s.keys.contact(a)}
	var named []string
	for _, id := range agents {
		if id != "" && w.Agent(id) == nil && !slices.Contains(named, id) {
			named = append(named, id)
			w.Sought[id] = true
			keys = append(keys, s.keys.agent(id))
		}
	}
	var deps []string
	for _, d := range depts {
		if !w.Loaded[d] && !slices.Contains(deps, d) {
			deps = append(deps, d)
			keys = append(keys, s.keys.deptAgents(d), s.keys.queue(d))
		}
	}
	res, err := worldScript.Run(ctx, s.rdb, keys, s.keys.conversation(""), s.keys.agent(""), len(named)).StringSlice()
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	n := len(contactFields)
	contact := decodeContact(a, res[:n])
	w.Contact, w.ContactBefore = &contact, contact
	for _, raw := range res[n : n+4] {
		if raw == "" {
			continue
		}
		c, err := decodeConversation(raw)
		if err != nil {
			return err
		}
		track(w, c, docOf(raw))
	}
	rest := res[n+4:]
	for range named {
		f := rest[:len(agentFields)]
		rest = rest[len(agentFields):]
		if f[0] == "" {
			continue
		}
		ag, err := decodeAgent(f[0], f[1], f[2], f[3])
		if err != nil {
			return err
		}
		w.TrackAgent(ag)
	}
	for _, d := range deps {
		count, _ := strconv.Atoi(rest[0])
		queued, ags, err := decodeDept(rest[1 : 1+count])
		if err != nil {
			return err
		}
		rest = rest[1+count:]
		w.Loaded[d], w.Queued[d] = true, queued
		for _, ag := range ags {
			w.TrackAgent(ag)
		}
	}
	return nil
}

// luaStrings writes a list of strings as Lua arguments.
func luaStrings(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = strconv.Quote(s)
	}
	return strings.Join(quoted, ", ")
}

// ContactState is a contact with the conversations it points at (nil where
// none), and, when asked for and the contact has no open chat, a
// department's agents and queue length.
type ContactState struct {
	Contact          engine.Contact
	Chat, Ticket     *engine.Conversation
	reachOut, survey *engine.Conversation
	dept             string // "" unless the department was loaded
	agents           []*engine.Agent
	queued           int
	// docs are the stored documents of chat, ticket, reachOut and survey.
	docs [4]string
	// remembered is set when the state is the store's image of its own
	// last write (recent.go), not a read.
	remembered bool
}

// AddTo puts what was loaded into w: the contact, its conversations (each
// with the document it was read from), and the department's agents and
// queue length when it was loaded.
func (st *ContactState) AddTo(w *engine.World) {
	if st.dept != "" {
		w.Queued[st.dept] = st.queued
		w.Loaded[st.dept] = true
		for _, ag := range st.agents {
			w.TrackAgent(ag)
		}
	}
	w.Contact, w.ContactBefore = &st.Contact, st.Contact
	w.Remembered = st.remembered
	track(w, st.Chat, st.docs[0])
	track(w, st.Ticket, st.docs[1])
	track(w, st.reachOut, st.docs[2])
	track(w, st.survey, st.docs[3])
}

// LoadContact returns a contact (version 0 if unknown) with its open chat,
// open ticket and last reach-out.
func (s *Store) LoadContact(ctx context.Context, a channels.Address) (ContactState, error) {
	return s.LoadContactDept(ctx, a, "")
}

// LoadContactDept is LoadContact that also loads dept when the contact has
// no open chat.
func (s *Store) LoadContactDept(ctx context.Context, a channels.Address, dept string) (ContactState, error) {
	keys := []string{s.keys.contact(a)}
	if dept != "" {
		keys = append(keys, s.keys.deptAgents(dept), s.keys.queue(dept))
	}
	res, err := loadScript.Run(ctx, s.rdb, keys, s.keys.conversation(""), s.keys.agent("")).StringSlice()
	if err != nil {
		return ContactState{}, fmt.Errorf("load contact: %w", err)
	}
	n := len(contactFields)
	st, err := decodeContactState(a, res[:n], res[n:n+4])
	if rest := res[n+4:]; err == nil && len(rest) > 0 {
		st.dept = dept
		st.queued, st.agents, err = decodeDept(rest)
	}
	return st, err
}

// Recall is LoadContact from the store's memory of its own last write of
// the contact (recent.go), when it has one. A world it is added to is
// Remembered, and its commit guards every record read.
func (s *Store) Recall(a channels.Address) (ContactState, bool) {
	img := s.recent.get(a)
	if img == nil {
		return ContactState{}, false
	}
	st := ContactState{Contact: decodeContact(a, img.fields), remembered: true}
	for i, into := range []**engine.Conversation{&st.Chat, &st.Ticket, &st.reachOut, &st.survey} {
		if c := img.convs[i]; c != nil {
			*into, st.docs[i] = c, img.docs[i] // World.Track copies it
		}
	}
	return st, true
}

// decodeContactState reads a contact's values (contactFields) and the
// stored strings of its chat, ticket, reach-out and survey.
func decodeContactState(a channels.Address, fields, convs []string) (ContactState, error) {
	st := ContactState{Contact: decodeContact(a, fields)}
	for i, into := range []**engine.Conversation{&st.Chat, &st.Ticket, &st.reachOut, &st.survey} {
		if convs[i] == "" {
			continue
		}
		st.docs[i] = docOf(convs[i])
		var err error
		if *into, err = decodeConversation(convs[i]); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Contact returns a contact; an unknown address is ErrNotFound.
func (s *Store) Contact(ctx context.Context, a channels.Address) (engine.Contact, error) {
	st, err := s.LoadContact(ctx, a)
	if err == nil && st.Contact.Version == 0 {
		return st.Contact, engine.ErrNotFound
	}
	return st.Contact, err
}

// Conversation returns one conversation by id.
func (s *Store) Conversation(ctx context.Context, id string) (*engine.Conversation, error) {
	v, err := s.rdb.Get(ctx, s.keys.conversation(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeConversation(v)
}

// Message returns one message by id.
func (s *Store) Message(ctx context.Context, id string) (engine.Message, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.message(id)).Result()
	if err != nil {
		return engine.Message{}, err
	}
	if len(h) == 0 {
		return engine.Message{}, engine.ErrNotFound
	}
	return messageFromHash(id, h)
}

// History returns a conversation's messages, oldest first, including the
// history of the chats merged into it.
func (s *Store) History(ctx context.Context, convID string) ([]engine.Message, error) {
	conv, err := s.Conversation(ctx, convID)
	if err != nil {
		return nil, err
	}
	convs := append(slices.Clone(conv.Merged), convID)
	lists := make([]*redis.StringSliceCmd, len(convs))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range convs {
			lists[i] = p.LRange(ctx, s.keys.history(id), 0, -1)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var ids []string
	for _, l := range lists {
		ids = append(ids, l.Val()...)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.keys.message(id))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]engine.Message, 0, len(ids))
	for i, c := range cmds {
		if len(c.Val()) == 0 {
			return nil, fmt.Errorf("history of %s: message %s: %w", convID, ids[i], engine.ErrNotFound)
		}
		m, err := messageFromHash(ids[i], c.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	// Message ids are ULIDs: their order is the order they were written in.
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Due returns the wake-ups due at or before until, oldest first.
func (s *Store) Due(ctx context.Context, until time.Time, limit int64) ([]string, error) {
	return s.rdb.ZRangeByScore(ctx, s.keys.due(), &redis.ZRangeBy{
		Min: "-inf", Max: ms(until), Count: limit,
	}).Result()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Conversations loads several conversations in one round trip, skipping ids
// that no longer exist and repeats.
func (st *Store) Conversations(ctx context.Context, ids []string) ([]*engine.Conversation, error) {
	cmds := make([]*redis.StringCmd, len(ids))
	if _, err := st.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, st.keys.conversation(id))
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) { // a missing id is skipped below
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]*engine.Conversation, 0, len(ids))
	for _, cmd := range cmds {
		if cmd.Val() == "" {
			continue
		}
		c, err := decodeConversation(cmd.Val())
		if err != nil {
			return nil, err
		}
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	return out, nil
}
