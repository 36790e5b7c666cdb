package desk

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/config"
)

// DefaultCapacity is an agent's live-chat capacity when none is configured.
const DefaultCapacity = 3

// SeedAgents creates the configured agents that do not exist yet, with the
// configured presence. Agents that exist keep their presence and load; their
// name, role, departments and capacity follow the configuration.
func (s *Service) SeedAgents(ctx context.Context, agents []config.Agent) error {
	for _, ca := range agents {
		if err := s.retry(ctx, func() error { return s.seedAgent(ctx, ca) }); err != nil {
			return fmt.Errorf("seed agent %s: %w", ca.ID, err)
		}
	}
	return nil
}

func (s *Service) seedAgent(ctx context.Context, ca config.Agent) error {
	a, err := s.store.Agent(ctx, ca.ID)
	var loaded int64
	switch {
	case errors.Is(err, engine.ErrNotFound):
		a = &engine.Agent{ID: ca.ID, Presence: engine.Offline}
		if ca.Online {
			a.Presence, a.Accepting = engine.Online, true
		}
	case err != nil:
		return err
	default:
		loaded = a.Version
	}
	before := a.Departments
	a.Name, a.Role, a.Departments, a.Capacity = ca.Name, ca.Role, ca.Departments, ca.Capacity
	if a.Name == "" {
		a.Name = ca.ID
	}
	if a.Role == "" {
		a.Role = "agent"
	}
	if len(a.Departments) == 0 {
		a.Departments = []string{s.Rules().DefaultDepartment}
	}
	if a.Capacity == 0 {
		a.Capacity = DefaultCapacity
	}
	return s.store.PutAgent(ctx, a, loaded, before)
}

// SetPresence changes an agent's presence and whether they accept chats.
// Going online clears a pause for an ignored chat. An agent who becomes
// available takes waiting chats from their departments' queues.
func (s *Service) SetPresence(ctx context.Context, agentID string, p engine.Presence, accepting bool) error {
	var depts []string
	err := s.retry(ctx, func() error {
		a, err := s.store.Agent(ctx, agentID)
		if err != nil {
			return err
		}
		w := engine.NewWorld(s.now().UTC(), s.Rules())
		na := w.TrackAgent(a)
		if err := engine.DecidePresence(w, na, p, accepting); err != nil {
			return err
		}
		depts = na.Departments
		return s.commit(ctx, s.store.NewCommit(), w)
	})
	if err != nil {
		return err
	}
	for _, d := range depts {
		s.drain(ctx, d)
	}
	return nil
}
