package desk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// ErrSendFailed wraps a send that ended the message as failed: retrying the
// job cannot help.
var ErrSendFailed = errors.New("send failed")

// Reply is what an agent, the engine or an operator asks to send.
type Reply struct {
	Author    string
	Body      string
	MediaURLs []string
	Template  *channels.Template
}

// Send queues a message on a conversation, as an operator or Parley itself
// (agents use Reply, which also enforces who may write). The channel rules
// are checked first (opt-out, WhatsApp's 24-hour window); the message is
// written as queued with a wake-up in the same atomic write, then its send
// job is enqueued. Should the process die before the enqueue, the
// reconciler enqueues it from the wake-up.
func (s *Service) Send(ctx context.Context, convID string, r Reply) (Message, error) {
	var m Message
	err := s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, convID)
		if err != nil {
			return err
		}
		if m, err = w.reply(c, r); err != nil {
			return err
		}
		return s.commit(ctx, newTx(), w)
	})
	return m, err
}

// reply queues an outbound message after checking the channel rules.
func (w *world) reply(c *Conversation, r Reply) (Message, error) {
	if r.Body == "" && len(r.MediaURLs) == 0 && r.Template == nil {
		return Message{}, fmt.Errorf("%w: a message needs a body, media or a template", ErrInvalid)
	}
	if err := channels.CheckSend(c.Contact, r.Template != nil, w.contact.OptedOut, w.contact.LastInbound, w.now); err != nil {
		return Message{}, err
	}
	m := Message{
		ID: newID(), Direction: DirOut, Author: r.Author, To: c.Contact,
		Body: r.Body, Template: r.Template, Status: channels.StatusQueued,
	}
	for _, u := range r.MediaURLs {
		m.Media = append(m.Media, channels.Media{URL: u})
	}
	w.add(c, m)
	return w.messages[len(w.messages)-1], nil
}

// convWorld loads a conversation with its contact's world.
func (s *Service) convWorld(ctx context.Context, convID string) (*world, *Conversation, error) {
	conv, err := s.store.Conversation(ctx, convID)
	if err != nil {
		return nil, nil, err
	}
	w, err := s.contactWorld(ctx, conv.Contact)
	if err != nil {
		return nil, nil, err
	}
	return w, w.track(conv), nil
}

// sendWake is the due-set member of a queued send.
func sendWake(messageID string) string { return "send:" + messageID }

// Deliver sends one queued message through the provider; it is the body of
// the send job. A message that is no longer queued is left alone, so a job
// that runs twice sends once. A temporary provider error is returned for the
// job to retry, unless lastAttempt; any other failure marks the message
// failed and returns an error wrapping ErrSendFailed.
func (s *Service) Deliver(ctx context.Context, messageID string, lastAttempt bool) error {
	m, err := s.store.Message(ctx, messageID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: message %s does not exist", ErrSendFailed, messageID)
	}
	if err != nil {
		return err
	}
	// A SID means the provider has it (whatever status it reported back);
	// any other status than queued means it ended here.
	if m.SID != "" || m.Status != channels.StatusQueued {
		return nil
	}
	contact, err := s.store.Contact(ctx, m.To)
	if errors.Is(err, ErrNotFound) {
		return s.fail(ctx, m, "no_contact", "no contact "+string(m.To))
	}
	if err != nil {
		return err
	}
	// The rules are checked again: the window may have closed, or the
	// contact opted out, while the message waited.
	if err := channels.CheckSend(m.To, m.Template != nil, contact.OptedOut, contact.LastInbound, s.now()); err != nil {
		code := "template_required"
		if errors.Is(err, channels.ErrOptedOut) {
			code = "opted_out"
		}
		return s.fail(ctx, m, code, err.Error())
	}
	out := channels.Outbound{ID: m.ID, To: m.To, Body: m.Body, Template: m.Template}
	for _, md := range m.Media {
		out.MediaURLs = append(out.MediaURLs, md.URL)
	}
	receipt, err := s.provider.Send(ctx, out)
	if err != nil {
		if channels.IsTemporary(err) && !lastAttempt {
			return err
		}
		code := "send_error"
		var se *channels.SendError
		if errors.As(err, &se) && se.Code != 0 {
			code = strconv.Itoa(se.Code)
			if se.Code == channels.ErrorCodeOptedOut {
				if err := s.SetOptedOut(ctx, m.To, true); err != nil {
					return err
				}
			}
		}
		return s.fail(ctx, m, code, err.Error())
	}
	return s.store.recordSent(ctx, m, receipt, s.now())
}

func (s *Service) fail(ctx context.Context, m Message, code, reason string) error {
	if err := s.store.recordFailed(ctx, m, code, reason, s.now()); err != nil {
		return err
	}
	return fmt.Errorf("%w: message %s: %s", ErrSendFailed, m.ID, reason)
}

// SetOptedOut records a contact's subscription.
func (s *Service) SetOptedOut(ctx context.Context, a channels.Address, out bool) error {
	return s.retry(ctx, func() error {
		w, err := s.contactWorld(ctx, a)
		if err != nil {
			return err
		}
		if w.contact.OptedOut == out {
			return nil
		}
		w.contact.OptedOut = out
		w.touchContact()
		return s.commit(ctx, newTx(), w)
	})
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

// sentScript records the provider's acceptance: SID, index, the status (or a
// later one that a callback delivered before the SID was known), and removes
// the wake-up.
var sentScript = redis.NewScript(`
local rank = ` + statusRanks() + `
local msg, sidkey, early, due = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local status, code = ARGV[3], ""
if redis.call("HGET", msg, "sid") == ARGV[1] then
  -- A callback naming the message recorded this SID first, with a status
  -- at least as far along as the answer's.
  redis.call("ZREM", due, ARGV[5])
  return redis.call("HGET", msg, "status")
end
local e = redis.call("HMGET", early, "status", "err_code")
if e[1] and (rank[e[1]] or 0) > (rank[status] or 0) then
  status = e[1]
  code = e[2] or ""
end
redis.call("HSET", msg, "sid", ARGV[1], "status", status, "err_code", code)
redis.call("SET", sidkey, ARGV[2], "PX", ARGV[4])
redis.call("DEL", early)
redis.call("ZREM", due, ARGV[5])
redis.call("PUBLISH", ARGV[6], ARGV[7])
return status
`)

func (st *Store) recordSent(ctx context.Context, m Message, r channels.Receipt, now time.Time) error {
	ev := Event{Type: EventMessageStatus, ConversationID: m.ConversationID, MessageID: m.ID, Status: string(r.Status), At: now}
	return sentScript.Run(ctx, st.rdb,
		[]string{st.keys.message(m.ID), st.keys.sid(r.SID), st.keys.earlyStatus(r.SID), st.keys.due()},
		r.SID, m.ID, string(r.Status), sidTTL.Milliseconds(), sendWake(m.ID), st.keys.events(), ev.encode(),
	).Err()
}

func (st *Store) recordFailed(ctx context.Context, m Message, code, reason string, now time.Time) error {
	ev := Event{Type: EventMessageStatus, ConversationID: m.ConversationID, MessageID: m.ID, Status: string(channels.StatusFailed), At: now}
	_, err := st.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, st.keys.message(m.ID), "status", string(channels.StatusFailed), "err_code", code, "err", reason)
		p.ZRem(ctx, st.keys.due(), sendWake(m.ID))
		p.Publish(ctx, st.keys.events(), ev.encode())
		return nil
	})
	return err
}

// statusScript applies a delivery callback. An unknown SID of a callback
// that names its message (KEYS[3], ARGV[5]) still waiting for one is that
// send's: the SID is recorded, and the message's send is done. Any other
// unknown SID: kept aside for the send that will record it. Known: applied
// only if it moves the status forward. Returns the outcome and the
// message's id and address.
var statusScript = redis.NewScript(`
local rank = ` + statusRanks() + `
local status, code = ARGV[1], ARGV[2]
local id = redis.call("GET", KEYS[1])
if not id and ARGV[5] ~= "" then
  local m = redis.call("HMGET", KEYS[3], "sid", "status")
  if m[2] and (not m[1] or m[1] == "") then
    redis.call("HSET", KEYS[3], "sid", ARGV[7])
    redis.call("SET", KEYS[1], ARGV[5], "PX", ARGV[6])
    redis.call("ZREM", KEYS[4], ARGV[8])
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
// failure keeps its error code; an opted-out failure (21610) marks the
// contact opted out.
func (s *Service) ApplyStatus(ctx context.Context, u channels.StatusUpdate) (StatusOutcome, error) {
	code := ""
	if u.ErrorCode != 0 {
		code = strconv.Itoa(u.ErrorCode)
	}
	k := s.store.keys
	res, err := statusScript.Run(ctx, s.store.rdb,
		[]string{k.sid(u.MessageSID), k.earlyStatus(u.MessageSID), k.message(u.MessageID), k.due()},
		string(u.Status), code, earlyTTL.Milliseconds(), k.message(""),
		u.MessageID, sidTTL.Milliseconds(), u.MessageSID, sendWake(u.MessageID)).StringSlice()
	if err != nil {
		return "", fmt.Errorf("apply status: %w", err)
	}
	outcome := StatusOutcome(res[0])
	if outcome == StatusApplied {
		ev := Event{Type: EventMessageStatus, ConversationID: res[3], MessageID: res[1], Status: string(u.Status), At: s.now().UTC()}
		if err := s.store.rdb.Publish(ctx, k.events(), ev.encode()).Err(); err != nil {
			return outcome, err
		}
	}
	if u.ErrorCode == channels.ErrorCodeOptedOut && res[2] != "" {
		return outcome, s.SetOptedOut(ctx, channels.Address(res[2]), true)
	}
	return outcome, nil
}
