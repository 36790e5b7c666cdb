package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/parleydesk/parley/desk/engine"
)

const templatesUsage = `usage: parley templates sync

sync  reads every template of the Twilio account from the Content API, with
      its WhatsApp approval, into the settings (synced templates Twilio no
      longer has are removed; hand-entered ones stay). Needs PARLEY_REDIS_URL
      and a Twilio account.
`

// templatesCommand runs `parley templates sync`, audited as the operator.
func templatesCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "sync" {
		return errors.New(templatesUsage)
	}
	c, err := openCore(ctx, getenv, stderr, roleGateway)
	if err != nil {
		return err
	}
	defer c.close()
	res, err := c.svc.SyncTemplates(ctx, engine.Actor{ID: "operator", Role: "admin"})
	if err != nil {
		return fmt.Errorf("templates sync: %w", err)
	}
	fmt.Fprintf(stdout, "Templates synced: %s.\n", res)
	for _, t := range c.svc.Rules().Templates {
		status := "approved (entered by hand)"
		if t.Source != "" {
			status = t.Status
		}
		fmt.Fprintf(stdout, "  %-34s %-24s %-10s %s\n", t.ContentSID, t.Name, t.Language, status)
	}
	return nil
}
