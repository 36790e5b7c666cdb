package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/parleydesk/parley/desk"
)

// TypeMediaFetch copies a customer message's media from the provider.
const TypeMediaFetch = "media:fetch"

// mediaRetries is how often a failing fetch is tried again, with the send
// back-off (PARLEY_SEND_RETRY_BASE, doubling): with the default 1 s, for
// about two minutes.
const mediaRetries = 6

// NewMediaFetchTask is the job that fetches one inbound message's media.
// Its payload is the bare message id, its TaskID names the message, so the
// reconciler enqueuing it again while it runs or waits for a retry is a
// no-op.
func NewMediaFetchTask(messageID string) *asynq.Task {
	return asynq.NewTask(TypeMediaFetch, []byte(messageID), asynq.TaskID("media:"+messageID),
		asynq.Queue(QueueDefault), asynq.MaxRetry(mediaRetries))
}

func handleMediaFetch(svc *desk.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		id := string(t.Payload())
		if id == "" {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		err := svc.FetchMedia(ctx, id, retried >= maxRetry)
		if errors.Is(err, desk.ErrMediaGivenUp) {
			// Recorded on the message; archived in the dashboard, not retried.
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	}
}

// DispatchMedia enqueues the fetch of a message's media.
func (d *Dispatcher) DispatchMedia(ctx context.Context, messageID string) error {
	return d.enqueue(ctx, NewMediaFetchTask(messageID))
}
