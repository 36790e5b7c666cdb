package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/redis/go-redis/v9"
)

func (k keys) outbox(a channels.Address) string { return k.prefix + "outbox:" + string(a) }

// claimScript finds a contact's next message to send and claims it.
// Messages at the head that are done (a SID recorded, by the send's answer
// or by a callback naming the message; or no longer queued) are popped.
//
//	KEYS[1] -> the contact's outbox (list of message ids)
//	KEYS[2] -> the due set
//	KEYS[3] -> the contact (hash)
//	ARGV[1] -> the message key prefix
//	ARGV[2] -> claim token
//	ARGV[3] -> now, Unix ms
//	ARGV[4] -> lease, ms
//	ARGV[5] -> the outbox's due member
//	Output: {"empty"}: nothing to send (the due entry is removed);
//	        {"busy"}: another job holds the head's live claim;
//	        {"later"}: the head waits for its next attempt;
//	        {"claimed", id, reclaimed, opted_out, last_inbound, window_closed,
//	        unreachable, field, value, ...}:
//	        the head, claimed for this token until now + lease, with its
//	        hash; reclaimed is "1" when an earlier claim's lease ran out.
var claimScript = redis.NewScript(`
local now = tonumber(ARGV[3])
while true do
  local id = redis.call("LINDEX", KEYS[1], 0)
  if not id then
    redis.call("ZREM", KEYS[2], ARGV[5])
    return {"empty"}
  end
  local key = ARGV[1] .. id
  local m = redis.call("HMGET", key, "status", "sid", "claim", "lease", "next")
  if m[1] ~= "queued" or (m[2] and m[2] ~= "") then
    redis.call("LPOP", KEYS[1])
  else
    local lease = tonumber(m[4] or "0") or 0
    if m[3] and m[3] ~= "" and lease > now then
      redis.call("ZADD", KEYS[2], lease, ARGV[5])
      return {"busy"}
    end
    local next = tonumber(m[5] or "0") or 0
    if next > now then
      redis.call("ZADD", KEYS[2], next, ARGV[5])
      return {"later"}
    end
    local reclaimed = ""
    if m[3] and m[3] ~= "" then reclaimed = "1" end
    local expires = now + tonumber(ARGV[4])
    redis.call("HSET", key, "claim", ARGV[2], "lease", expires)
    -- Should this job die holding the claim, the outbox is due again
    -- when the lease runs out.
    redis.call("ZADD", KEYS[2], expires, ARGV[5])
    local c = redis.call("HMGET", KEYS[3], "opted_out", "last_inbound", "window_closed", "unreachable")
    local out = {"claimed", id, reclaimed, c[1] or "", c[2] or "", c[3] or "", c[4] or ""}
    local h = redis.call("HGETALL", key)
    for i = 1, #h do out[#out + 1] = h[i] end
    return out
  end
end
`)

// settleScript records what became of a claimed send and moves the outbox
// on. outcome "sent" records the provider's SID and status (or a later
// status that a callback delivered before the SID was known) and pops the
// head; "failed" marks the message failed for good and pops it; "retry"
// releases the claim and sets the next attempt. A claim that is no longer
// this token's changes nothing but a SID no one recorded yet: the send did
// happen.
//
//	KEYS[1] -> the message (hash)
//	KEYS[2] -> the contact's outbox
//	KEYS[3] -> the due set
//	KEYS[4] -> the SID's index entry (sent only; else any key, unused)
//	KEYS[5] -> the SID's early status (sent only; else unused)
//	ARGV[1] -> message id
//	ARGV[2] -> claim token
//	ARGV[3] -> outcome: sent | failed | retry
//	ARGV[4] -> now, Unix ms
//	ARGV[5] -> the outbox's due member
//	ARGV[6] -> events channel
//	ARGV[7] -> event payload ("" for none)
//	ARGV[8..] -> sent: SID, status, SID index TTL ms; failed: error code,
//	            error text; retry: next attempt (Unix ms), attempts so far
//	Output: the status stored ("sent", "failed"), "retry", or "lost"
var settleScript = redis.NewScript(`
local rank = ` + statusRanks() + `
local msg, outcome = KEYS[1], ARGV[3]
local m = redis.call("HMGET", msg, "claim", "sid")
if m[1] ~= ARGV[2] then
  if outcome == "sent" and (not m[2] or m[2] == "") then
    redis.call("HSET", msg, "sid", ARGV[8])
    redis.call("SET", KEYS[4], ARGV[1], "PX", ARGV[10])
  end
  return "lost"
end
if outcome == "retry" then
  redis.call("HDEL", msg, "claim", "lease")
  redis.call("HSET", msg, "next", ARGV[8], "tries", ARGV[9])
  redis.call("ZADD", KEYS[3], ARGV[8], ARGV[5])
  return "retry"
end
local status = "failed"
if outcome == "sent" then
  status = ARGV[9]
  local code = ""
  if m[2] ~= ARGV[8] then
    local e = redis.call("HMGET", KEYS[5], "status", "err_code")
    if e[1] and (rank[e[1]] or 0) > (rank[status] or 0) then
      status, code = e[1], e[2] or ""
    end
    redis.call("HSET", msg, "sid", ARGV[8], "status", status, "err_code", code)
    redis.call("SET", KEYS[4], ARGV[1], "PX", ARGV[10])
    redis.call("DEL", KEYS[5])
  else
    -- A callback naming the message recorded this SID first, with a
    -- status at least as far along as the answer's.
    status = redis.call("HGET", msg, "status")
  end
else
  redis.call("HSET", msg, "status", "failed", "err_code", ARGV[8], "err", ARGV[9])
end
redis.call("HDEL", msg, "claim", "lease", "next", "tries")
if redis.call("LINDEX", KEYS[2], 0) == ARGV[1] then redis.call("LPOP", KEYS[2]) end
if redis.call("LLEN", KEYS[2]) > 0 then
  redis.call("ZADD", KEYS[3], ARGV[4], ARGV[5])
else
  redis.call("ZREM", KEYS[3], ARGV[5])
end
if ARGV[7] ~= "" then redis.call("PUBLISH", ARGV[6], ARGV[7]) end
return status
`)

// Claimed is an outbox head this job holds.
type Claimed struct {
	Msg       engine.Message
	token     string
	Tries     int
	Reclaimed bool
	Contact   engine.Contact // the fields the channel rules read
}

// ClaimHead claims a contact's next message; nil when there is nothing
// this job may send now.
func (st *Store) ClaimHead(ctx context.Context, a channels.Address, token string, now time.Time, lease time.Duration) (*Claimed, error) {
	res, err := claimScript.Run(ctx, st.rdb, []string{st.keys.outbox(a), st.keys.due(), st.keys.contact(a)},
		st.keys.message(""), token, now.UnixMilli(), lease.Milliseconds(), OutboxWake(a)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim outbox head: %w", err)
	}
	if res[0] != "claimed" {
		return nil, nil
	}
	h := make(map[string]string, (len(res)-7)/2)
	for i := 7; i+1 < len(res); i += 2 {
		h[res[i]] = res[i+1]
	}
	m, err := messageFromHash(res[1], h)
	if err != nil {
		return nil, err
	}
	tries, _ := strconv.Atoi(h["tries"])
	contact := engine.Contact{Address: a, OptedOut: res[3] == "1", LastInbound: fromMS(res[4]), WindowClosedAt: fromMS(res[5]), UnreachableAt: fromMS(res[6])}
	return &Claimed{Msg: m, token: token, Tries: tries, Reclaimed: res[2] == "1", Contact: contact}, nil
}

// Settle runs settleScript for a claimed head.
func (st *Store) Settle(ctx context.Context, c *Claimed, outcome string, now time.Time, ev *engine.Event, args ...any) (string, error) {
	k, m := st.keys, c.Msg
	sidKey, early := k.message(m.ID), k.message(m.ID)
	if outcome == "sent" {
		sid := args[0].(string)
		sidKey, early = k.sid(sid), k.earlyStatus(sid)
	}
	payload := ""
	if ev != nil {
		payload = string(encodeEvent(*ev))
	}
	argv := append([]any{m.ID, c.token, outcome, now.UnixMilli(), OutboxWake(m.To), k.events(), payload}, args...)
	res, err := settleScript.Run(ctx, st.rdb, []string{k.message(m.ID), k.outbox(m.To), k.due(), sidKey, early}, argv...).Text()
	if err != nil {
		return "", fmt.Errorf("settle send: %w", err)
	}
	return res, nil
}
