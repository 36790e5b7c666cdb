package desk

import (
	"context"
	"fmt"
	"io"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/reports"
)

// Reports: the figures and downloads are desk/reports'; the desk decides
// who may have them and loads the period's conversations.

// periodConversations loads the conversations created in the period, of
// the query's agent and department.
func (s *Service) periodConversations(ctx context.Context, a engine.Actor, q reports.Query) ([]*engine.Conversation, error) {
	if !a.Supervises() {
		return nil, fmt.Errorf("%w: reports are for supervisors", engine.ErrNotAllowed)
	}
	if err := q.Check(); err != nil {
		return nil, err
	}
	ids, err := s.store.CreatedBetween(ctx, q.From, q.To)
	if err != nil {
		return nil, err
	}
	convs, err := s.store.Conversations(ctx, ids)
	if err != nil {
		return nil, err
	}
	kept := convs[:0]
	for _, c := range convs {
		if q.InScope(c) {
			kept = append(kept, c)
		}
	}
	return kept, nil
}

// Report computes a period's figures.
func (s *Service) Report(ctx context.Context, a engine.Actor, q reports.Query) (reports.Report, error) {
	convs, err := s.periodConversations(ctx, a, q)
	if err != nil {
		return reports.Report{}, err
	}
	return reports.Compute(q, convs), nil
}

// ExportConversations writes the period's conversations as CSV or JSON.
func (s *Service) ExportConversations(ctx context.Context, a engine.Actor, q reports.Query, format string, w io.Writer) error {
	convs, err := s.periodConversations(ctx, a, q)
	if err != nil {
		return err
	}
	return reports.Export(w, format, convs)
}
