package desk

import (
	"context"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/users"

	"github.com/parleydesk/parley/config"
)

// A user is an agent record (name, role, departments, capacity) with a
// password. The password hash lives under its own key, so nothing that
// reads agents for routing or lists ever carries it.

// SaveUser creates or updates a user's profile (as an agent record) and,
// when password is not empty, sets the password.
func (s *Service) SaveUser(ctx context.Context, u users.Spec, password string) error {
	if err := u.Check(); err != nil {
		return err
	}
	if password != "" {
		if err := s.SetPassword(ctx, u.ID, password, false, ""); err != nil {
			return err
		}
	}
	return s.SeedAgents(ctx, []config.Agent{{ID: u.ID, Name: u.Name, Role: u.Role, Departments: u.Departments, Capacity: u.Capacity}})
}

// SetPassword sets a user's password (bcrypt) and ends every session of
// theirs but keep (the caller's own, or ""): whoever knew the old password
// is signed out. It never enables a disabled user (EnableUser does).
// mustExist refuses an id that has no agent record.
func (s *Service) SetPassword(ctx context.Context, id, password string, mustExist bool, keep string) error {
	hash, err := users.Hash(password)
	if err != nil {
		return err
	}
	if mustExist {
		if _, err := s.store.Agent(ctx, id); err != nil {
			return err
		}
	}
	if err := s.store.SetCredential(ctx, id, "hash", hash); err != nil {
		return err
	}
	return s.sessions.EndAll(ctx, id, keep)
}

// DisableUser stops a user from signing in and ends all their sessions.
func (s *Service) DisableUser(ctx context.Context, id string) error {
	if _, err := s.store.Agent(ctx, id); err != nil {
		return err
	}
	if err := s.store.SetCredential(ctx, id, "disabled", "1"); err != nil {
		return err
	}
	if err := s.sessions.EndAll(ctx, id, ""); err != nil {
		return err
	}
	return s.SetPresence(ctx, id, engine.Offline, false)
}

// EnableUser lets a disabled user sign in again, with the password they had.
func (s *Service) EnableUser(ctx context.Context, id string) error {
	if _, err := s.store.Agent(ctx, id); err != nil {
		return err
	}
	return s.store.SetCredential(ctx, id, "disabled", "0")
}

// Authenticate checks a user's password and returns the user.
func (s *Service) Authenticate(ctx context.Context, id, password string) (*engine.Agent, error) {
	cred, err := s.store.Credentials(ctx, id)
	if err != nil {
		return nil, err
	}
	hash := cred["hash"]
	if cred["disabled"] == "1" {
		hash = "" // checked all the same, in the same time
	}
	if !users.Matches(hash, password) {
		return nil, users.ErrBadCredentials
	}
	return s.store.Agent(ctx, id)
}

// Enabled reports whether a user may act: it exists and is not disabled.
func (s *Service) Enabled(ctx context.Context, id string) (*engine.Agent, error) {
	disabled, err := s.store.UserDisabled(ctx, id)
	if err != nil {
		return nil, err
	}
	if disabled {
		return nil, users.ErrBadCredentials
	}
	return s.store.Agent(ctx, id)
}
