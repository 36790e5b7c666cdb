package desk

import (
	"context"
	"strconv"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"
)

// An agent whose desk is gone (tab closed, laptop asleep, gateway restarted)
// must stop getting chats. Each open desk holds a lease that its live-update
// stream renews; when the last lease ends, by a clean close or by running
// out, a presence check PresenceGrace later sets the agent offline unless a
// desk came back. The check is a due entry like any timer, so a gateway that
// dies takes nothing with it: the reconciler finds the entry when it is due.

// PresenceGrace is how long an agent may have no desk open (a reload, a lost
// connection) before they stop getting chats.
const PresenceGrace = 60 * time.Second

// DeskLease is how long an open desk counts without a renewal; a desk's
// stream renews it at least twice as often.
const DeskLease = 45 * time.Second

func (k keys) desks(agent string) string { return k.prefix + "desks:" + agent }

func presenceWake(agent string) string { return dueMember(DuePresence, agent) }

// DeskOpened records one of an agent's desks (a live-update stream, by its
// id) as open, and renews its lease; call it again to renew.
func (s *Service) DeskOpened(ctx context.Context, agent, desk string) error {
	k, now := s.store.keys, s.now()
	expires := now.Add(DeskLease)
	t := newTx()
	t.do("ZADD", k.desks(agent), ms(expires), desk)
	t.do("PEXPIRE", k.desks(agent), strconv.FormatInt((DeskLease+PresenceGrace).Milliseconds(), 10))
	// Should this desk vanish without a word, the check is due when its
	// lease has run out and the grace with it.
	t.do("ZADD", k.due(), "GT", ms(expires.Add(PresenceGrace)), presenceWake(agent))
	return t.commit(ctx, s.store.rdb)
}

// DeskClosed records an agent's desk as closed; with none left open, the
// presence check is scheduled PresenceGrace from now.
func (s *Service) DeskClosed(ctx context.Context, agent, desk string) error {
	k, now := s.store.keys, s.now()
	at := now.Add(PresenceGrace)
	open, err := closeDeskScript.Run(ctx, s.store.rdb, []string{k.desks(agent), k.due()},
		desk, now.UnixMilli(), at.UnixMilli(), presenceWake(agent)).Int()
	if err != nil || open > 0 {
		return err
	}
	return s.dispatch.DispatchPresence(ctx, agent, at)
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

// CheckPresence is the body of the presence check job: an agent with no desk
// open since the grace ended is set offline. A check that comes early (a desk
// reopened and closed again since it was scheduled) leaves it to the later one.
func (s *Service) CheckPresence(ctx context.Context, agent string) error {
	k, now := s.store.keys, s.now()
	lapsed, err := checkPresenceScript.Run(ctx, s.store.rdb, []string{k.desks(agent), k.due()},
		now.UnixMilli(), presenceWake(agent)).Int()
	if err != nil || lapsed == 0 {
		return err
	}
	a, err := s.store.Agent(ctx, agent)
	if err != nil || a.Presence == engine.Offline {
		return err
	}
	s.log.Info().Str("agent", agent).Msg("no desk open: agent set offline")
	return s.SetPresence(ctx, agent, engine.Offline, false)
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
