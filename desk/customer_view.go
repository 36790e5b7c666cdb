package desk

import (
	"cmp"
	"context"
	"slices"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// CustomerView is what a contact's own phone holds: the messages in and out
// of every conversation the contact has had, oldest first, the last limit
// of them (all when limit is 0). Internal notes and system lines are left
// out, since the customer never sees them. The development phone shows it,
// so a reload or a second browser finds the same conversation Parley keeps.
func (s *Service) CustomerView(ctx context.Context, a channels.Address, limit int) ([]engine.Message, error) {
	convs, err := s.store.ContactConversationIDs(ctx, a)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []engine.Message
	for _, id := range convs {
		// History includes the chats merged into a conversation, which are
		// in the contact's index too: each message counts once.
		hist, err := s.store.History(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, m := range hist {
			if seen[m.ID] || (m.Direction != engine.DirIn && m.Direction != engine.DirOut) {
				continue
			}
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	// Message ids are ULIDs: sorting them orders the messages in time.
	slices.SortStableFunc(out, func(x, y engine.Message) int { return cmp.Compare(x.ID, y.ID) })
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}
