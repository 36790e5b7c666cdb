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
	TypeReconcile = "maintenance:reconcile"
)

// Queues and their weights: sends go first, timers next, upkeep last.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

type sendPayload struct {
	MessageID string `json:"message_id"`
}

// NewSendTask is the job that sends one queued message. Its TaskID is the
// message id, so enqueuing it again while it waits or retries is refused by
// Asynq instead of sending twice.
func NewSendTask(messageID string, maxRetry int) *asynq.Task {
	payload, _ := json.Marshal(sendPayload{MessageID: messageID}) // plain struct: cannot fail
	return asynq.NewTask(TypeSend, payload, asynq.TaskID(messageID), asynq.Queue(QueueCritical), asynq.MaxRetry(maxRetry))
}

func handleSend(svc *desk.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p sendPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.MessageID == "" {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		err := svc.Deliver(ctx, p.MessageID, retried >= maxRetry)
		if errors.Is(err, desk.ErrSendFailed) {
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

func handleReconcile(store *desk.Store, d *Dispatcher, now func() time.Time, log zerolog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		due, err := store.Due(ctx, now().Add(-reconcileGrace), 1000)
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

// DispatchSend enqueues a send. A job that already exists for the message is
// success: that job will do the send.
func (d *Dispatcher) DispatchSend(ctx context.Context, messageID string) error {
	_, err := d.client.EnqueueContext(ctx, NewSendTask(messageID, d.sendRetry))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}
