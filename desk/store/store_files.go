package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/media"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// The store's side of files, customers' media, the quick-reply cache, the
// bot circuit and callbacks, transcript offers and the settings a template
// sync rewrites: every Redis command the Service used to send for them
// itself, so that the Service only decides and orders.

// isNil tells redis.Nil apart for callers that read optional keys.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }

// StoredFile is a file as its hash keeps it: what it is, and whom it
// belongs to, which is what every use of it is checked against.
type StoredFile struct {
	Name, ContentType string
	Data              []byte
	// By is the agent who uploaded it; "" for a customer's file, which
	// nobody may then send on by its id.
	By string
	// Conv is the conversation it was stored for, Contact that
	// conversation's customer.
	Conv    string
	Contact channels.Address
}

// PutFile stores file id for media.Keep. The file and its lifetime are one
// write: a file is never kept for good.
func (st *Store) PutFile(ctx context.Context, id string, f StoredFile) error {
	key := st.keys.media(id)
	fields := []string{"name", f.Name, "type", f.ContentType, "data", string(f.Data)}
	if f.By != "" {
		fields = append(fields, "by", f.By)
	}
	fields = append(fields, "conv", f.Conv, "contact", string(f.Contact))
	t := newTx()
	t.do("HSET", key, fields...)
	t.do("PEXPIRE", key, strconv.FormatInt(media.Keep.Milliseconds(), 10))
	return t.commit(ctx, st.rdb)
}

// File returns a stored file with its bytes and owners (not its
// uploader); found is false when there is no such file, or it has expired.
func (st *Store) File(ctx context.Context, id string) (f StoredFile, found bool, err error) {
	v, err := st.rdb.HMGet(ctx, st.keys.media(id), "name", "type", "data", "conv", "contact").Result()
	if err != nil {
		return StoredFile{}, false, err
	}
	raw, found := v[2].(string)
	f.Name, _ = v[0].(string)
	f.ContentType, _ = v[1].(string)
	f.Data = []byte(raw)
	f.Conv, _ = v[3].(string)
	contact, _ := v[4].(string)
	f.Contact = channels.Address(contact)
	return f, found, nil
}

// FileInfo returns what a reply needs of a stored file, in one round trip
// and without its bytes: its record (no Data, no Contact), its size, and
// the time it has left (0 or less when it has none, or does not exist).
func (st *Store) FileInfo(ctx context.Context, id string) (f StoredFile, size int, left time.Duration, err error) {
	key := st.keys.media(id)
	var fields *redis.SliceCmd
	var n *redis.IntCmd
	var ttl *redis.DurationCmd
	if _, err := st.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		fields = p.HMGet(ctx, key, "by", "conv", "name", "type")
		n = p.HStrLen(ctx, key, "data")
		ttl = p.PTTL(ctx, key)
		return nil
	}); err != nil {
		return StoredFile{}, 0, 0, err
	}
	v := fields.Val()
	f.By, _ = v[0].(string)
	f.Conv, _ = v[1].(string)
	f.Name, _ = v[2].(string)
	f.ContentType, _ = v[3].(string)
	return f, int(n.Val()), ttl.Val(), nil
}

// saveFilesScript records a message's files, if the message still exists,
// drops its due entry once every item is decided, and announces it.
//
//	KEYS[1] -> the message (hash)
//	KEYS[2] -> the due set
//	ARGV[1] -> the files (JSON)
//	ARGV[2] -> "1" when every item is decided
//	ARGV[3] -> the due member
//	ARGV[4] -> events channel
//	ARGV[5] -> event payload
var saveFilesScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then
  redis.call("ZREM", KEYS[2], ARGV[3])
  return 0
end
redis.call("HSET", KEYS[1], "files", ARGV[1])
if ARGV[2] == "1" then redis.call("ZREM", KEYS[2], ARGV[3]) end
redis.call("PUBLISH", ARGV[4], ARGV[5])
return 1
`)

// RecordFiles records the state of an inbound message's media items on the
// message and announces ev, unless the message was purged meanwhile. Once
// done (every item fetched or given up) its media due entry goes too, in
// the same step, so no fetch is enqueued again.
func (st *Store) RecordFiles(ctx context.Context, messageID string, files []engine.File, done bool, ev engine.Event) error {
	raw, err := json.Marshal(files)
	if err != nil {
		return err
	}
	flag := ""
	if done {
		flag = "1"
	}
	k := st.keys
	return saveFilesScript.Run(ctx, st.rdb, []string{k.message(messageID), k.due()},
		string(raw), flag, MediaWake(messageID), k.events(), string(encodeEvent(ev))).Err()
}

// quickReplyLock is the key that one send creating a quick-reply resource
// holds meanwhile.
func (k keys) quickReplyLock(hash string) string { return k.quickReply(hash) + ":creating" }

// CachedQuickReply returns the content SID cached for a set of buttons
// (named by its hash), or "" when none is.
func (st *Store) CachedQuickReply(ctx context.Context, hash string) (string, error) {
	sid, err := st.rdb.Get(ctx, st.keys.quickReply(hash)).Result()
	if isNil(err) {
		return "", nil
	}
	return sid, err
}

// KeepQuickReply keeps a cached SID for another kept, from now: a set still
// in use is never created again.
func (st *Store) KeepQuickReply(ctx context.Context, hash string, kept time.Duration) error {
	return st.rdb.Expire(ctx, st.keys.quickReply(hash), kept).Err()
}

// CacheQuickReply caches the content SID just created for a set, for kept.
func (st *Store) CacheQuickReply(ctx context.Context, hash, sid string, kept time.Duration) error {
	return st.rdb.Set(ctx, st.keys.quickReply(hash), sid, kept).Err()
}

// LockQuickReply takes the right to create a set's resource, for at most
// hold (so that a send dying with it does not stop the others for good);
// false means another send holds it.
func (st *Store) LockQuickReply(ctx context.Context, hash string, hold time.Duration) (bool, error) {
	return st.rdb.SetNX(ctx, st.keys.quickReplyLock(hash), "1", hold).Result()
}

// UnlockQuickReply gives the right to create a set's resource back.
func (st *Store) UnlockQuickReply(ctx context.Context, hash string) error {
	return st.rdb.Del(ctx, st.keys.quickReplyLock(hash)).Err()
}

// BotCircuitOpen reports whether a bot's circuit is open: it failed too
// often lately, and its chats go to people for a while.
func (st *Store) BotCircuitOpen(ctx context.Context, bot string) (bool, error) {
	n, err := st.rdb.Exists(ctx, st.keys.botOpen(bot)).Result()
	return n > 0, err
}

// botFailureScript counts one failed event of a bot and opens its circuit
// at the trip count, in one step: the counter never lives without its
// window, and two failures at once cannot both miss the trip.
//
// KEYS[1] -> the bot's failure counter
// KEYS[2] -> the bot's open-circuit flag
// ARGV[1] -> the counting window, in milliseconds
// ARGV[2] -> the failures that open the circuit
// ARGV[3] -> how long the circuit stays open, in milliseconds
// Output: 1 if this failure opened the circuit, else 0
var botFailureScript = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call("SET", KEYS[2], "1", "PX", ARGV[3])
  redis.call("DEL", KEYS[1])
  return 1
end
return 0
`)

// CountBotFailure counts one failed event of a bot: trip failures within
// window open its circuit for cooldown. opened says this one did.
func (st *Store) CountBotFailure(ctx context.Context, bot string, window time.Duration, trip int, cooldown time.Duration) (opened bool, err error) {
	k := st.keys
	n, err := botFailureScript.Run(ctx, st.rdb, []string{k.botFailures(bot), k.botOpen(bot)},
		window.Milliseconds(), trip, cooldown.Milliseconds()).Int()
	return n == 1, err
}

// ResetBotFailures forgets a bot's recent failures, once it answered.
func (st *Store) ResetBotFailures(ctx context.Context, bot string) error {
	t := newTx()
	t.do("DEL", st.keys.botFailures(bot))
	return t.commit(ctx, st.rdb)
}

// BotCallbackApplied reports whether a bot's callback id was applied before.
func (st *Store) BotCallbackApplied(ctx context.Context, bot, id string) (bool, error) {
	n, err := st.rdb.Exists(ctx, st.keys.botNonce(bot, id)).Result()
	return n > 0, err
}

// ClaimBotCallback makes t record a bot's callback id, kept for ttl, and
// fail with *ExistsError if it was recorded before: a replayed callback
// then changes nothing.
func (st *Store) ClaimBotCallback(t *Tx, bot, id string, ttl time.Duration) {
	t.claim(st.keys.botNonce(bot, id), "1", ttl.Milliseconds())
}

// TranscriptOffer returns a contact's standing transcript offer: the chat
// it is for and until when; conv is "" when there is none.
func (st *Store) TranscriptOffer(ctx context.Context, a channels.Address) (conv string, until time.Time, err error) {
	v, err := st.rdb.Get(ctx, st.keys.transcriptOffer(a)).Result()
	if isNil(err) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	conv, ms, _ := strings.Cut(v, " ")
	return conv, fromMS(ms), nil
}

// ReplaceSettingsIn makes t store doc as the settings' next version, if they
// are still at ver when it commits (else ErrConflict).
func (st *Store) ReplaceSettingsIn(t *Tx, ver int64, doc string) {
	k := st.keys
	t.expectVersion(k.settings(), ver)
	t.do("HSET", k.settings(), "doc", doc, "ver", itoa(ver+1))
}
