package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/redis/go-redis/v9"
)

// What the desk keeps about the people around a conversation, apart from
// the decisions: users' credentials, the settings and their audit log,
// agents' bells, who is viewing a chat, the desks an agent has open, and
// customers' notes. The Service decides; these only read and write.

// SetCredential sets one field of a user's credentials ("hash" for the
// password hash, "disabled" for "1" or "0"), creating them if need be.
func (st *Store) SetCredential(ctx context.Context, id, field, value string) error {
	t := newTx()
	t.do("HSET", st.keys.credentials(id), field, value)
	return t.commit(ctx, st.rdb)
}

// Credentials returns a user's credentials (empty for a user who has none).
func (st *Store) Credentials(ctx context.Context, id string) (map[string]string, error) {
	return st.rdb.HGetAll(ctx, st.keys.credentials(id)).Result()
}

// UserDisabled reports whether a user's sign-in is turned off; a user
// without credentials is not disabled.
func (st *Store) UserDisabled(ctx context.Context, id string) (bool, error) {
	disabled, err := st.rdb.HGet(ctx, st.keys.credentials(id), "disabled").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	return disabled == "1", nil
}

// SeedSettings stores doc as version 1 of the settings unless settings are
// stored already, in which case it changes nothing.
func (st *Store) SeedSettings(ctx context.Context, doc string) error {
	k := st.keys
	// The document and its version are seeded together: a process starting
	// beside another never sees one without the other.
	t := newTx()
	t.do("HSETNX", k.settings(), "doc", doc)
	t.do("HSETNX", k.settings(), "ver", "1")
	return t.commit(ctx, st.rdb)
}

// Settings returns the stored settings document and its version ("" and 0
// when none is stored).
func (st *Store) Settings(ctx context.Context) (string, int64, error) {
	vals, err := st.rdb.HMGet(ctx, st.keys.settings(), "doc", "ver").Result()
	if err != nil {
		return "", 0, err
	}
	doc, _ := vals[0].(string)
	ver, _ := vals[1].(string)
	return doc, version(ver), nil
}

// ReplaceSettings stores doc as the next version of the settings, with its
// audit entry in the same write. It is one optimistic attempt: a change
// committed by another process meanwhile is ErrConflict.
func (st *Store) ReplaceSettings(ctx context.Context, doc string, e AuditEntry) error {
	k := st.keys
	ver, err := st.rdb.HGet(ctx, k.settings(), "ver").Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	t := newTx()
	st.ReplaceSettingsIn(t, ver, doc)
	if err := st.AddAudit(t, e); err != nil {
		return err
	}
	return t.commit(ctx, st.rdb)
}

// auditKept is how many audit entries are kept.
const auditKept = 10000

// AppendAudit adds an entry to the audit log on its own.
func (st *Store) AppendAudit(ctx context.Context, e AuditEntry) error {
	t := newTx()
	if err := st.AddAudit(t, e); err != nil {
		return err
	}
	return t.commit(ctx, st.rdb)
}

// AddAudit adds an audit entry to t, so that it commits with the change it
// records; the log keeps the newest auditKept.
func (st *Store) AddAudit(t *Tx, e AuditEntry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	t.do("LPUSH", st.keys.audit(), string(raw))
	t.do("LTRIM", st.keys.audit(), "0", strconv.Itoa(auditKept-1))
	return nil
}

// AuditLog returns limit audit entries from offset, newest first. An entry
// that does not decode is left out rather than failing the page.
func (st *Store) AuditLog(ctx context.Context, offset, limit int) ([]AuditEntry, error) {
	raws, err := st.rdb.LRange(ctx, st.keys.audit(), int64(offset), int64(offset+limit-1)).Result()
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, len(raws))
	for _, raw := range raws {
		var e AuditEntry
		if json.Unmarshal([]byte(raw), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// Notifications returns an agent's notifications, newest first, and how
// many are unread. A notification that does not decode is left out.
func (st *Store) Notifications(ctx context.Context, agent string) ([]engine.Notification, int, error) {
	raws, err := st.rdb.LRange(ctx, st.keys.notifications(agent), 0, -1).Result()
	if err != nil {
		return nil, 0, err
	}
	out := make([]engine.Notification, 0, len(raws))
	for _, raw := range raws {
		var n engine.Notification
		if json.Unmarshal([]byte(raw), &n) == nil {
			out = append(out, n)
		}
	}
	unread, err := st.rdb.Get(ctx, st.keys.unread(agent)).Int()
	if err != nil && err != redis.Nil {
		return nil, 0, err
	}
	return out, unread, nil
}

// MarkNotificationsRead clears an agent's unread count.
func (st *Store) MarkNotificationsRead(ctx context.Context, agent string) error {
	t := newTx()
	t.do("DEL", st.keys.unread(agent))
	return t.commit(ctx, st.rdb)
}

// RecordViewer records, at now and for viewingTTL, that agent is looking
// at (or typing in) a conversation, forgets the viewers whose time ran out,
// and announces ev in the same write.
func (st *Store) RecordViewer(ctx context.Context, convID, agent string, typing bool, now time.Time, ev engine.Event) error {
	// A viewer is one member, with ":typing" when typing: the old one of
	// either kind gives way to the new.
	member := agent
	if typing {
		member += ":typing"
	}
	key := st.keys.viewers(convID)
	t := newTx()
	t.do("ZREM", key, agent, agent+":typing")
	t.do("ZADD", key, ms(now.Add(viewingTTL)), member)
	t.do("ZREMRANGEBYSCORE", key, "-inf", ms(now))
	t.do("PEXPIRE", key, strconv.FormatInt(viewingTTL.Milliseconds(), 10))
	t.publish(st.keys.events(), encodeEvent(ev))
	return t.commit(ctx, st.rdb)
}

// Viewers lists who is looking at a conversation at now.
func (st *Store) Viewers(ctx context.Context, convID string, now time.Time) ([]Viewer, error) {
	members, err := st.rdb.ZRangeByScore(ctx, st.keys.viewers(convID), &redis.ZRangeBy{
		Min: strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, err
	}
	out := []Viewer{}
	for _, m := range members {
		id, typing := m, false
		if len(m) > 7 && m[len(m)-7:] == ":typing" {
			id, typing = m[:len(m)-7], true
		}
		out = append(out, Viewer{Agent: id, Typing: typing})
	}
	return out, nil
}

// RenewDesk records one of an agent's desks as open at now, for DeskLease,
// and moves the agent's presence check to when that lease and the grace
// after it have run out, unless it is due later already.
func (st *Store) RenewDesk(ctx context.Context, agent, desk string, now time.Time) error {
	k := st.keys
	expires := now.Add(DeskLease)
	t := newTx()
	t.do("ZADD", k.desks(agent), ms(expires), desk)
	t.do("PEXPIRE", k.desks(agent), strconv.FormatInt((DeskLease+PresenceGrace).Milliseconds(), 10))
	// Should this desk vanish without a word, the check is due when its
	// lease has run out and the grace with it.
	t.do("ZADD", k.due(), "GT", ms(expires.Add(PresenceGrace)), PresenceWake(agent))
	return t.commit(ctx, st.rdb)
}

// CloseDesk records an agent's desk as closed at now and returns how many
// of their desks are still open; with none, the presence check is due at
// checkAt.
func (st *Store) CloseDesk(ctx context.Context, agent, desk string, now, checkAt time.Time) (int, error) {
	k := st.keys
	return closeDeskScript.Run(ctx, st.rdb, []string{k.desks(agent), k.due()},
		desk, now.UnixMilli(), checkAt.UnixMilli(), PresenceWake(agent)).Int()
}

// closeDeskScript drops a desk and its lapsed siblings; when none is left it
// sets the presence check to ARGV[3] and answers 0, else the open count.
var closeDeskScript = redis.NewScript(`
redis.call("ZREM", KEYS[1], ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[2])
local open = redis.call("ZCARD", KEYS[1])
if open == 0 then
  redis.call("ZADD", KEYS[2], ARGV[3], ARGV[4])
end
return open
`)

// PresenceLapsed reports whether an agent has had no desk open since their
// last lease ended and the presence check is due at now; if so, it clears
// the check, so only one caller acts on it.
func (st *Store) PresenceLapsed(ctx context.Context, agent string, now time.Time) (bool, error) {
	k := st.keys
	lapsed, err := checkPresenceScript.Run(ctx, st.rdb, []string{k.desks(agent), k.due()},
		now.UnixMilli(), PresenceWake(agent)).Int()
	return lapsed != 0, err
}

// checkPresenceScript answers 1, and clears the check, when the agent's last
// desk lease ended at least the grace ago (ARGV[1] is now) and the check is
// due; 0 otherwise.
var checkPresenceScript = redis.NewScript(`
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
if redis.call("ZCARD", KEYS[1]) > 0 then
  return 0
end
local due = redis.call("ZSCORE", KEYS[2], ARGV[2])
if not due or tonumber(due) > tonumber(ARGV[1]) then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[2])
return 1
`)

// ContactConversationIDs returns the ids of every conversation a contact
// has had, oldest first, merged chats included.
func (st *Store) ContactConversationIDs(ctx context.Context, a channels.Address) ([]string, error) {
	return st.rdb.ZRange(ctx, st.keys.index("contact:"+string(a)), 0, -1).Result()
}

// SaveCustomerNote replaces a customer's note with its audit entry in the
// same write. It is one optimistic attempt: a note changed meanwhile is
// ErrConflict.
func (st *Store) SaveCustomerNote(ctx context.Context, addr channels.Address, note CustomerNote, e AuditEntry) error {
	_, ver, err := st.CustomerNote(ctx, addr)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(note)
	if err != nil {
		return err
	}
	t := newTx()
	key := st.keys.customerNote(addr)
	t.expectRecord(key, ver)
	t.do("SET", key, convValue(ver+1, string(raw)))
	if err := st.AddAudit(t, e); err != nil {
		return err
	}
	return t.commit(ctx, st.rdb)
}

// AuditEntry records who changed what, when.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// notificationsKept is how many notifications an agent's bell remembers.
const notificationsKept = 200

// viewingTTL is how long one "I am looking at this" lasts; the desk renews it.
const viewingTTL = 20 * time.Second

// Viewer is someone looking at a conversation now.
type Viewer struct {
	Agent  string `json:"agent"`
	Typing bool   `json:"typing"`
}

// PresenceGrace is how long an agent may have no desk open (a reload, a lost
// connection) before they stop getting chats.
const PresenceGrace = 60 * time.Second

// DeskLease is how long an open desk counts without a renewal; a desk's
// stream renews it at least twice as often.
const DeskLease = 45 * time.Second

// CustomerNote is the team's note about a customer: free text, with who
// last changed it and when.
type CustomerNote struct {
	Text string    `json:"text"`
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at,omitzero"`
}

// ContactConversations loads every conversation of a contact, oldest first.
func (s *Store) ContactConversations(ctx context.Context, a channels.Address) ([]*engine.Conversation, error) {
	ids, err := s.ContactConversationIDs(ctx, a)
	if err != nil {
		return nil, err
	}
	return s.Conversations(ctx, ids)
}

// AgentNames maps every agent's id to their name.
func (s *Store) AgentNames(ctx context.Context) (map[string]string, error) {
	all, err := s.Agents(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(all))
	for _, ag := range all {
		names[ag.ID] = ag.Name
	}
	return names, nil
}

// CustomerNote reads a customer's note and its version (0: none yet).
func (s *Store) CustomerNote(ctx context.Context, addr channels.Address) (CustomerNote, int64, error) {
	v, err := s.rdb.Get(ctx, s.keys.customerNote(addr)).Result()
	if errors.Is(err, redis.Nil) {
		return CustomerNote{}, 0, nil
	}
	if err != nil {
		return CustomerNote{}, 0, err
	}
	ver, doc, _ := strings.Cut(v, " ")
	var n CustomerNote
	if err := json.Unmarshal([]byte(doc), &n); err != nil {
		return CustomerNote{}, 0, fmt.Errorf("customer note: %w", err)
	}
	return n, version(ver), nil
}
