// Package worker carries out the desk's work as Asynq jobs: every outbound
// send, every timer, and the periodic reconciler that re-enqueues anything
// due that has no job.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

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

type sendPayload struct {
	MessageIDs []string `json:"message_ids"`
}

// NewSendTask is the job that sends queued messages, in order. Its TaskID is
// the first message's id, so enqueuing it again while it waits or retries is
// refused by Asynq instead of sending twice.
func NewSendTask(maxRetry int, messageIDs ...string) *asynq.Task {
	payload, _ := json.Marshal(sendPayload{MessageIDs: messageIDs}) // plain struct: cannot fail
	return asynq.NewTask(TypeSend, payload, asynq.TaskID(messageIDs[0]), asynq.Queue(QueueCritical), asynq.MaxRetry(maxRetry))
}

// handleSend delivers each message in turn. A temporary failure stops the
// batch so that the retry keeps the order; messages already handed over
// are skipped on the retry. A permanent failure is recorded on its message
// and the batch goes on.
func handleSend(svc *desk.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p sendPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || len(p.MessageIDs) == 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		var failed error
		for _, id := range p.MessageIDs {
			err := svc.Deliver(ctx, id, retried >= maxRetry)
			if errors.Is(err, desk.ErrSendFailed) {
				failed = err
				continue
			}
			if err != nil {
				return err
			}
		}
		if failed != nil {
			return fmt.Errorf("%w: %w", failed, asynq.SkipRetry)
		}
		return nil
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
		if errors.Is(err, desk.ErrNotFound) {
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

func handleReconcile(svc *desk.Service, d *Dispatcher, now func() time.Time, log zerolog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		svc.Drain(ctx)
		due, err := svc.Store().Due(ctx, now().Add(-reconcileGrace), 1000)
		if err != nil {
			return err
		}
		for _, member := range due {
			kind, id, _ := strings.Cut(member, ":")
			switch kind {
			case "send":
				if err := d.DispatchSend(ctx, id); err != nil {
					return err
				}
			case "bot":
				conv, msg, _ := strings.Cut(id, ":")
				if err := d.DispatchBot(ctx, conv, msg); err != nil {
					return err
				}
			case "conv":
				// Due already: run it now rather than at its (past) time.
				if err := d.DispatchWake(ctx, id, now()); err != nil {
					return err
				}
			case "presence":
				if err := d.DispatchPresence(ctx, id, now()); err != nil {
					return err
				}
			default:
				log.Warn().Str("wake", member).Msg("unknown wake-up kind")
			}
		}
		return nil
	}
}

// Dispatcher enqueues the desk's jobs; it satisfies desk.Dispatcher.
type Dispatcher struct {
	client    *asynq.Client
	sendRetry int
}

// NewDispatcher returns a Dispatcher whose send jobs retry sendRetry times.
func NewDispatcher(client *asynq.Client, sendRetry int) *Dispatcher {
	return &Dispatcher{client: client, sendRetry: sendRetry}
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

// DispatchSend enqueues the send of messages, in order.
func (d *Dispatcher) DispatchSend(ctx context.Context, messageIDs ...string) error {
	if len(messageIDs) == 0 {
		return nil
	}
	return d.enqueue(ctx, NewSendTask(d.sendRetry, messageIDs...))
}
