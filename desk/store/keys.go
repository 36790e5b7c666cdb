package store

import (
	"github.com/parleydesk/parley/channels"
)

// KeyPrefix starts every key Parley writes (Asynq keeps its own "asynq:").
// Its braces are a Redis Cluster hash tag that puts all of Parley's keys in
// one slot: a guarded write touches a contact, its conversations, agents and
// the shared indexes in one script, and a script's keys must share a slot.
const KeyPrefix = "{parley}:"

// keys names every Redis key Parley uses, under one prefix.
type keys struct {
	prefix  string
	channel string // the pub/sub channel of live updates
}

func (k keys) contact(a channels.Address) string { return k.prefix + "contact:" + string(a) }
func (k keys) conversation(id string) string     { return k.prefix + "conv:" + id }
func (k keys) history(convID string) string      { return k.prefix + "conv:" + convID + ":msgs" }
func (k keys) message(id string) string          { return k.prefix + "msg:" + id }

// sid maps a provider message SID to Parley's message id: it is the inbound
// dedupe record and the outbound status-callback index.
func (k keys) sid(sid string) string { return k.prefix + "sid:" + sid }

// earlyStatus holds a status callback that arrived before the send that
// produced its SID was recorded.
func (k keys) earlyStatus(sid string) string { return k.prefix + "early:" + sid }

// due is the sorted set of pending wake-ups (score: due time in ms); every
// deadline and every outbox with messages to send has an entry (due.go), so
// a lost job is re-enqueued.
func (k keys) due() string { return k.prefix + "due" }

// Events is the pub/sub channel of live updates.
func (k keys) events() string { return k.channel }

func (k keys) botFailures(bot string) string { return k.prefix + "bot:" + bot + ":failures" }

func (k keys) botOpen(bot string) string { return k.prefix + "bot:" + bot + ":open" }

func (k keys) botNonce(bot, id string) string {
	return k.prefix + "bot:" + bot + ":nonce:" + id
}

func (k keys) media(id string) string { return k.prefix + "media:" + id }

func (k keys) quickReply(hash string) string { return k.prefix + "quickreply:" + hash }

func (k keys) credentials(id string) string { return k.prefix + "auth:" + id }

func (k keys) settings() string { return k.prefix + "settings" }

func (k keys) audit() string { return k.prefix + "audit" }

func (k keys) notifications(agent string) string { return k.prefix + "notif:" + agent }

func (k keys) unread(agent string) string { return k.prefix + "notif:" + agent + ":unread" }

func (k keys) viewers(conv string) string { return k.prefix + "viewers:" + conv }

func (k keys) desks(agent string) string { return k.prefix + "desks:" + agent }

func (k keys) customerNote(a channels.Address) string {
	return k.prefix + "contact:" + string(a) + ":note"
}

func (k keys) transcriptOffer(a channels.Address) string { return k.prefix + "transcript:" + string(a) }
