package desk

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// Send queues a message on a conversation, as an operator or Parley itself
// (agents use Reply, which also enforces who may write). The channel rules
// are checked first (opt-out, WhatsApp's 24-hour window); the message is
// written as queued and joins its contact's outbox in the same atomic
// write, then a send job is enqueued. Should the process die before the
// enqueue, the reconciler enqueues it from the outbox's due entry.
func (s *Service) Send(ctx context.Context, convID string, r engine.Reply) (engine.Message, error) {
	var m engine.Message
	err := s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, convID)
		if err != nil {
			return err
		}
		if m, err = w.Reply(c, r); err != nil {
			return err
		}
		return s.commit(ctx, s.store.NewCommit(), w)
	})
	return m, err
}

// convWorld loads a conversation with its contact's world.
func (s *Service) convWorld(ctx context.Context, convID string) (*engine.World, *engine.Conversation, error) {
	conv, err := s.store.Conversation(ctx, convID)
	if err != nil {
		return nil, nil, err
	}
	w, err := s.contactWorld(ctx, conv.Contact)
	if err != nil {
		return nil, nil, err
	}
	return w, w.Track(conv), nil
}

// SetOptedOut records a contact's subscription.
func (s *Service) SetOptedOut(ctx context.Context, a channels.Address, out bool) error {
	return s.updateContact(ctx, a, func(c *engine.Contact) bool {
		changed := c.OptedOut != out
		c.OptedOut = out
		return changed
	})
}

// updateContact changes a contact with change, which says whether it
// changed anything.
func (s *Service) updateContact(ctx context.Context, a channels.Address, change func(*engine.Contact) bool) error {
	return s.retry(ctx, func() error {
		w, err := s.contactWorld(ctx, a)
		if err != nil {
			return err
		}
		if !change(w.Contact) {
			return nil
		}
		w.TouchContact()
		return s.commit(ctx, s.store.NewCommit(), w)
	})
}

// learnFromError carries out what a delivery error code tells about the
// contact (channels.ExplainError): an opt-out, a closed WhatsApp window, a
// number that cannot receive messages.
func (s *Service) learnFromError(ctx context.Context, a channels.Address, code int) error {
	_, action := channels.ExplainError(strconv.Itoa(code))
	now := s.now().UTC()
	switch action {
	case channels.ActionOptOut:
		return s.SetOptedOut(ctx, a, true)
	case channels.ActionCloseWindow:
		return s.updateContact(ctx, a, func(c *engine.Contact) bool { c.WindowClosedAt = now; return true })
	case channels.ActionUnreachable:
		return s.updateContact(ctx, a, func(c *engine.Contact) bool { c.UnreachableAt = now; return true })
	}
	return nil
}

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

const (
	StatusApplied StatusOutcome = "applied" // the message moved forward
	StatusStale   StatusOutcome = "stale"   // older than what is stored: ignored
	StatusEarly   StatusOutcome = "early"   // SID not recorded yet: kept for it
)

// ApplyStatus records a delivery callback. Statuses never go backwards; a
// failure keeps its error code, and what the code tells about the contact
// is recorded (learnFromError).
func (s *Service) ApplyStatus(ctx context.Context, u channels.StatusUpdate) (StatusOutcome, error) {
	ev := engine.Event{Type: engine.EventMessageStatus, Status: string(u.Status), At: s.now().UTC()}
	outcome, contact, err := s.store.ApplyStatus(ctx, u, ev)
	if err != nil {
		return "", err
	}
	if u.ErrorCode != 0 && contact != "" {
		return outcome, s.learnFromError(ctx, contact, u.ErrorCode)
	}
	return outcome, nil
}
