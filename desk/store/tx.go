package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"
)

// Tx is one atomic write, guarded: every guard is checked inside Redis, and
// only when all pass are all the commands applied, in one Lua script. It is
// how Parley does compare-and-set over several keys in one round trip.
//
// Guards and commands are kept as the script reads them: each a count n
// followed by n values, the first the guard kind or command name, the second
// a key index (0 for none); a command whose reply the caller wants has its
// count negated. Flat arguments spare a JSON encoding in Go and a
// decoding in Lua on every write. They are kept as strings and handed to
// the client as pointers to them: boxing each string in an interface
// would allocate once per argument, some forty times a message.
type Tx struct {
	keys    []string
	index   map[string]int
	guards  []string
	nGuards int
	claims  int
	ops     []string
	// reports counts the commands added by report; replies holds their
	// replies, in order, once the write committed.
	reports int
	replies []string
	// image is how the commit leaves contact imageOf, remembered once it
	// committed; stale are contacts whose remembered image it overtakes
	// (recent.go).
	image   *contactImage
	imageOf channels.Address
	stale   []channels.Address
}

// newTx sizes a tx for a message's write (about ten commands over a few
// keys, and a remembered contact's guard of some twenty values), so that
// building one does not grow its slices step by step.
func newTx() *Tx {
	return &Tx{index: make(map[string]int, 8), keys: make([]string, 0, 8), guards: make([]string, 0, 48), ops: make([]string, 0, 64)}
}

func (t *Tx) ref(key string) string {
	i, ok := t.index[key]
	if !ok {
		t.keys = append(t.keys, key)
		i = len(t.keys)
		t.index[key] = i
	}
	return strconv.Itoa(i)
}

func (t *Tx) guard(kind, key string, args ...string) {
	t.nGuards++
	t.guards = append(append(t.guards, strconv.Itoa(2+len(args)), kind, t.ref(key)), args...)
}

// expectField guards that hash field equals want ("" means absent).
func (t *Tx) expectField(key, field, want string) { t.guard("eq", key, field, want) }

// expectVersion guards a versioned hash; version 0 means it must not exist yet.
func (t *Tx) expectVersion(key string, version int64) {
	want := ""
	if version > 0 {
		want = strconv.FormatInt(version, 10)
	}
	t.expectField(key, "ver", want)
}

// expectRecord guards a string record stored as its version, a space and
// its value; version 0 means it must not exist yet.
func (t *Tx) expectRecord(key string, version int64) {
	t.guard("rec", key, strconv.FormatInt(version, 10))
}

// expectStored guards a string key's whole value ("" means absent).
func (t *Tx) expectStored(key, value string) { t.guard("is", key, value) }

// expectHash guards a hash's fields, each equal to its value in values
// ("" means absent).
func (t *Tx) expectHash(key string, fields, values []string) {
	t.nGuards++
	t.guards = append(append(append(t.guards, strconv.Itoa(2+len(fields)+len(values)), "hash", t.ref(key)), fields...), values...)
}

// expectRoom guards that adding delta to a numeric hash field keeps it at
// most limit.
func (t *Tx) expectRoom(key, field string, delta, limit int) {
	t.guard("room", key, field, strconv.Itoa(delta), strconv.Itoa(limit))
}

// claim sets a string key that must be absent. It is taken once every other
// guard has passed, by SET NX, so claiming costs one command; if the key
// exists, the commit reports errExists with the key's value.
func (t *Tx) claim(key, value string, ttlMillis int64) {
	t.claims++
	t.guard("claim", key, value, strconv.FormatInt(ttlMillis, 10))
}

// do adds one command on key.
func (t *Tx) do(cmd, key string, args ...string) {
	t.ops = append(append(t.ops, strconv.Itoa(2+len(args)), cmd, t.ref(key)), args...)
}

// report adds one command on key whose reply the commit keeps: it is
// replies[i] after commit, i being the value returned. The script tells
// such a command by its negative count.
func (t *Tx) report(cmd, key string, args ...string) int {
	t.ops = append(append(t.ops, strconv.Itoa(-(2+len(args))), cmd, t.ref(key)), args...)
	t.reports++
	return t.reports - 1
}

// publish adds a pub/sub message, sent only if the write commits.
func (t *Tx) publish(channel string, payload []byte) {
	t.ops = append(t.ops, "4", "PUBLISH", "0", channel, string(payload))
}

// ExistsError is the result of a failed claim.
type ExistsError struct{ Value string }

func (e *ExistsError) Error() string { return "already recorded as " + e.Value }

// commitScript checks the guards in ARGV (ARGV[1] is their number), takes
// the claims, then runs the commands. It reads the arguments in place:
// building a table per record would cost more than the commands themselves.
//
// KEYS[1..n] -> every key a guard or command names, each once (Tx.ref)
// ARGV[1] -> the number of guards
// ARGV[2 ..] -> the guards, then the commands, each as a count c and c
// values: the guard kind or command name, the index of its key in KEYS (0
// for none), its arguments. A guard is eq (field, value), rec (version),
// is (value), hash (fields, then their values), room (field, delta,
// limit) or claim (value, ttl in ms); a command whose reply is wanted has
// its count negated.
// Output: {"ok", "", replies...} with a reply for each negated command;
// {"conflict", key} when a guard failed, nothing written; {"exists", value}
// when a claim's key was taken, nothing written.
var commitScript = redis.NewScript(`
local pos, claims = 2, {}
for _ = 1, tonumber(ARGV[1]) do
  local kind, key = ARGV[pos + 1], KEYS[tonumber(ARGV[pos + 2])]
  if kind == "eq" then
    if (redis.call("HGET", key, ARGV[pos + 3]) or "") ~= ARGV[pos + 4] then return {"conflict", key} end
  elseif kind == "rec" then
    local v = redis.call("GET", key)
    if (v and string.match(v, "^%d+") or "0") ~= ARGV[pos + 3] then return {"conflict", key} end
  elseif kind == "is" then
    if (redis.call("GET", key) or "") ~= ARGV[pos + 3] then return {"conflict", key} end
  elseif kind == "hash" then
    local n = (tonumber(ARGV[pos]) - 2) / 2
    local got = redis.call("HMGET", key, unpack(ARGV, pos + 3, pos + 2 + n))
    for i = 1, n do
      if (got[i] or "") ~= ARGV[pos + 2 + n + i] then return {"conflict", key} end
    end
  elseif kind == "room" then
    local v = tonumber(redis.call("HGET", key, ARGV[pos + 3]) or "0") or 0
    if v + tonumber(ARGV[pos + 4]) > tonumber(ARGV[pos + 5]) then return {"conflict", key} end
  elseif kind == "claim" then
    claims[#claims + 1] = pos
  end
  pos = pos + tonumber(ARGV[pos]) + 1
end
for i, at in ipairs(claims) do
  local key = KEYS[tonumber(ARGV[at + 2])]
  if not redis.call("SET", key, ARGV[at + 3], "NX", "PX", ARGV[at + 4]) then
    for j = 1, i - 1 do redis.call("DEL", KEYS[tonumber(ARGV[claims[j] + 2])]) end
    return {"exists", redis.call("GET", key)}
  end
end
local last, out = #ARGV, {"ok", ""}
while pos <= last do
  local n, i = tonumber(ARGV[pos]), tonumber(ARGV[pos + 2])
  local size, r = math.abs(n)
  if i == 0 then
    r = redis.call(ARGV[pos + 1], unpack(ARGV, pos + 3, pos + size))
  else
    r = redis.call(ARGV[pos + 1], KEYS[i], unpack(ARGV, pos + 3, pos + size))
  end
  if n < 0 then out[#out + 1] = tostring(r) end
  pos = pos + size + 1
end
return out
`)

// commit runs the transaction. It returns ErrConflict when a version guard
// failed and *ExistsError when a claim found its key taken.
func (t *Tx) commit(ctx context.Context, rdb redis.Scripter) error {
	if len(t.ops) == 0 && t.claims == 0 {
		return nil // nothing changed: nothing to guard
	}
	args := make([]any, 0, 1+len(t.guards)+len(t.ops))
	args = append(args, t.nGuards)
	for i := range t.guards {
		args = append(args, &t.guards[i])
	}
	for i := range t.ops {
		args = append(args, &t.ops[i])
	}
	res, err := commitScript.Run(ctx, rdb, t.keys, args...).StringSlice()
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	switch res[0] {
	case "ok":
		t.replies = res[2:]
		return nil
	case "conflict":
		return engine.ErrConflict
	case "exists":
		return &ExistsError{Value: res[1]}
	}
	return fmt.Errorf("commit: unexpected reply %q", res)
}
