package desk

import (
	"context"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

// An agent whose desk is gone (tab closed, laptop asleep, gateway restarted)
// must stop getting chats. Each open desk holds a lease that its live-update
// stream renews; when the last lease ends, by a clean close or by running
// out, a presence check PresenceGrace later sets the agent offline unless a
// desk came back. The check is a due entry like any timer, so a gateway that
// dies takes nothing with it: the reconciler finds the entry when it is due.

// DeskOpened records one of an agent's desks (a live-update stream, by its
// id) as open, and renews its lease; call it again to renew.
func (s *Service) DeskOpened(ctx context.Context, agent, desk string) error {
	return s.store.RenewDesk(ctx, agent, desk, s.now())
}

// DeskClosed records an agent's desk as closed; with none left open, the
// presence check is scheduled PresenceGrace from now.
func (s *Service) DeskClosed(ctx context.Context, agent, desk string) error {
	now := s.now()
	at := now.Add(store.PresenceGrace)
	open, err := s.store.CloseDesk(ctx, agent, desk, now, at)
	if err != nil || open > 0 {
		return err
	}
	return s.dispatch.DispatchPresence(ctx, agent, at)
}

// CheckPresence is the body of the presence check job: an agent with no desk
// open since the grace ended is set offline. A check that comes early (a desk
// reopened and closed again since it was scheduled) leaves it to the later one.
func (s *Service) CheckPresence(ctx context.Context, agent string) error {
	lapsed, err := s.store.PresenceLapsed(ctx, agent, s.now())
	if err != nil || !lapsed {
		return err
	}
	a, err := s.store.Agent(ctx, agent)
	if err != nil || a.Presence == engine.Offline {
		return err
	}
	s.log.Info().Str("agent", agent).Msg("no desk open: agent set offline")
	return s.SetPresence(ctx, agent, engine.Offline, false)
}
