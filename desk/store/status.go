package store

import (
	"fmt"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/redis/go-redis/v9"
)

// statusRanks is channels.Rank as a Lua table, so the scripts below order
// statuses exactly as the Go code does.
func statusRanks() string {
	out := "{"
	for _, st := range []channels.Status{"accepted", "scheduled", channels.StatusQueued, channels.StatusSending, channels.StatusSent,
		channels.StatusDelivered, channels.StatusUndelivered, channels.StatusFailed, channels.StatusRead} {
		out += fmt.Sprintf("[%q]=%d,", st, channels.Rank(st))
	}
	return out + "}"
}

// statusScript applies a delivery callback and announces what it applied.
// An unknown SID of a callback that names its message still waiting for
// one is that send's: the SID is recorded, and the message's send is done
// (a claim its worker died holding is dropped, and the outbox pops it).
// Any other unknown SID is kept aside for the send that will record it. A
// known one is applied only if it moves the status forward.
//
//	KEYS[1] -> the SID's index entry
//	KEYS[2] -> the SID's early status (hash)
//	KEYS[3] -> the message the callback names (any key when it names none)
//	KEYS[4] -> the due set
//	ARGV[1] -> status
//	ARGV[2] -> error code ("" for none)
//	ARGV[3] -> early status TTL, ms
//	ARGV[4] -> the message key prefix
//	ARGV[5] -> the message id the callback names ("" for none)
//	ARGV[6] -> SID index TTL, ms
//	ARGV[7] -> the SID
//	ARGV[8] -> events channel
//	ARGV[9] -> the event, without its conversation and message ids
//	ARGV[10] -> now, Unix ms
//	ARGV[11] -> the due-member prefix of an outbox
//	Output: {outcome, message id, address, conversation id}; outcome is
//	        applied, stale or early
var statusScript = redis.NewScript(`
local rank = ` + statusRanks() + `
local status, code = ARGV[1], ARGV[2]
local id = redis.call("GET", KEYS[1])
if not id and ARGV[5] ~= "" then
  local m = redis.call("HMGET", KEYS[3], "sid", "status")
  if m[2] and (not m[1] or m[1] == "") then
    redis.call("HSET", KEYS[3], "sid", ARGV[7])
    if redis.call("HDEL", KEYS[3], "claim", "lease", "next", "tries") > 0 then
      -- Its job died holding it: the outbox need not wait out the lease.
      redis.call("ZADD", KEYS[4], ARGV[10], ARGV[11] .. redis.call("HGET", KEYS[3], "to"))
    end
    redis.call("SET", KEYS[1], ARGV[5], "PX", ARGV[6])
    id = ARGV[5]
  end
end
if not id then
  local cur = redis.call("HGET", KEYS[2], "status")
  if (not cur) or (rank[status] or 0) > (rank[cur] or 0) then
    redis.call("HSET", KEYS[2], "status", status, "err_code", code)
    redis.call("PEXPIRE", KEYS[2], ARGV[3])
  end
  return {"early", "", "", ""}
end
local msg = ARGV[4] .. id
local m = redis.call("HMGET", msg, "status", "to", "conv")
if (rank[status] or 0) <= (rank[m[1] or ""] or 0) then
  return {"stale", id, m[2] or "", m[3] or ""}
end
redis.call("HSET", msg, "status", status, "err_code", code)
-- Ids are ULIDs: they need no escaping inside the JSON.
redis.call("PUBLISH", ARGV[8], '{"conversation_id":"' .. (m[3] or "") .. '","message_id":"' .. id .. '",' .. string.sub(ARGV[9], 2))
return {"applied", id, m[2] or "", m[3] or ""}
`)

// earlyTTL is how long a callback for a not-yet-recorded SID is kept.
const earlyTTL = time.Hour

// StatusOutcome says what a status callback did.
type StatusOutcome string
