package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/settings"
	"github.com/parleydesk/parley/desk/store"
)

// The engine's settings (hours, departments, tags, texts, timeouts, ...) live
// in Redis once Parley has started: the YAML file seeds them on the first
// start, and admins change them from the desk. Every process reloads them
// when their version moves, so a change takes effect without a restart.

// LoadSettings makes the stored settings current, first storing the
// configured ones if Redis has none yet. It returns the stored version.
func (s *Service) LoadSettings(ctx context.Context) (int64, error) {
	doc, err := settings.Encode(s.Rules())
	if err != nil {
		return 0, err
	}
	if err := s.store.SeedSettings(ctx, doc); err != nil {
		return 0, err
	}
	return s.reloadSettings(ctx, 0)
}

// reloadSettings loads the stored settings if their version is not known.
func (s *Service) reloadSettings(ctx context.Context, known int64) (int64, error) {
	doc, ver, err := s.store.Settings(ctx)
	if err != nil {
		return known, err
	}
	if doc == "" || ver == known {
		return known, nil
	}
	e, err := settings.Parse(doc)
	if err != nil {
		return known, err
	}
	s.rules.Store(e)
	return ver, nil
}

// WatchSettings reloads the settings whenever another process changed
// them, until ctx ends.
func (s *Service) WatchSettings(ctx context.Context, every time.Duration, known int64) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v, err := s.reloadSettings(ctx, known)
			if err != nil {
				s.log.Warn().Err(err).Msg("settings not reloaded")
				continue
			}
			known = v
		}
	}
}

// SettingsDocument returns the current settings as YAML.
func (s *Service) SettingsDocument() (string, error) { return settings.Encode(s.Rules()) }

// UpdateSettings replaces the settings with doc (YAML or JSON, the same
// shape as the configuration file), after checking them. Admins only; the
// change is audited and takes effect at once here and within seconds in
// every other process.
func (s *Service) UpdateSettings(ctx context.Context, a engine.Actor, doc string) error {
	if a.Role != "admin" {
		return fmt.Errorf("%w: admins only", engine.ErrNotAllowed)
	}
	e, err := settings.Parse(doc)
	if err != nil {
		return err
	}
	e.Agents = nil
	stored, err := settings.Encode(e)
	if err != nil {
		return err
	}
	before, err := settings.Encode(s.Rules())
	if err != nil {
		return err
	}
	err = s.retry(ctx, func() error {
		// The change and its audit entry are one write.
		return s.store.ReplaceSettings(ctx, stored, s.auditEntry(a, "settings.update", "settings", settings.Changed(before, stored)))
	})
	if err != nil {
		return err
	}
	s.rules.Store(e)
	return nil
}

// Audit appends an entry to the audit log.
func (s *Service) Audit(ctx context.Context, a engine.Actor, action, target, detail string) error {
	return s.store.AppendAudit(ctx, s.auditEntry(a, action, target, detail))
}

// audit adds an audit entry to t, so that it commits with the change it
// records.
func (s *Service) audit(t *store.Tx, a engine.Actor, action, target, detail string) error {
	return s.store.AddAudit(t, s.auditEntry(a, action, target, detail))
}

// auditEntry is the entry recording that a did action on target now.
func (s *Service) auditEntry(a engine.Actor, action, target, detail string) store.AuditEntry {
	return store.AuditEntry{At: s.now().UTC(), Actor: a.ID, Action: action, Target: target, Detail: detail}
}

// AuditLog returns audit entries, newest first.
func (s *Service) AuditLog(ctx context.Context, offset, limit int) ([]store.AuditEntry, error) {
	if offset < 0 || limit < 1 || limit > 500 {
		return nil, fmt.Errorf("%w: offset ≥ 0, limit 1 to 500", engine.ErrInvalid)
	}
	return s.store.AuditLog(ctx, offset, limit)
}
