package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/parleydesk/parley/channels"
)

// Dispatcher hands work to the job system. worker implements it with Asynq.
type Dispatcher interface {
	// DispatchSend enqueues the send of a queued message. Enqueuing the same
	// message twice must be harmless.
	DispatchSend(ctx context.Context, messageID string) error
}

// Service is the desk's entry point: what a webhook, an agent or a job asks
// of a conversation goes through it.
type Service struct {
	store    *Store
	dispatch Dispatcher
	provider channels.Provider
	now      func() time.Time
}

// NewService wires the desk. now is the clock every time rule reads.
func NewService(store *Store, dispatch Dispatcher, provider channels.Provider, now func() time.Time) *Service {
	return &Service{store: store, dispatch: dispatch, provider: provider, now: now}
}

// Store gives read access to the state.
func (s *Service) Store() *Store { return s.store }

// newID returns a sortable unique id (a ULID).
func newID() string { return ulid.Make().String() }

// OpenConversation returns the contact's open conversation.
func (s *Service) OpenConversation(ctx context.Context, a channels.Address) (*Conversation, error) {
	_, open, err := s.store.loadContact(ctx, a)
	if err != nil {
		return nil, err
	}
	if open == nil || open.State == StateClosed {
		return nil, fmt.Errorf("no open conversation: %w", ErrNotFound)
	}
	return open, nil
}
