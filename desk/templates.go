package desk

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/settings"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// Templates synced from Twilio's Content API sit in the settings beside the
// hand-entered ones (config.Template.Source tells them apart), so every
// process sees a sync through the settings it already reloads, and every
// decision reads templates and the rest of the rules from one snapshot.

// ContentAPI is what the desk needs of Twilio's Content API. Sandbox mode
// has none.
type ContentAPI interface {
	ContentTemplates(ctx context.Context) ([]channels.ContentTemplate, error)
	CreateQuickReply(ctx context.Context, name, body string, buttons []string, fallback string) (string, error)
}

var (
	// ErrNoContentAPI: a sync asked of a Parley with no Twilio account.
	ErrNoContentAPI = errors.New("no Twilio account is configured (sandbox mode), so there are no templates to sync")
	// ErrContentAPI: Twilio's Content API refused or did not answer.
	ErrContentAPI = errors.New("Twilio's Content API failed")
)

// quickReplyPrefix names the content resources Parley creates for bot
// buttons; a sync leaves them out, as they are no templates of the business.
const quickReplyPrefix = "parley_qr_"

// TemplateSync is what a sync found and changed.
type TemplateSync struct {
	Total    int `json:"total"`    // templates listed by Twilio
	Approved int `json:"approved"` // of them, approved by WhatsApp
	Added    int `json:"added"`
	Updated  int `json:"updated"`
	Removed  int `json:"removed"` // synced before, gone from Twilio now
	// Kept is the number of hand-entered templates left as they were.
	Kept int `json:"kept"`
}

func (r TemplateSync) String() string {
	return fmt.Sprintf("%d from Twilio (%d approved): %d added, %d updated, %d removed; %d entered by hand kept",
		r.Total, r.Approved, r.Added, r.Updated, r.Removed, r.Kept)
}

// SyncTemplates reads every template of the account from the Content API and
// replaces the synced templates in the settings with them, in one audited
// write: new ones are added, changed ones (an approval that moved) updated,
// and those Twilio no longer has removed. A hand-entered template stays,
// unless Twilio has one with its Content SID: then the synced one, with its
// real approval, takes its place. Admins only (the command line and the
// periodic job act as one).
func (s *Service) SyncTemplates(ctx context.Context, a engine.Actor) (TemplateSync, error) {
	if a.Role != "admin" {
		return TemplateSync{}, fmt.Errorf("%w: admins only", engine.ErrNotAllowed)
	}
	if s.content == nil {
		return TemplateSync{}, ErrNoContentAPI
	}
	listed, err := s.content.ContentTemplates(ctx)
	if err != nil {
		return TemplateSync{}, fmt.Errorf("%w: %v", ErrContentAPI, err)
	}
	synced := templatesFromContent(listed)
	var res TemplateSync
	var next *config.Engine
	err = s.retry(ctx, func() error {
		doc, ver, err := s.store.Settings(ctx)
		if err != nil {
			return err
		}
		current := s.Rules()
		if doc != "" {
			if current, err = settings.Parse(doc); err != nil {
				return err
			}
		}
		e := *current
		e.Agents = nil
		e.Templates, res = mergeTemplates(current.Templates, synced)
		if err := e.Validate(); err != nil {
			return fmt.Errorf("%w: synced templates: %v", engine.ErrInvalid, err)
		}
		stored, err := settings.Encode(&e)
		if err != nil {
			return err
		}
		t := s.store.NewCommit()
		s.store.ReplaceSettingsIn(t, ver, stored)
		if err := s.audit(t, a, "templates.sync", "templates", res.String()); err != nil {
			return err
		}
		if err := s.store.Commit(ctx, t); err != nil {
			return err
		}
		next = &e
		return nil
	})
	if err != nil {
		return TemplateSync{}, err
	}
	s.rules.Store(next)
	return res, nil
}

// templatesFromContent turns the Content API's listing into templates,
// sorted by name, leaving out Parley's own quick-reply resources.
func templatesFromContent(listed []channels.ContentTemplate) []config.Template {
	out := make([]config.Template, 0, len(listed))
	for _, c := range listed {
		if !strings.HasPrefix(c.SID, "HX") || strings.HasPrefix(c.Name, quickReplyPrefix) {
			continue
		}
		t := config.Template{
			Name: c.Name, ContentSID: c.SID, Preview: c.Body, Source: config.TemplateFromTwilio,
			Language: c.Language, Types: c.Types, Status: c.Status, Category: c.Category, Rejection: c.Rejection,
			Variables: []string{},
		}
		if t.Name == "" {
			t.Name = c.SID
		}
		for v := range c.Variables {
			t.Variables = append(t.Variables, v)
		}
		sortVariables(t.Variables)
		if len(c.Variables) > 0 {
			t.Samples = c.Variables
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// sortVariables orders "1", "2", ..., "10" as numbers, named ones after.
func sortVariables(vs []string) {
	sort.Slice(vs, func(i, j int) bool {
		a, errA := strconv.Atoi(vs[i])
		b, errB := strconv.Atoi(vs[j])
		switch {
		case errA == nil && errB == nil:
			return a < b
		case errA == nil || errB == nil:
			return errA == nil
		}
		return vs[i] < vs[j]
	})
}

// mergeTemplates puts the synced templates in place of the ones synced
// before: the hand-entered ones first, in their order, then Twilio's.
func mergeTemplates(current, synced []config.Template) ([]config.Template, TemplateSync) {
	res := TemplateSync{Total: len(synced)}
	fresh := map[string]bool{}
	for _, t := range synced {
		fresh[t.ContentSID] = true
		if t.Status == config.TemplateApproved {
			res.Approved++
		}
	}
	before := map[string]config.Template{}
	out := []config.Template{}
	for _, t := range current {
		switch {
		case t.Source == config.TemplateFromTwilio || fresh[t.ContentSID]:
			before[t.ContentSID] = t
			if !fresh[t.ContentSID] {
				res.Removed++
			}
		default:
			out = append(out, t)
			res.Kept++
		}
	}
	for _, t := range synced {
		old, ok := before[t.ContentSID]
		switch {
		case !ok:
			res.Added++
		case !reflect.DeepEqual(old, t):
			res.Updated++
		}
	}
	return append(out, synced...), res
}

// CanSyncTemplates reports whether there is a Content API to sync from.
func (s *Service) CanSyncTemplates() bool { return s.content != nil }
