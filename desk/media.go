package desk

import (
	"context"
	"fmt"
	"strconv"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/media"

	"github.com/redis/go-redis/v9"
)

// The files Parley keeps, one hash each with its lifetime (media.Keep):
// an agent's upload (Attach), a customer's media once fetched
// (inmedia.go). What may be done with a file is checked against what is
// stored with it: who uploaded it, for which conversation, whose customer
// sent it. The links to them are signed by desk/media.

func (k keys) media(id string) string { return k.prefix + "media:" + id }

// Attach stores a file for a conversation the actor may reply in.
func (s *Service) Attach(ctx context.Context, a engine.Actor, convID, name, contentType string, data []byte) (engine.Attachment, error) {
	if !s.media.Enabled() {
		return engine.Attachment{}, fmt.Errorf("%w: attachments are not set up on this server", engine.ErrInvalid)
	}
	c, err := s.Open(ctx, a, convID)
	if err != nil {
		return engine.Attachment{}, err
	}
	if err := engine.MustHold(a, c); err != nil {
		return engine.Attachment{}, err
	}
	if len(data) == 0 || len(data) > media.MaxAttachment {
		return engine.Attachment{}, fmt.Errorf("%w: an attachment has 1 byte to 20 MB", engine.ErrInvalid)
	}
	att := engine.Attachment{ID: engine.NewID(), Name: name, ContentType: contentType, Size: len(data)}
	// The uploader and the conversation are kept with the file: only they
	// may send it (ReplyAttachment), however its id became known. The file
	// and its lifetime are one write: a file is never kept for good.
	key := s.store.keys.media(att.ID)
	t := newTx()
	t.do("HSET", key, "name", name, "type", contentType, "data", string(data), "by", a.ID, "conv", c.ID, "contact", string(c.Contact))
	t.do("PEXPIRE", key, strconv.FormatInt(media.Keep.Milliseconds(), 10))
	if err := t.commit(ctx, s.store.rdb); err != nil {
		return engine.Attachment{}, err
	}
	att.URL = s.media.URL(att.ID, s.now().Add(media.Keep))
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
	att := engine.Attachment{ID: id, Size: int(size.Val()), URL: s.media.URL(id, s.now().Add(media.Keep))}
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

// DeskFile returns a stored file for the desk: the URL's signature must
// hold for the conversation it names, the actor may see that conversation
// (checked by the caller), and the file must belong to its customer. Any
// other case is ErrNotFound.
func (s *Service) DeskFile(ctx context.Context, a engine.Actor, convID, id, exp, sig string) (name, contentType string, data []byte, err error) {
	if !s.media.DeskValid(convID, id, exp, sig, s.now()) {
		return "", "", nil, engine.ErrNotFound
	}
	c, err := s.Open(ctx, a, convID)
	if err != nil {
		return "", "", nil, err
	}
	v, err := s.store.rdb.HMGet(ctx, s.store.keys.media(id), "name", "type", "data", "conv", "contact").Result()
	if err != nil {
		return "", "", nil, err
	}
	raw, ok := v[2].(string)
	conv, _ := v[3].(string)
	contact, _ := v[4].(string)
	if !ok || (conv != c.ID && (contact == "" || contact != string(c.Contact))) {
		return "", "", nil, engine.ErrNotFound
	}
	name, _ = v[0].(string)
	contentType, _ = v[1].(string)
	return name, contentType, []byte(raw), nil
}
