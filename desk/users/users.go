// Package users is what makes a desk user valid and how a password is
// kept and checked: ids, roles, password rules and bcrypt. Where users and
// their hashes are stored is desk's business; nothing here speaks Redis.
package users

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleydesk/parley/desk/engine"
)

// ErrBadCredentials: unknown user, wrong password, or a disabled account;
// the three are not told apart.
var ErrBadCredentials = errors.New("wrong user name or password")

// IDPattern is what a user id must match; the desk's forms check it too.
var IDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,39}$`)

// Roles a user can have.
var Roles = []string{"agent", "supervisor", "admin"}

// MinPasswordLength is the shortest password accepted; bcrypt reads no
// more than 72 bytes, so that is the longest.
const (
	MinPasswordLength = 10
	maxPasswordLength = 72
)

// Spec describes a user to create or update.
type Spec struct {
	ID          string
	Name        string
	Role        string
	Departments []string
	Capacity    int
}

// Check refuses an id or a role Parley would not accept.
func (u Spec) Check() error {
	if !IDPattern.MatchString(u.ID) {
		return fmt.Errorf("%w: user id: lower-case letters, digits, '.', '_' or '-', up to 40", engine.ErrInvalid)
	}
	if !slices.Contains(Roles, u.Role) {
		return fmt.Errorf("%w: role: want agent, supervisor or admin", engine.ErrInvalid)
	}
	return nil
}

// Hash checks a new password's length and returns its bcrypt hash.
func Hash(password string) (string, error) {
	if len(password) < MinPasswordLength || len(password) > maxPasswordLength {
		return "", fmt.Errorf("%w: password: %d to %d characters", engine.ErrInvalid, MinPasswordLength, maxPasswordLength)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(hash), err
}

// Matches reports whether password is the one hash was made from. With no
// hash (an unknown or disabled user) it spends the time of a real check
// and says no, so the time of an answer does not tell which names exist.
func Matches(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// dummyHash is made on first use, not at start-up.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("parley-timing-equaliser"), bcrypt.DefaultCost)
	return h
})
