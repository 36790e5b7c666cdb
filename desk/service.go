// Package desk runs Parley's conversations: it loads the state a decision
// needs through the store (desk/store), lets the engine (desk/engine)
// decide, and writes the outcome in one guarded commit. It talks to the job system and to
// providers only through the small interfaces it declares.
package desk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/store"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/sessions"
)

// Dispatcher hands work to the job system. worker implements it with Asynq.
// Enqueuing the same work twice must be harmless.
type Dispatcher interface {
	// DispatchSend enqueues a run of a contact's outbox (DeliverOutbox)
	// at at. key names the run: dispatching one key twice enqueues one job.
	DispatchSend(ctx context.Context, contact channels.Address, key string, at time.Time) error
	// DispatchWake schedules a conversation's wake-up for its deadline at.
	DispatchWake(ctx context.Context, convID string, at time.Time) error
	// DispatchBot enqueues the delivery of an event (a customer message's
	// id, or a lifecycle type) to the bot of its conversation.
	DispatchBot(ctx context.Context, convID, event string) error
	// DispatchPresence schedules an agent's presence check for at.
	DispatchPresence(ctx context.Context, agent string, at time.Time) error
}

// Service is the desk's entry point: what a webhook, an agent or a job asks
// of a conversation goes through it.
type Service struct {
	store    *store.Store
	dispatch Dispatcher
	provider channels.Provider
	sessions *sessions.Store
	// rules are swapped whole when an admin changes the settings; each
	// decision reads one snapshot.
	rules atomic.Pointer[config.Engine]
	now   func() time.Time
	log   zerolog.Logger
	media *media.Signer
	bots  *bots.Client
	sends SendPolicy
	// mediaSource fetches customers' media; deleteSourceMedia deletes each
	// item there once Parley holds it.
	mediaSource       MediaSource
	deleteSourceMedia bool
	// content is Twilio's Content API: template sync and quick replies.
	content ContentAPI
}

// SendPolicy is how the outbox retries and claims sends.
type SendPolicy struct {
	// Retries is how many times a temporary failure is retried.
	Retries int
	// RetryBase is the first retry's wait; each next one doubles (Backoff).
	RetryBase time.Duration
	// Lease is how long a claimed send is its job's alone: longer than the
	// provider's timeout, so a live send is never taken over, and short
	// enough that a send whose worker died goes out again soon.
	Lease time.Duration
}

// DefaultSendPolicy is the policy of a Service given none.
var DefaultSendPolicy = SendPolicy{Retries: 8, RetryBase: time.Second, Lease: 30 * time.Second}

// Options wires a Service.
type Options struct {
	Store      *store.Store
	Dispatcher Dispatcher
	Provider   channels.Provider
	Rules      *config.Engine
	// Now is the clock every time rule reads.
	Now func() time.Time
	Log zerolog.Logger
	// Media signs file and transcript links; without it attachments are
	// refused.
	Media *media.Signer
	// BotSecrets are the bots' secrets by bot id, the current one first
	// (they are not settings: they come from the environment).
	BotSecrets map[string][]string
	// Sends is the outbox's retry and claim policy; zero fields take
	// DefaultSendPolicy's.
	Sends SendPolicy
	// MediaSource fetches customers' media (inmedia.go); without it every
	// fetch fails and the desk says so.
	MediaSource MediaSource
	// DeleteSourceMedia deletes customers' media at the provider once
	// Parley holds a copy (PARLEY_DELETE_TWILIO_MEDIA).
	DeleteSourceMedia bool
	// Content is Twilio's Content API; nil in sandbox mode (no template
	// sync, bot buttons as numbered lists).
	Content ContentAPI
}

// NewService wires the desk.
func NewService(o Options) *Service {
	signer := o.Media
	if signer == nil {
		signer = media.NewSigner(nil, "")
	}
	s := &Service{store: o.Store, dispatch: o.Dispatcher, provider: o.Provider, now: o.Now, log: o.Log, media: signer,
		bots: bots.NewClient(o.BotSecrets), mediaSource: o.MediaSource, deleteSourceMedia: o.DeleteSourceMedia, content: o.Content,
		sessions: sessions.New(o.Store.Client(), o.Store.Prefix(), o.Store.Events(), o.Now)}
	s.sends = o.Sends
	if s.sends.Retries <= 0 {
		s.sends.Retries = DefaultSendPolicy.Retries
	}
	if s.sends.RetryBase <= 0 {
		s.sends.RetryBase = DefaultSendPolicy.RetryBase
	}
	if s.sends.Lease <= 0 {
		s.sends.Lease = DefaultSendPolicy.Lease
	}
	s.rules.Store(o.Rules)
	return s
}

// Sessions are the desk's sign-ins.
func (s *Service) Sessions() *sessions.Store { return s.sessions }

// Store gives read access to the state.
func (s *Service) Store() *store.Store { return s.store }

// Rules are the engine's configuration.
func (s *Service) Rules() *config.Engine { return s.rules.Load() }

// maxAttempts bounds the retries of one optimistic transaction.
const maxAttempts = 50

// retry runs an optimistic transaction until it commits without conflict.
// After a few conflicts it waits a little, at random, so that writers
// racing for one key spread out instead of colliding again.
func (s *Service) retry(ctx context.Context, attempt func() error) error {
	for i := range maxAttempts {
		err := attempt()
		if !errors.Is(err, engine.ErrConflict) {
			return err
		}
		if i >= 2 {
			pause := time.Duration(rand.Int64N(int64(min(i, 20)) * int64(time.Millisecond)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return engine.ErrConflict
}

// commit loads nothing and decides nothing itself: it commits a world that
// a decision changed, then carries out its effects.
func (s *Service) commit(ctx context.Context, t *store.Tx, w *engine.World) error {
	if len(w.Unloaded) > 0 {
		return fmt.Errorf("decision changed agents it did not load: %s", strings.Join(w.Unloaded, ", "))
	}
	pushes, err := s.store.Write(t, w)
	if err != nil {
		return err
	}
	if err := s.store.Commit(ctx, t); err != nil {
		return err
	}
	s.after(ctx, w, t, pushes)
	return nil
}

// after carries out a committed world's effects: enqueue its sends, schedule
// its wake-ups, and route queued chats to agents who got room. A failure here
// loses nothing: each piece of work is in the due set, and the reconciler
// enqueues it.
func (s *Service) after(ctx context.Context, w *engine.World, t *store.Tx, pushes []store.Push) {
	// The outbox sends a contact's messages in order, one job at a time:
	// one job per outbox that was empty is enough, named for its first new
	// message. An outbox that was not empty has its run already.
	for _, p := range pushes {
		if p.Busy(t) {
			continue
		}
		if err := s.dispatch.DispatchSend(ctx, p.To, p.First, w.Now); err != nil {
			s.log.Warn().Err(err).Str("message", p.First).Msg("send not enqueued; the reconciler will")
		}
	}
	for _, wk := range w.Wakes {
		if err := s.dispatch.DispatchWake(ctx, wk.Conv, wk.At); err != nil {
			s.log.Warn().Err(err).Str("conversation", wk.Conv).Msg("wake-up not scheduled; the reconciler will")
		}
	}
	for _, e := range w.BotDeliveries {
		if err := s.dispatch.DispatchBot(ctx, e.Conv, e.Message); err != nil {
			s.log.Warn().Err(err).Str("conversation", e.Conv).Msg("bot event not enqueued; handing over")
		}
	}
	for _, m := range w.Messages {
		if m.Direction == engine.DirIn && len(m.Media) > 0 {
			if err := s.dispatchMedia(ctx, m.ID); err != nil {
				s.log.Warn().Err(err).Str("message", m.ID).Msg("media fetch not enqueued; the reconciler will")
			}
		}
	}
	for dept := range w.Freed {
		s.drain(ctx, dept)
	}
}

// OpenConversation returns the contact's open chat, or else its open ticket.
func (s *Service) OpenConversation(ctx context.Context, a channels.Address) (*engine.Conversation, error) {
	st, err := s.store.LoadContact(ctx, a)
	if err != nil {
		return nil, err
	}
	if st.Chat != nil {
		return st.Chat, nil
	}
	if st.Ticket != nil {
		return st.Ticket, nil
	}
	return nil, fmt.Errorf("no open conversation: %w", engine.ErrNotFound)
}

// contactWorld loads a contact with its open chat and ticket into a new world.
func (s *Service) contactWorld(ctx context.Context, a channels.Address) (*engine.World, error) {
	st, err := s.store.LoadContact(ctx, a)
	if err != nil {
		return nil, err
	}
	w := engine.NewWorld(s.now().UTC(), s.Rules())
	st.AddTo(w)
	return w, nil
}

// inboundWorld is the world an inbound message from a is decided on: the
// contact with the conversations it points at and, when it has no open
// chat, dept's agents and queue length. A contact this process wrote last
// comes from the store's memory, sparing the load's round trip; the commit
// then checks that it still is as remembered (store/recent.go). Such a
// world holds no department: the decision's plan loads it if it routes.
func (s *Service) inboundWorld(ctx context.Context, rules *config.Engine, a channels.Address, dept string) (*engine.World, error) {
	st, remembered := s.store.Recall(a)
	if !remembered {
		var err error
		if st, err = s.store.LoadContactDept(ctx, a, dept); err != nil {
			return nil, err
		}
	}
	w := engine.NewWorld(s.now().UTC(), rules)
	st.AddTo(w)
	return w, nil
}
