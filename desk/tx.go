package desk

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// errConflict means a guard failed: something changed since the state was
// loaded. The caller loads again, decides again and retries.
var errConflict = errors.New("concurrent change")

// maxAttempts bounds the retries of one optimistic transaction.
const maxAttempts = 50

// tx is one atomic write, guarded: every guard is checked inside Redis, and
// only when all pass are all the commands applied, in one Lua script. It is
// how Parley does compare-and-set over several keys in one round trip.
type tx struct {
	keys   []string
	index  map[string]int
	guards [][]string
	ops    [][]string
}

func newTx() *tx { return &tx{index: map[string]int{}} }

func (t *tx) ref(key string) string {
	i, ok := t.index[key]
	if !ok {
		t.keys = append(t.keys, key)
		i = len(t.keys)
		t.index[key] = i
	}
	return strconv.Itoa(i)
}

// expectField guards that hash field equals want ("" means absent).
func (t *tx) expectField(key, field, want string) {
	t.guards = append(t.guards, []string{"eq", t.ref(key), field, want})
}

// expectVersion guards a versioned hash; version 0 means it must not exist yet.
func (t *tx) expectVersion(key string, version int64) {
	want := ""
	if version > 0 {
		want = strconv.FormatInt(version, 10)
	}
	t.expectField(key, "ver", want)
}

// expectRecord guards a string record stored as its version, a space and
// its value; version 0 means it must not exist yet.
func (t *tx) expectRecord(key string, version int64) {
	t.guards = append(t.guards, []string{"rec", t.ref(key), strconv.FormatInt(version, 10)})
}

// expectRoom guards that adding delta to a numeric hash field keeps it at
// most limit.
func (t *tx) expectRoom(key, field string, delta, limit int) {
	t.guards = append(t.guards, []string{"room", t.ref(key), field, strconv.Itoa(delta), strconv.Itoa(limit)})
}

// claim guards that a string key is absent, and sets it to value. If the key
// exists, the commit reports errExists with the key's value.
func (t *tx) claim(key, value string, ttlMillis int64) {
	t.guards = append(t.guards, []string{"absent", t.ref(key)})
	t.do("SET", key, value, "PX", strconv.FormatInt(ttlMillis, 10))
}

// do adds one command on key.
func (t *tx) do(cmd, key string, args ...string) {
	t.ops = append(t.ops, append([]string{cmd, t.ref(key)}, args...))
}

// publish adds a pub/sub message, sent only if the write commits.
func (t *tx) publish(channel string, payload []byte) {
	t.ops = append(t.ops, []string{"PUBLISH", "0", channel, string(payload)})
}

// existsError is the result of a failed claim.
type existsError struct{ value string }

func (e *existsError) Error() string { return "already recorded as " + e.value }

// commitScript reads its plan from ARGV as length-prefixed records: each
// guard or command is a count n followed by n values (the first the guard
// kind or command name, the second a key index, 0 for none). ARGV[1] is the
// number of guards. Flat arguments spare a JSON encoding in Go and a
// decoding in Lua on every write.
var commitScript = redis.NewScript(`
local pos = 2
local function record()
  local n = tonumber(ARGV[pos])
  local r = {unpack(ARGV, pos + 1, pos + n)}
  pos = pos + n + 1
  return r
end
for _ = 1, tonumber(ARGV[1]) do
  local g = record()
  local key = KEYS[tonumber(g[2])]
  if g[1] == "eq" then
    local v = redis.call("HGET", key, g[3])
    if not v then v = "" end
    if v ~= g[4] then return {"conflict", key} end
  elseif g[1] == "rec" then
    local v = redis.call("GET", key)
    if (v and string.match(v, "^%d+") or "0") ~= g[3] then return {"conflict", key} end
  elseif g[1] == "room" then
    local v = tonumber(redis.call("HGET", key, g[3]) or "0") or 0
    if v + tonumber(g[4]) > tonumber(g[5]) then return {"conflict", key} end
  elseif g[1] == "absent" then
    local v = redis.call("GET", key)
    if v then return {"exists", v} end
  end
end
while pos <= #ARGV do
  local o = record()
  local i = tonumber(o[2])
  if i == 0 then
    redis.call(o[1], unpack(o, 3))
  else
    redis.call(o[1], KEYS[i], unpack(o, 3))
  end
end
return {"ok", ""}
`)

// commit runs the transaction. It returns errConflict when a version guard
// failed and *existsError when a claim found its key taken.
func (t *tx) commit(ctx context.Context, rdb redis.Scripter) error {
	if len(t.ops) == 0 {
		return nil // nothing changed: nothing to guard
	}
	args := make([]any, 0, 1+4*(len(t.guards)+len(t.ops)))
	args = append(args, len(t.guards))
	for _, records := range [][][]string{t.guards, t.ops} {
		for _, r := range records {
			args = append(args, len(r))
			for _, v := range r {
				args = append(args, v)
			}
		}
	}
	res, err := commitScript.Run(ctx, rdb, t.keys, args...).StringSlice()
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	switch res[0] {
	case "ok":
		return nil
	case "conflict":
		return errConflict
	case "exists":
		return &existsError{value: res[1]}
	}
	return fmt.Errorf("commit: unexpected reply %q", res)
}
