package desk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// Each contact has an outbox: the ids of its outbound messages in the
// order their decisions committed (the commit that makes a message pushes
// it, in the same script). One send job at a time works a contact's
// outbox from its head: it claims the head (a token and a lease on the
// message) before calling the provider, records the answer and pops the
// head in one script, and goes on to the next. So a contact's texts reach
// the provider in commit order, one in flight at a time, and neither a
// second job, a retry nor the reconciler can send a message out of turn or
// twice: a job that finds the head claimed leaves it to its holder.
//
// The one send that can still go twice is a crash between the provider
// accepting a message and the answer being recorded, when no status
// callback has named the message either: once the claim's lease runs out,
// the message is sent again. Nothing on this side can tell that send from
// one that never left.

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
		st.keys.message(""), token, now.UnixMilli(), lease.Milliseconds(), outboxWake(a)).StringSlice()
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
	argv := append([]any{m.ID, c.token, outcome, now.UnixMilli(), outboxWake(m.To), k.events(), payload}, args...)
	res, err := settleScript.Run(ctx, st.rdb, []string{k.message(m.ID), k.outbox(m.To), k.due(), sidKey, early}, argv...).Text()
	if err != nil {
		return "", fmt.Errorf("settle send: %w", err)
	}
	return res, nil
}

// DeliverOutbox is the body of a send job: it sends a contact's queued
// messages in order until the outbox is empty, its head waits for a retry,
// or another job holds it. A temporary provider error sets the head's next
// attempt (its back-off) and schedules a job for it; the contact's other
// messages wait behind it, other contacts' do not. A permanent error, or a
// temporary one past the last attempt, marks the head failed with the
// provider's code, and the next message goes. The error returned is
// Redis's: the job is retried.
func (s *Service) DeliverOutbox(ctx context.Context, a channels.Address) error {
	for {
		now := s.now()
		c, err := s.store.ClaimHead(ctx, a, engine.NewID(), now, s.sends.Lease)
		if err != nil || c == nil {
			return err
		}
		if c.Reclaimed {
			s.log.Warn().Str("message", c.Msg.ID).Msg("sending again a message whose earlier send was cut off; the provider may have had it")
		}
		if err := s.sendClaimed(ctx, c); err != nil {
			return err
		}
	}
}

// sendClaimed sends one claimed message and records the outcome.
func (s *Service) sendClaimed(ctx context.Context, c *Claimed) error {
	m := c.Msg
	// The rules are checked again: the window may have closed, or the
	// contact opted out, while the message waited.
	if err := engine.CheckSend(m.To, m.Template != nil, &c.Contact, s.now()); err != nil {
		code := "template_required"
		switch {
		case errors.Is(err, channels.ErrOptedOut):
			code = "opted_out"
		case errors.Is(err, channels.ErrUnreachable):
			code = "unreachable"
		}
		return s.settleFailed(ctx, c, code, err.Error())
	}
	// An approval withdrawn while the message waited stops it too.
	if err := engine.CheckTemplate(s.Rules(), m.Template); err != nil {
		return s.settleFailed(ctx, c, "template_not_approved", err.Error())
	}
	out := channels.Outbound{ID: m.ID, To: m.To, Body: m.Body, Template: m.Template}
	for _, md := range m.Media {
		out.MediaURLs = append(out.MediaURLs, md.URL)
	}
	s.withQuickReply(ctx, m, &out)
	// The call ends well inside the claim's lease, so no other job can take
	// the message over while the provider may still accept it.
	callCtx, cancel := context.WithTimeout(ctx, s.sends.Lease*2/3)
	receipt, err := s.provider.Send(callCtx, out)
	cancel()
	if err == nil {
		return s.settleSent(ctx, c, receipt)
	}
	if channels.IsTemporary(err) && c.Tries < s.sends.Retries {
		now := s.now()
		next := now.Add(Backoff(s.sends.RetryBase, c.Tries))
		if _, err := s.store.Settle(ctx, c, "retry", now, nil, next.UnixMilli(), c.Tries+1); err != nil {
			return err
		}
		key := "try" + strconv.Itoa(c.Tries+1) + ":" + m.ID
		if err := s.dispatch.DispatchSend(ctx, m.To, key, next); err != nil {
			s.log.Warn().Err(err).Str("message", m.ID).Msg("send retry not scheduled; the reconciler will")
		}
		return nil
	}
	code := "send_error"
	var se *channels.SendError
	if errors.As(err, &se) && se.Code != 0 {
		code = strconv.Itoa(se.Code)
		if err := s.learnFromError(ctx, m.To, se.Code); err != nil {
			return err
		}
	}
	return s.settleFailed(ctx, c, code, err.Error())
}

func (s *Service) settleFailed(ctx context.Context, c *Claimed, code, reason string) error {
	now := s.now()
	ev := &engine.Event{Type: engine.EventMessageStatus, ConversationID: c.Msg.ConversationID, MessageID: c.Msg.ID, Status: string(channels.StatusFailed), At: now}
	_, err := s.store.Settle(ctx, c, "failed", now, ev, code, reason)
	if err == nil {
		s.log.Warn().Str("message", c.Msg.ID).Str("code", code).Msg("send failed")
	}
	return err
}

// settleSent records a send the provider accepted. Redis failing just then
// would leave the message to be sent again once its claim lapses, so the
// write is tried a few times before the job gives up.
func (s *Service) settleSent(ctx context.Context, c *Claimed, r channels.Receipt) error {
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		now := s.now()
		ev := &engine.Event{Type: engine.EventMessageStatus, ConversationID: c.Msg.ConversationID, MessageID: c.Msg.ID, Status: string(r.Status), At: now}
		if _, err = s.store.Settle(ctx, c, "sent", now, ev, r.SID, string(r.Status), SIDTTL.Milliseconds()); err == nil {
			return nil
		}
	}
	return err
}

// Backoff is the wait before retry number retried+1 of a send: base,
// doubling each time, at most five minutes.
func Backoff(base time.Duration, retried int) time.Duration {
	d := base
	for range retried {
		d *= 2
		if d >= 5*time.Minute {
			return 5 * time.Minute
		}
	}
	return d
}
