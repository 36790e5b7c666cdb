package channels

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/redis/go-redis/v9"
)

// Sandbox is the provider used when no Twilio account is configured: a send
// goes nowhere and is reported delivered, so Parley's own record of the
// message (its history, which the phone simulator shows) is all there is.
// It also keeps the files the phone simulator sends (sandbox_uploads.go).
// Nothing leaves the machine.
type Sandbox struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewSandbox returns a sandbox that keeps its files under prefix.
func NewSandbox(rdb redis.UniversalClient, prefix string) *Sandbox {
	return &Sandbox{rdb: rdb, prefix: prefix + "sandbox:"}
}

// Send reports the message delivered, under a SID of its own.
func (s *Sandbox) Send(_ context.Context, _ Outbound) (Receipt, error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return Receipt{SID: "SB" + hex.EncodeToString(id[:]), Status: StatusDelivered}, nil
}
