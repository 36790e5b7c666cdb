package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/settings"

	"github.com/redis/go-redis/v9"
)

// The engine's settings (hours, departments, tags, texts, timeouts, ...) live
// in Redis once Parley has started: the YAML file seeds them on the first
// start, and admins change them from the desk. Every process reloads them
// when their version moves, so a change takes effect without a restart.

func (k keys) settings() string { return k.prefix + "settings" }
func (k keys) audit() string    { return k.prefix + "audit" }

// auditKept is how many audit entries are kept.
const auditKept = 10000

// LoadSettings makes the stored settings current, first storing the
// configured ones if Redis has none yet. It returns the stored version.
func (s *Service) LoadSettings(ctx context.Context) (int64, error) {
	k := s.store.keys
	doc, err := settings.Encode(s.Rules())
	if err != nil {
		return 0, err
	}
	// The document and its version are seeded together: a process starting
	// beside another never sees one without the other.
	t := newTx()
	t.do("HSETNX", k.settings(), "doc", doc)
	t.do("HSETNX", k.settings(), "ver", "1")
	if err := t.commit(ctx, s.store.rdb); err != nil {
		return 0, err
	}
	return s.reloadSettings(ctx, 0)
}

// reloadSettings loads the stored settings if their version is not known.
func (s *Service) reloadSettings(ctx context.Context, known int64) (int64, error) {
	vals, err := s.store.rdb.HMGet(ctx, s.store.keys.settings(), "doc", "ver").Result()
	if err != nil {
		return known, err
	}
	doc, _ := vals[0].(string)
	ver, _ := vals[1].(string)
	if doc == "" || version(ver) == known {
		return known, nil
	}
	e, err := settings.Parse(doc)
	if err != nil {
		return known, err
	}
	s.rules.Store(e)
	return version(ver), nil
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
	k := s.store.keys
	err = s.retry(ctx, func() error {
		ver, err := s.store.rdb.HGet(ctx, k.settings(), "ver").Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		t := newTx()
		t.expectVersion(k.settings(), ver)
		t.do("HSET", k.settings(), "doc", stored, "ver", itoa(ver+1))
		// The change and its audit entry are one write.
		if err := s.audit(t, a, "settings.update", "settings", settings.Changed(before, stored)); err != nil {
			return err
		}
		return t.commit(ctx, s.store.rdb)
	})
	if err != nil {
		return err
	}
	s.rules.Store(e)
	return nil
}

// AuditEntry records who changed what, when.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// Audit appends an entry to the audit log.
func (s *Service) Audit(ctx context.Context, a engine.Actor, action, target, detail string) error {
	t := newTx()
	if err := s.audit(t, a, action, target, detail); err != nil {
		return err
	}
	return t.commit(ctx, s.store.rdb)
}

// audit adds an audit entry to t, so that it commits with the change it
// records.
func (s *Service) audit(t *tx, a engine.Actor, action, target, detail string) error {
	raw, err := json.Marshal(AuditEntry{At: s.now().UTC(), Actor: a.ID, Action: action, Target: target, Detail: detail})
	if err != nil {
		return err
	}
	t.do("LPUSH", s.store.keys.audit(), string(raw))
	t.do("LTRIM", s.store.keys.audit(), "0", strconv.Itoa(auditKept-1))
	return nil
}

// AuditLog returns audit entries, newest first.
func (s *Service) AuditLog(ctx context.Context, offset, limit int) ([]AuditEntry, error) {
	if offset < 0 || limit < 1 || limit > 500 {
		return nil, fmt.Errorf("%w: offset ≥ 0, limit 1 to 500", engine.ErrInvalid)
	}
	raws, err := s.store.rdb.LRange(ctx, s.store.keys.audit(), int64(offset), int64(offset+limit-1)).Result()
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, len(raws))
	for _, raw := range raws {
		var e AuditEntry
		if json.Unmarshal([]byte(raw), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}
