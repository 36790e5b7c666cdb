package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/redis/go-redis/v9"
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

// DueMember is the due-set member of a kind of work on id.
func DueMember(kind DueKind, id string) string { return string(kind) + ":" + id }

// OutboxWake is the due-set member of a contact's outbox.
func OutboxWake(a channels.Address) string { return DueMember(DueOutbox, string(a)) }

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

// BotWake is the due-set member of a bot event (a message id or a
// lifecycle type), so a lost job is re-enqueued.
func BotWake(conv, event string) string { return "bot:" + conv + ":" + event }

// PresenceWake is the due-set member of an agent's presence check.
func PresenceWake(agent string) string { return DueMember(DuePresence, agent) }

// DueMedia is an inbound message whose media is still to be fetched; ID is
// the message.
const DueMedia DueKind = "media"

// MediaWake is the due-set member of an inbound message's media fetch.
func MediaWake(messageID string) string { return DueMember(DueMedia, messageID) }
