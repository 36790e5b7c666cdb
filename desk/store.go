package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// ErrNotFound is returned for an id that names nothing.
var ErrNotFound = errors.New("not found")

// Store reads and writes Parley's state in Redis. Every write that changes a
// conversation goes through a guarded tx.
type Store struct {
	rdb  redis.UniversalClient
	keys keys
}

// NewStore returns a store whose keys all start with prefix (e.g. "parley:").
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	k := keys{prefix: prefix, channel: prefix + "events"}
	if c, ok := rdb.(*redis.Client); ok && c.Options().DB != 0 {
		// Pub/sub ignores database numbers: deployments sharing a Redis
		// server on different databases must not hear each other.
		k.channel += ":db" + strconv.Itoa(c.Options().DB)
	}
	return &Store{rdb: rdb, keys: k}
}

// Events is the pub/sub channel on which every committed change is announced.
func (s *Store) Events() string { return s.keys.events() }

func ms(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func fromMS(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

func version(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// loadScript returns, in one round trip, a contact's document and version
// and those of its open chat, open ticket, last reach-out and the chat whose
// survey awaits an answer ("" where there is none).
var loadScript = redis.NewScript(`
local c = redis.call("HMGET", KEYS[1], "doc", "ver")
local out = {c[1] or "", c[2] or "", "", "", "", "", "", "", "", ""}
if c[1] then
  local doc = cjson.decode(c[1])
  for i, field in ipairs({"chat", "ticket", "reach_out", "survey"}) do
    local id = doc[field]
    if type(id) == "string" and id ~= "" then
      local conv = redis.call("HMGET", ARGV[1] .. id, "doc", "ver")
      out[2 * i + 1] = conv[1] or ""
      out[2 * i + 2] = conv[2] or ""
    end
  end
end
if KEYS[2] and out[3] == "" then
  -- No open chat: the message may need routing, so the department's queue
  -- length and agents come along in the same round trip.
  out[#out + 1] = tostring(redis.call("ZCARD", KEYS[3]))
  for _, id in ipairs(redis.call("SMEMBERS", KEYS[2])) do
    local a = redis.call("HMGET", ARGV[2] .. id, "doc", "ver", "load", "last")
    if a[1] then
      for j = 1, 4 do out[#out + 1] = a[j] or "" end
    end
  end
end
return out
`)

// contactState is a contact with the conversations it points at (nil where
// none), and, when asked for and the contact has no open chat, a
// department's agents and queue length.
type contactState struct {
	contact                        Contact
	chat, ticket, reachOut, survey *Conversation
	dept                           string // "" unless the department was loaded
	agents                         []*Agent
	queued                         int
}

// loadContact returns a contact (version 0 if unknown) with its open chat,
// open ticket and last reach-out.
func (s *Store) loadContact(ctx context.Context, a channels.Address) (contactState, error) {
	return s.loadContactDept(ctx, a, "")
}

// loadContactDept is loadContact that also loads dept when the contact has
// no open chat.
func (s *Store) loadContactDept(ctx context.Context, a channels.Address, dept string) (contactState, error) {
	keys := []string{s.keys.contact(a)}
	if dept != "" {
		keys = append(keys, s.keys.deptAgents(dept), s.keys.queue(dept))
	}
	res, err := loadScript.Run(ctx, s.rdb, keys, s.keys.conversation(""), s.keys.agent("")).StringSlice()
	if err != nil {
		return contactState{}, fmt.Errorf("load contact: %w", err)
	}
	st := contactState{contact: Contact{Address: a}}
	if res[0] != "" {
		if err := json.Unmarshal([]byte(res[0]), &st.contact); err != nil {
			return st, fmt.Errorf("decode contact: %w", err)
		}
		st.contact.Version = version(res[1])
	}
	for i, into := range []**Conversation{&st.chat, &st.ticket, &st.reachOut, &st.survey} {
		if res[2+2*i] == "" {
			continue
		}
		if *into, err = decodeConversation(res[2+2*i], res[3+2*i]); err != nil {
			return st, err
		}
	}
	if len(res) > 10 {
		st.dept = dept
		st.queued, _ = strconv.Atoi(res[10])
		for i := 11; i+3 < len(res); i += 4 {
			ag, err := decodeAgent(res[i], res[i+1], res[i+2], res[i+3])
			if err != nil {
				return st, err
			}
			st.agents = append(st.agents, ag)
		}
	}
	return st, nil
}

func decodeConversation(doc, ver string) (*Conversation, error) {
	var c Conversation
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return nil, fmt.Errorf("decode conversation: %w", err)
	}
	c.Version = version(ver)
	c.stored = doc
	return &c, nil
}

// Contact returns a contact; an unknown address is ErrNotFound.
func (s *Store) Contact(ctx context.Context, a channels.Address) (Contact, error) {
	st, err := s.loadContact(ctx, a)
	if err == nil && st.contact.Version == 0 {
		return st.contact, ErrNotFound
	}
	return st.contact, err
}

// Conversation returns one conversation by id.
func (s *Store) Conversation(ctx context.Context, id string) (*Conversation, error) {
	vals, err := s.rdb.HMGet(ctx, s.keys.conversation(id), "doc", "ver").Result()
	if err != nil {
		return nil, err
	}
	doc, _ := vals[0].(string)
	if doc == "" {
		return nil, ErrNotFound
	}
	ver, _ := vals[1].(string)
	return decodeConversation(doc, ver)
}

// Message returns one message by id.
func (s *Store) Message(ctx context.Context, id string) (Message, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.message(id)).Result()
	if err != nil {
		return Message{}, err
	}
	if len(h) == 0 {
		return Message{}, ErrNotFound
	}
	return messageFromHash(h)
}

// History returns a conversation's messages, oldest first, including the
// history of the chats merged into it.
func (s *Store) History(ctx context.Context, convID string) ([]Message, error) {
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
	out := make([]Message, 0, len(ids))
	for _, c := range cmds {
		m, err := messageFromHash(c.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	// Message ids are ULIDs: their order is the order they were written in.
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// messageFields are the hash fields of a message: its immutable document and
// the delivery fields that status updates change in place.
func messageFields(m Message) ([]string, error) {
	doc := m
	doc.SID, doc.Status, doc.ErrorCode, doc.Error = "", "", "", ""
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return []string{"doc", string(raw), "sid", m.SID, "status", string(m.Status), "to", string(m.To), "conv", m.ConversationID}, nil
}

func messageFromHash(h map[string]string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(h["doc"]), &m); err != nil {
		return m, fmt.Errorf("decode message: %w", err)
	}
	m.SID, m.Status, m.ErrorCode, m.Error = h["sid"], channels.Status(h["status"]), h["err_code"], h["err"]
	return m, nil
}

// Due returns the wake-ups due at or before until, oldest first.
func (s *Store) Due(ctx context.Context, until time.Time, limit int64) ([]string, error) {
	return s.rdb.ZRangeByScore(ctx, s.keys.due(), &redis.ZRangeBy{
		Min: "-inf", Max: ms(until), Count: limit,
	}).Result()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func jsonString(v any) (string, error) {
	raw, err := json.Marshal(v)
	return string(raw), err
}

// redisNil is the "no such key" answer.
var redisNil = redis.Nil
