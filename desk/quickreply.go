package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// Bot buttons on WhatsApp go as real quick replies: a twilio/quick-reply
// content resource, created once per distinct body and set of buttons and
// then reused, its SID cached in Redis under a hash of the set. Inside the
// 24-hour window WhatsApp needs no approval for it. Everywhere else (SMS,
// the sandbox, a creation that failed) the message's body, a numbered
// list, is sent instead.

// quickReplyKept is how long an unused cached quick-reply SID is kept.
const quickReplyKept = 30 * 24 * time.Hour

// quickReplyWait bounds the wait for another send creating the same set
// (and that send's lock, should it die holding it).
const quickReplyWait = 5 * time.Second

// quickReplyHash names a set of buttons with its body.
func quickReplyHash(q *engine.QuickReply) string {
	sum := sha256.Sum256([]byte(q.Body + "\x00" + strings.Join(q.Buttons, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// quickReplyContent returns the content SID that sends q, creating the
// resource the first time the set is seen. Sends of one new set racing
// (two customers greeted at once) create it once: the first takes a short
// lock, the others wait for its SID.
func (s *Service) quickReplyContent(ctx context.Context, q *engine.QuickReply, fallback string) (string, error) {
	hash := quickReplyHash(q)
	deadline := time.Now().Add(quickReplyWait)
	for {
		sid, err := s.store.CachedQuickReply(ctx, hash)
		if err != nil {
			return "", err
		}
		if sid != "" {
			s.store.KeepQuickReply(ctx, hash, quickReplyKept)
			return sid, nil
		}
		won, err := s.store.LockQuickReply(ctx, hash, quickReplyWait)
		if err != nil {
			return "", err
		}
		if won {
			defer s.store.UnlockQuickReply(context.WithoutCancel(ctx), hash)
			// The send that held the lock before may have just stored it.
			if sid, err := s.store.CachedQuickReply(ctx, hash); err == nil && sid != "" {
				return sid, nil
			}
			sid, err := s.content.CreateQuickReply(ctx, quickReplyPrefix+hash, q.Body, q.Buttons, fallback)
			if err != nil {
				return "", err
			}
			return sid, s.store.CacheQuickReply(ctx, hash, sid, quickReplyKept)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("another send was creating this quick-reply content for over %s", quickReplyWait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// withQuickReply makes out send m's buttons as WhatsApp quick replies when
// it can; otherwise out keeps the numbered list, and the reason is logged.
func (s *Service) withQuickReply(ctx context.Context, m engine.Message, out *channels.Outbound) {
	if m.QuickReply == nil || m.To.Channel() != channels.WhatsApp || s.content == nil {
		return
	}
	sid, err := s.quickReplyContent(ctx, m.QuickReply, m.Body)
	if err != nil {
		s.log.Warn().Err(err).Str("message", m.ID).Msg("quick-reply content not created; sending the buttons as a numbered list")
		return
	}
	out.Body = ""
	out.Template = &channels.Template{ContentSID: sid}
}
