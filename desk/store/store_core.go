package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/redis/go-redis/v9"
)

// The store's side of the conversations' orchestration: what Service's
// decisions, lists, reports, wake-ups and status callbacks read and write,
// so that the Service itself never names a key or a Redis command.

// NewCommit starts a guarded write that Store methods fill (a claim, an
// audit entry) before Service.commit adds a world's changes to it, or
// Store.Commit runs it on its own: the Service never adds a command.
func (st *Store) NewCommit() *Tx { return newTx() }

// Commit runs a tx that Store methods, and Service.commit with a world's
// changes, have filled.
func (st *Store) Commit(ctx context.Context, t *Tx) error {
	err := t.commit(ctx, st.rdb)
	st.recent.settle(t, err == nil)
	return err
}

// ClaimInboundSID makes t take an inbound message's provider SID for the
// message: if the SID is already recorded, the commit fails with
// *ExistsError naming the message that took it, which is how a retried
// webhook is told apart. The claim lasts ttl.
func (st *Store) ClaimInboundSID(t *Tx, sid, messageID string, ttl time.Duration) {
	t.claim(st.keys.sid(sid), messageID, ttl.Milliseconds())
}

// PutAgent writes a seeded agent, guarded by the version it was read at (0
// when it did not exist), and moves it out of the department sets in before
// it no longer belongs to and into its own.
func (st *Store) PutAgent(ctx context.Context, a *engine.Agent, loaded int64, before []string) error {
	k := st.keys
	t := newTx()
	t.expectVersion(k.agent(a.ID), loaded)
	t.do("HSET", k.agent(a.ID), "doc", encodeAgent(a), "ver", itoa(loaded+1))
	t.do("SADD", k.allAgents(), a.ID)
	for _, d := range before {
		if !slices.Contains(a.Departments, d) {
			t.do("SREM", k.deptAgents(d), a.ID)
		}
	}
	for _, d := range a.Departments {
		t.do("SADD", k.deptAgents(d), a.ID)
	}
	return t.commit(ctx, st.rdb)
}

// Purge deletes a conversation for good, when its TimerPurge is due: its
// record, its messages, its entries in every index and its wake-up. It
// reads the message ids first, and the delete is guarded by the version c
// was read at, so a conversation that changed meanwhile is left alone
// (ErrConflict).
func (st *Store) Purge(ctx context.Context, c *engine.Conversation) error {
	k := st.keys
	ids, err := st.rdb.LRange(ctx, k.history(c.ID), 0, -1).Result()
	if err != nil {
		return err
	}
	t := newTx()
	t.expectRecord(k.conversation(c.ID), c.Version)
	for _, id := range ids {
		t.do("DEL", k.message(id))
	}
	t.do("DEL", k.history(c.ID))
	t.do("DEL", k.conversation(c.ID))
	for key := range k.indexes(c) {
		t.do("ZREM", key, c.ID)
	}
	t.do("ZREM", k.due(), convWake(c.ID))
	t.stale = append(t.stale, c.Contact)
	return st.Commit(ctx, t)
}

// NewestInIndex lists the ids of at most n conversations of a desk list
// (an index name, as keys.index takes it), highest score first.
func (st *Store) NewestInIndex(ctx context.Context, index string, n int64) ([]string, error) {
	return st.rdb.ZRevRange(ctx, st.keys.index(index), 0, n-1).Result()
}

// IndexSize counts the conversations of a desk list (an index name, as
// keys.index takes it).
func (st *Store) IndexSize(ctx context.Context, index string) (int64, error) {
	return st.rdb.ZCard(ctx, st.keys.index(index)).Result()
}

// CreatedBetween lists the ids of the conversations created from from up to
// (not including) to, oldest first.
func (st *Store) CreatedBetween(ctx context.Context, from, to time.Time) ([]string, error) {
	return st.rdb.ZRangeByScore(ctx, st.keys.index("created"), &redis.ZRangeBy{
		Min: strconv.FormatInt(from.UnixMilli(), 10), Max: "(" + strconv.FormatInt(to.UnixMilli(), 10),
	}).Result()
}

// OldestQueued returns the id of the chat that has waited longest in a
// department's queue, "" when none waits.
func (st *Store) OldestQueued(ctx context.Context, dept string) (string, error) {
	ids, err := st.rdb.ZRange(ctx, st.keys.queue(dept), 0, 0).Result()
	if err != nil || len(ids) == 0 {
		return "", err
	}
	return ids[0], nil
}

// DropDue removes one entry of the due set. It goes through a tx like every
// other write, though it has nothing to guard.
func (st *Store) DropDue(ctx context.Context, member string) error {
	t := newTx()
	t.do("ZREM", st.keys.due(), member)
	return t.commit(ctx, st.rdb)
}

// ApplyStatus runs statusScript for a delivery callback, announcing ev (its
// conversation and message ids are the script's to add) when the status is
// applied. It returns what the script did and the address of the message's
// contact ("" when no stored message matched).
func (st *Store) ApplyStatus(ctx context.Context, u channels.StatusUpdate, ev engine.Event) (StatusOutcome, channels.Address, error) {
	code := ""
	if u.ErrorCode != 0 {
		code = strconv.Itoa(u.ErrorCode)
	}
	k := st.keys
	res, err := statusScript.Run(ctx, st.rdb,
		[]string{k.sid(u.MessageSID), k.earlyStatus(u.MessageSID), k.message(u.MessageID), k.due()},
		string(u.Status), code, earlyTTL.Milliseconds(), k.message(""),
		u.MessageID, SIDTTL.Milliseconds(), u.MessageSID, k.events(), encodeEvent(ev),
		ev.At.UnixMilli(), DueMember(DueOutbox, "")).StringSlice()
	if err != nil {
		return "", "", fmt.Errorf("apply status: %w", err)
	}
	return StatusOutcome(res[0]), channels.Address(res[2]), nil
}

// SIDTTL is how long an outbound message's provider SID is remembered:
// long enough for late "read" receipts.
const SIDTTL = 30 * 24 * time.Hour

// OldestUnassigned lists the ids of the n oldest unassigned tickets of the
// departments, oldest first (by id on a tie).
func (s *Store) OldestUnassigned(ctx context.Context, depts []string, n int) ([]string, error) {
	type cand struct {
		id    string
		score float64
	}
	var cands []cand
	for _, d := range depts {
		zs, err := s.rdb.ZRangeWithScores(ctx, s.keys.index("tickets:unassigned:"+d), 0, int64(n-1)).Result()
		if err != nil {
			return nil, err
		}
		for _, z := range zs {
			cands = append(cands, cand{z.Member.(string), z.Score})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score < cands[j].score
		}
		return cands[i].id < cands[j].id
	})
	ids := make([]string, 0, min(n, len(cands)))
	for i := 0; i < len(cands) && i < n; i++ {
		ids = append(ids, cands[i].id)
	}
	return ids, nil
}
