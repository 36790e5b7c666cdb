package desk

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/store"
)

// Redispatch enqueues the job of a due entry whose own job may have been
// lost. Enqueuing work that still has its job is harmless: every job
// re-reads the state and does only what is still due.
func (s *Service) Redispatch(ctx context.Context, item store.DueItem, now time.Time) error {
	switch item.Kind {
	case store.DueConversation:
		// Due already: run it now rather than at its (past) time.
		return s.dispatch.DispatchWake(ctx, item.ID, now)
	case store.DueOutbox:
		// The key is the entry's time: one sweep after another enqueues
		// one job, while an entry the outbox moved gets a job of its own.
		return s.dispatch.DispatchSend(ctx, channels.Address(item.ID), "due"+strconv.FormatInt(item.At.UnixMilli(), 10), now)
	case store.DueBot:
		conv, msg, _ := strings.Cut(item.ID, ":")
		return s.dispatch.DispatchBot(ctx, conv, msg)
	case store.DuePresence:
		return s.dispatch.DispatchPresence(ctx, item.ID, now)
	case store.DueMedia:
		return s.dispatchMedia(ctx, item.ID)
	}
	return fmt.Errorf("due entry of unknown kind %q", item.Kind)
}
