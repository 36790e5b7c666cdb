package desk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"
)

// Attachments an agent sends are kept by Parley and served to Twilio (and
// the desk) at signed, expiring URLs: Twilio fetches media by URL, without
// credentials, so the URL itself is the permission.

const (
	// MaxAttachment is the largest file an agent may attach.
	MaxAttachment = 20 << 20
	// mediaKeep is how long an attachment is kept and its URL valid.
	mediaKeep = 7 * 24 * time.Hour
)

func (k keys) media(id string) string { return k.prefix + "media:" + id }

// Media signs and checks attachment URLs.
type Media struct {
	secret    []byte
	publicURL string
}

// NewMedia returns the signer for URLs under publicURL.
func NewMedia(secret []byte, publicURL string) *Media {
	return &Media{secret: secret, publicURL: publicURL}
}

func (m *Media) sign(id string, exp int64) string {
	mac := hmac.New(sha256.New, m.secret)
	fmt.Fprintf(mac, "%s:%d", id, exp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// URL is an attachment's signed address, valid until exp.
func (m *Media) URL(id string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s/media/%s?exp=%d&sig=%s", m.publicURL, id, e, m.sign(id, e))
}

// Valid reports whether a signature is this server's for id and exp, and
// exp has not passed.
func (m *Media) Valid(id, exp, sig string, now time.Time) bool {
	if len(m.secret) == 0 {
		return false
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > e {
		return false
	}
	return hmacEqual(sig, m.sign(id, e))
}

func hmacEqual(got, want string) bool { return hmac.Equal([]byte(got), []byte(want)) }

// Attach stores a file for a conversation the actor may reply in.
func (s *Service) Attach(ctx context.Context, a engine.Actor, convID, name, contentType string, data []byte) (engine.Attachment, error) {
	if len(s.media.secret) == 0 {
		return engine.Attachment{}, fmt.Errorf("%w: attachments are not set up on this server", engine.ErrInvalid)
	}
	c, err := s.Open(ctx, a, convID)
	if err != nil {
		return engine.Attachment{}, err
	}
	if err := engine.MustHold(a, c); err != nil {
		return engine.Attachment{}, err
	}
	if len(data) == 0 || len(data) > MaxAttachment {
		return engine.Attachment{}, fmt.Errorf("%w: an attachment has 1 byte to 20 MB", engine.ErrInvalid)
	}
	att := engine.Attachment{ID: engine.NewID(), Name: name, ContentType: contentType, Size: len(data)}
	// The uploader and the conversation are kept with the file: only they
	// may send it (ReplyAttachment), however its id became known. The file
	// and its lifetime are one write: a file is never kept for good.
	key := s.store.keys.media(att.ID)
	if _, err := s.store.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "name", name, "type", contentType, "data", data, "by", a.ID, "conv", c.ID, "contact", string(c.Contact))
		p.Expire(ctx, key, mediaKeep)
		return nil
	}); err != nil {
		return engine.Attachment{}, err
	}
	att.URL = s.media.URL(att.ID, s.now().Add(mediaKeep))
	return att, nil
}

// ReplyAttachment is a stored attachment for a reply, with its signed
// address and what the desk shows of it (name, type, size): only its
// uploader, in the conversation it was uploaded for, may send it. Any other
// use is ErrNotFound, as for an id that does not exist.
func (s *Service) ReplyAttachment(ctx context.Context, a engine.Actor, convID, id string) (engine.Attachment, error) {
	key := s.store.keys.media(id)
	var fields *redis.SliceCmd
	var size *redis.IntCmd
	var ttl *redis.DurationCmd
	if _, err := s.store.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		fields = p.HMGet(ctx, key, "by", "conv", "name", "type")
		size = p.HStrLen(ctx, key, "data")
		ttl = p.PTTL(ctx, key)
		return nil
	}); err != nil {
		return engine.Attachment{}, err
	}
	v := fields.Val()
	if by, _ := v[0].(string); by == "" || by != a.ID || v[1] != convID {
		return engine.Attachment{}, fmt.Errorf("attachment %s: %w", id, engine.ErrNotFound)
	}
	att := engine.Attachment{ID: id, Size: int(size.Val()), URL: s.media.URL(id, s.now().Add(mediaKeep))}
	if d := ttl.Val(); d > 0 {
		att.Until = s.now().Add(d)
	}
	att.Name, _ = v[2].(string)
	att.ContentType, _ = v[3].(string)
	return att, nil
}

// Attachment returns a stored file when its URL's signature holds.
func (s *Service) Attachment(ctx context.Context, id, exp, sig string) (name, contentType string, data []byte, err error) {
	if !s.media.Valid(id, exp, sig, s.now()) {
		return "", "", nil, engine.ErrNotFound
	}
	v, err := s.store.rdb.HMGet(ctx, s.store.keys.media(id), "name", "type", "data").Result()
	if err != nil {
		return "", "", nil, err
	}
	raw, ok := v[2].(string)
	if !ok {
		return "", "", nil, engine.ErrNotFound
	}
	name, _ = v[0].(string)
	contentType, _ = v[1].(string)
	return name, contentType, []byte(raw), nil
}
