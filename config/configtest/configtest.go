// Package configtest gives tests one set of engine settings to decide on:
// the defaults, with timeouts short and distinct enough that a test tells
// each deadline from the others.
package configtest

import (
	"testing"
	"time"

	"github.com/parleydesk/parley/config"
)

// Rules is the default engine settings with the tests' timeouts.
func Rules(t testing.TB) *config.Engine {
	t.Helper()
	cfg := config.Default()
	cfg.Timeouts = config.Timeouts{
		Queue: 5 * time.Minute, AgentResponse: 2 * time.Minute, Inactivity: 10 * time.Minute,
		Pending: time.Hour, TicketSession: 10 * time.Minute, ArchiveAfter: 90 * 24 * time.Hour,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cfg.Engine
}
