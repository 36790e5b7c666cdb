package desk

import (
	"context"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

// A request's view of the one conversation it acts on. The gateway reads
// the conversation to check that the actor may see it before any action;
// the operation then starts from that read instead of reading it again,
// and the answer shows the conversation as the operation last loaded or
// committed it instead of reading it a third time. Starting from an
// earlier read is safe: the contact's copy is read again with the rest of
// the world, and the commit is guarded by the version decided on, so a
// read that went stale is a conflict, and the retry reads afresh.
type viewKey struct{}

type view struct {
	id   string
	conv *engine.Conversation
}

// WithView returns ctx carrying c, the conversation the caller has just
// read, for the operation and the answer that follow.
func WithView(ctx context.Context, c *engine.Conversation) context.Context {
	return context.WithValue(ctx, viewKey{}, &view{id: c.ID, conv: c})
}

func viewOf(ctx context.Context, id string) *view {
	v, _ := ctx.Value(viewKey{}).(*view)
	if v == nil || v.id != id {
		return nil
	}
	return v
}

// Current returns a conversation as the request's view holds it (as read,
// or as its operation last loaded or committed it), or else as stored.
func (s *Service) Current(ctx context.Context, id string) (*engine.Conversation, error) {
	if v := viewOf(ctx, id); v != nil && v.conv != nil {
		return v.conv, nil
	}
	return s.store.Conversation(ctx, id)
}

// seen records in the request's view the conversation as a decision
// loaded it, or, once committed, as the commit stored it (decoded from the
// stored document, as a read would find it). A document that does not
// decode leaves the view empty, for a read.
func seen(ctx context.Context, w *engine.World, id string, committed bool) {
	v := viewOf(ctx, id)
	if v == nil {
		return
	}
	tr, ok := w.Convs[id]
	if !ok || tr.Before == nil {
		return
	}
	if !committed {
		v.conv = tr.Before
		return
	}
	c, unchanged := store.AsCommitted(tr)
	if unchanged {
		return // unchanged: as loaded
	}
	v.conv = c
}
