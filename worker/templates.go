package worker

import (
	"context"
	"fmt"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/desk"
)

// TypeTemplatesSync reads the templates from Twilio's Content API again, so
// that approvals that changed show up (PARLEY_TEMPLATES_SYNC).
const TypeTemplatesSync = "templates:sync"

// syncActor is who the audit log names for a periodic sync.
var syncActor = engine.Actor{ID: "system", Role: "admin"}

// NewTemplatesSyncTask is the periodic template sync. A failed sync is not
// retried: the next period's runs soon enough, and Twilio being down is
// logged by the job line.
func NewTemplatesSyncTask() *asynq.Task {
	return asynq.NewTask(TypeTemplatesSync, nil, asynq.Queue(QueueLow), asynq.MaxRetry(0))
}

func handleTemplatesSync(svc *desk.Service, log zerolog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		res, err := svc.SyncTemplates(ctx, syncActor)
		if err != nil {
			return fmt.Errorf("templates sync: %w", err)
		}
		log.Info().Str("result", res.String()).Msg("templates synced from Twilio")
		return nil
	}
}
