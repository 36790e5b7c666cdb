package channels

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// sandboxKeep is how many messages the sandbox remembers per contact.
const sandboxKeep = 100

// Sandbox is the provider used when no Twilio account is configured: every
// send is kept in Redis, per contact, where the phone simulator reads it.
// Nothing leaves the machine.
type Sandbox struct {
	rdb    redis.UniversalClient
	prefix string
}

// SandboxMessage is one message the sandbox received.
type SandboxMessage struct {
	SID      string    `json:"sid"`
	To       Address   `json:"to"`
	Body     string    `json:"body,omitempty"`
	Media    []string  `json:"media,omitempty"`
	Template *Template `json:"template,omitempty"`
	At       time.Time `json:"at"`
}

// NewSandbox returns a sandbox that keeps its messages under prefix.
func NewSandbox(rdb redis.UniversalClient, prefix string) *Sandbox {
	return &Sandbox{rdb: rdb, prefix: prefix + "sandbox:"}
}

// Send records the message and reports it delivered.
func (s *Sandbox) Send(ctx context.Context, m Outbound) (Receipt, error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	msg := SandboxMessage{SID: "SB" + hex.EncodeToString(id[:]), To: m.To, Body: m.Body, Media: m.MediaURLs, Template: m.Template, At: time.Now().UTC()}
	raw, err := json.Marshal(msg)
	if err != nil {
		return Receipt{}, &SendError{Message: err.Error()}
	}
	key := s.prefix + string(m.To)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, key, raw)
		p.LTrim(ctx, key, -sandboxKeep, -1)
		return nil
	})
	if err != nil {
		return Receipt{}, &SendError{Message: err.Error(), Temporary: true}
	}
	return Receipt{SID: msg.SID, Status: StatusDelivered}, nil
}

// Messages returns what the sandbox received for a contact, oldest first,
// starting after the first skip messages.
func (s *Sandbox) Messages(ctx context.Context, to Address, skip int) ([]SandboxMessage, error) {
	raws, err := s.rdb.LRange(ctx, s.prefix+string(to), int64(skip), -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]SandboxMessage, 0, len(raws))
	for _, raw := range raws {
		var m SandboxMessage
		if json.Unmarshal([]byte(raw), &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}
