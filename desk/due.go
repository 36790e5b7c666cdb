package desk

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// The due set (keys.due) holds one entry per piece of work that some job
// must do at a time: its member names the work, its score is when. The
// normal path enqueues the job right after the commit that wrote the entry;
// the reconciler enqueues from the entry what a crash left without a job.
// Writing and reading the members happens here only, so a kind cannot be
// written by one side and missed by the other.

// DueKind is what a due entry wakes.
type DueKind string

const (
	// DueConversation is a conversation's earliest deadline; ID is the
	// conversation.
	DueConversation DueKind = "conv"
	// DueOutbox is a contact's outbox with messages to send; ID is the
	// contact's address.
	DueOutbox DueKind = "outbox"
	// DueBot is a customer message for the bot holding its chat; ID is
	// "<conversation>:<message>".
	DueBot DueKind = "bot"
	// DuePresence is an agent's presence check; ID is the agent.
	DuePresence DueKind = "presence"
)

// DueItem is one entry of the due set.
type DueItem struct {
	Kind DueKind
	ID   string
	At   time.Time
}

func dueMember(kind DueKind, id string) string { return string(kind) + ":" + id }

func outboxWake(a channels.Address) string { return dueMember(DueOutbox, string(a)) }

// parseDue reads a due-set member.
func parseDue(member string, score float64) (DueItem, error) {
	kind, id, ok := strings.Cut(member, ":")
	item := DueItem{Kind: DueKind(kind), ID: id, At: time.UnixMilli(int64(score)).UTC()}
	switch item.Kind {
	case DueConversation, DueOutbox, DueBot, DuePresence, DueMedia:
	default:
		ok = false
	}
	if !ok || id == "" {
		return item, fmt.Errorf("due entry %q: unknown kind", member)
	}
	return item, nil
}

// DueItems returns the entries due at or before until, oldest first. An
// entry of a kind this build does not know is returned as an error beside
// the others, so a sweep handles what it can.
func (s *Store) DueItems(ctx context.Context, until time.Time, limit int64) ([]DueItem, error) {
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.keys.due(), &redis.ZRangeBy{Min: "-inf", Max: ms(until), Count: limit}).Result()
	if err != nil {
		return nil, err
	}
	items := make([]DueItem, 0, len(zs))
	var bad error
	for _, z := range zs {
		member, _ := z.Member.(string)
		item, err := parseDue(member, z.Score)
		if err != nil {
			bad = err
			continue
		}
		items = append(items, item)
	}
	return items, bad
}

// Redispatch enqueues the job of a due entry whose own job may have been
// lost. Enqueuing work that still has its job is harmless: every job
// re-reads the state and does only what is still due.
func (s *Service) Redispatch(ctx context.Context, item DueItem, now time.Time) error {
	switch item.Kind {
	case DueConversation:
		// Due already: run it now rather than at its (past) time.
		return s.dispatch.DispatchWake(ctx, item.ID, now)
	case DueOutbox:
		// The key is the entry's time: one sweep after another enqueues
		// one job, while an entry the outbox moved gets a job of its own.
		return s.dispatch.DispatchSend(ctx, channels.Address(item.ID), "due"+strconv.FormatInt(item.At.UnixMilli(), 10), now)
	case DueBot:
		conv, msg, _ := strings.Cut(item.ID, ":")
		return s.dispatch.DispatchBot(ctx, conv, msg)
	case DuePresence:
		return s.dispatch.DispatchPresence(ctx, item.ID, now)
	case DueMedia:
		return s.dispatchMedia(ctx, item.ID)
	}
	return fmt.Errorf("due entry of unknown kind %q", item.Kind)
}
