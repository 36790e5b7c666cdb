package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	return &Store{rdb: rdb, keys: keys{prefix: prefix}}
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

func contactFromHash(a channels.Address, h map[string]string) Contact {
	return Contact{
		Address:     a,
		Name:        h["name"],
		WaID:        h["wa_id"],
		LastInbound: fromMS(h["last_in"]),
		OptedOut:    h["opted_out"] == "1",
		Open:        h["open"],
		Version:     version(h["ver"]),
	}
}

// loadScript returns, in one round trip, a contact's hash and its open
// conversation's document and version (empty when there is none).
var loadScript = redis.NewScript(`
local c = redis.call("HGETALL", KEYS[1])
local open = nil
for i = 1, #c, 2 do if c[i] == "open" then open = c[i+1] end end
if open and open ~= "" then
  local conv = redis.call("HMGET", ARGV[1] .. open, "doc", "ver")
  return {c, conv[1] or "", conv[2] or ""}
end
return {c, "", ""}
`)

// loadContact returns a contact (version 0 if unknown) and its open
// conversation (nil if none).
func (s *Store) loadContact(ctx context.Context, a channels.Address) (Contact, *Conversation, error) {
	res, err := loadScript.Run(ctx, s.rdb, []string{s.keys.contact(a)}, s.keys.conversation("")).Slice()
	if err != nil {
		return Contact{}, nil, fmt.Errorf("load contact: %w", err)
	}
	flat, _ := res[0].([]any)
	h := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		h[fmt.Sprint(flat[i])] = fmt.Sprint(flat[i+1])
	}
	c := contactFromHash(a, h)
	doc, _ := res[1].(string)
	if doc == "" {
		return c, nil, nil
	}
	conv, err := decodeConversation(doc, res[2].(string))
	return c, conv, err
}

func decodeConversation(doc, ver string) (*Conversation, error) {
	var c Conversation
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return nil, fmt.Errorf("decode conversation: %w", err)
	}
	c.Version = version(ver)
	return &c, nil
}

// Contact returns a contact; an unknown address is ErrNotFound.
func (s *Store) Contact(ctx context.Context, a channels.Address) (Contact, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.contact(a)).Result()
	if err != nil {
		return Contact{}, err
	}
	if len(h) == 0 {
		return Contact{}, ErrNotFound
	}
	return contactFromHash(a, h), nil
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

// History returns a conversation's messages, oldest first.
func (s *Store) History(ctx context.Context, convID string) ([]Message, error) {
	ids, err := s.rdb.LRange(ctx, s.keys.history(convID), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.keys.message(id))
		}
		return nil
	})
	if err != nil {
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
