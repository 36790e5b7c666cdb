// Package worker carries out the desk's work as Asynq jobs: every outbound
// send, every timer, and the periodic reconciler that re-enqueues anything
// due that has no job.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
)

// Task types, as they appear in the Asynq dashboard.
const (
	TypeSend      = "message:send"
	TypeWake      = "conversation:wake"
	TypeBotEvent  = "bot:event"
	TypePresence  = "agent:presence"
	TypeReconcile = "maintenance:reconcile"
)

// Queues and their weights: sends go first, timers next, upkeep last.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// NewSendTask is the job that works a contact's outbox (desk.DeliverOutbox)
// at at. Its payload is the bare address; its TaskID is the contact and
// key, so dispatching the same run twice enqueues one job. Two jobs for one
// contact are harmless: the outbox's claim lets one send at a time, in
// order. A send's own retries are the outbox's (a job scheduled at the
// head's next attempt); the job's retries are for Redis being away.
func NewSendTask(contact channels.Address, key string, at time.Time) *asynq.Task {
	opts := []asynq.Option{asynq.TaskID("send:" + string(contact) + ":" + key), asynq.Queue(QueueCritical), asynq.MaxRetry(25)}
	if at.After(time.Now()) {
		opts = append(opts, asynq.ProcessAt(roundUp(at)))
	}
	return asynq.NewTask(TypeSend, []byte(contact), opts...)
}

func handleSend(svc *desk.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		if len(t.Payload()) == 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		return svc.DeliverOutbox(ctx, channels.Address(t.Payload()))
	}
}

// NewWakeTask is the job that applies a conversation's deadline at at. Its
// TaskID names the conversation and the deadline, so scheduling the same
// deadline twice is refused, while a moved deadline gets a job of its own
// (the old one then finds nothing due and does nothing).
//
// Asynq keeps a scheduled time in whole seconds (truncated) and runs the
// task once that second has begun, up to a second early; a wake-up that
// ran before its deadline would find nothing due, leaving the deadline to
// the reconciler seconds later. So the job runs at the deadline rounded up
// to a whole second: never before it.
func NewWakeTask(convID string, at time.Time) *asynq.Task {
	// The payload is the bare id: every open conversation has one of these
	// jobs waiting, so its bytes count in Redis's memory per conversation.
	payload := []byte(convID)
	id := fmt.Sprintf("wake:%s:%d", convID, at.UnixMilli())
	return asynq.NewTask(TypeWake, payload, asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.ProcessAt(roundUp(at)), asynq.MaxRetry(10))
}

// roundUp is at, or the next whole second after it.
func roundUp(at time.Time) time.Time {
	if t := at.Truncate(time.Second); t.Before(at) {
		return t.Add(time.Second)
	}
	return at
}

func handleWake(svc *desk.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		convID := string(t.Payload())
		if convID == "" {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		return svc.Wake(ctx, convID)
	}
}

type presencePayload struct {
	Agent string `json:"agent"`
}

// NewPresenceTask is the job that sets an agent offline at at if they have
// had no desk open since the grace began (desk.CheckPresence). Like a
// wake-up, it runs no earlier than at, and its TaskID makes scheduling the
// same check twice a no-op.
func NewPresenceTask(agent string, at time.Time) *asynq.Task {
	payload, _ := json.Marshal(presencePayload{Agent: agent}) // plain struct: cannot fail
	id := fmt.Sprintf("presence:%s:%d", agent, at.UnixMilli())
	return asynq.NewTask(TypePresence, payload, asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.ProcessAt(roundUp(at)), asynq.MaxRetry(10))
}

func handlePresence(svc *desk.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p presencePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Agent == "" {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		err := svc.CheckPresence(ctx, p.Agent)
		if errors.Is(err, engine.ErrNotFound) {
			return nil // the user was removed since
		}
		return err
	}
}

type botPayload struct {
	ConversationID string `json:"conversation_id"`
	// MessageID is the customer message, or the lifecycle event type.
	MessageID string `json:"message_id"`
}

// NewBotTask is the job that hands one event of a chat (a customer message,
// or the news that the chat left the bot) to its bot. A failing bot is
// retried twice, then the chat goes to people; every attempt shows in the
// dashboard. Its TaskID names the conversation too: lifecycle events of
// different chats share a type.
func NewBotTask(convID, event string) *asynq.Task {
	payload, _ := json.Marshal(botPayload{ConversationID: convID, MessageID: event}) // plain struct: cannot fail
	return asynq.NewTask(TypeBotEvent, payload, asynq.TaskID("bot:"+convID+":"+event), asynq.Queue(QueueCritical), asynq.MaxRetry(2))
}

func handleBot(svc *desk.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p botPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ConversationID == "" || p.MessageID == "" {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		err := svc.DeliverBotEvent(ctx, p.ConversationID, p.MessageID, retried, retried >= maxRetry)
		if errors.Is(err, desk.ErrBotFailed) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	}
}

// NewReconcileTask is the periodic sweep of due wake-ups.
func NewReconcileTask() *asynq.Task {
	return asynq.NewTask(TypeReconcile, nil, asynq.Queue(QueueLow), asynq.MaxRetry(0))
}

// reconcileGrace is how overdue a wake-up must be before the reconciler
// assumes its job was lost: the normal path enqueues within milliseconds.
const reconcileGrace = 3 * time.Second

func handleReconcile(svc *desk.Service, now func() time.Time, log zerolog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		svc.Drain(ctx)
		due, err := svc.Store().DueItems(ctx, now().Add(-reconcileGrace), 1000)
		if err != nil {
			log.Warn().Err(err).Msg("due entry skipped")
		}
		for _, item := range due {
			if err := svc.Redispatch(ctx, item, now()); err != nil {
				return err
			}
		}
		return nil
	}
}

// Dispatcher enqueues the desk's jobs; it satisfies desk.Dispatcher.
type Dispatcher struct {
	client *asynq.Client
}

// NewDispatcher returns a Dispatcher that enqueues through client.
func NewDispatcher(client *asynq.Client) *Dispatcher {
	return &Dispatcher{client: client}
}

// enqueue adds a job; one that already exists under its TaskID is success:
// that job will do the work.
func (d *Dispatcher) enqueue(ctx context.Context, t *asynq.Task) error {
	_, err := d.client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// DispatchBot enqueues a bot event.
func (d *Dispatcher) DispatchBot(ctx context.Context, convID, event string) error {
	return d.enqueue(ctx, NewBotTask(convID, event))
}

// DispatchWake schedules a conversation's wake-up.
func (d *Dispatcher) DispatchWake(ctx context.Context, convID string, at time.Time) error {
	return d.enqueue(ctx, NewWakeTask(convID, at))
}

// DispatchPresence schedules an agent's presence check.
func (d *Dispatcher) DispatchPresence(ctx context.Context, agent string, at time.Time) error {
	return d.enqueue(ctx, NewPresenceTask(agent, at))
}

// DispatchSend enqueues a run of a contact's outbox.
func (d *Dispatcher) DispatchSend(ctx context.Context, contact channels.Address, key string, at time.Time) error {
	return d.enqueue(ctx, NewSendTask(contact, key, at))
}
