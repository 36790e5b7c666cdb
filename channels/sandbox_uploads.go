package channels

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// A file the development phone sends is kept here, where Twilio would keep
// a customer's media: the webhook names its URL, and whoever fetches that
// URL gets the file. The id is 128 random bits, so the URL is the
// permission, as Twilio's media URLs are.

// sandboxUploadKeep is how long an uploaded file stays.
const sandboxUploadKeep = 7 * 24 * time.Hour

// ErrNoUpload is an upload id the sandbox does not hold (never kept, or
// expired).
var ErrNoUpload = errors.New("no such upload")

// Upload is a file a simulated customer sent.
type Upload struct {
	ID          string
	Name        string
	ContentType string
	Data        []byte
}

func (s *Sandbox) uploadKey(id string) string { return s.prefix + "upload:" + id }

// KeepUpload stores a file and returns its id.
func (s *Sandbox) KeepUpload(ctx context.Context, name, contentType string, data []byte) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.uploadKey(id), "name", name, "type", contentType, "data", data)
		p.Expire(ctx, s.uploadKey(id), sandboxUploadKeep)
		return nil
	})
	return id, err
}

// Upload returns a stored file; an unknown or malformed id is ErrNoUpload.
func (s *Sandbox) Upload(ctx context.Context, id string) (Upload, error) {
	if len(id) != 32 {
		return Upload{}, ErrNoUpload
	}
	if _, err := hex.DecodeString(id); err != nil {
		return Upload{}, ErrNoUpload
	}
	v, err := s.rdb.HMGet(ctx, s.uploadKey(id), "name", "type", "data").Result()
	if err != nil {
		return Upload{}, err
	}
	data, ok := v[2].(string)
	if !ok {
		return Upload{}, ErrNoUpload
	}
	name, _ := v[0].(string)
	contentType, _ := v[1].(string)
	return Upload{ID: id, Name: name, ContentType: contentType, Data: []byte(data)}, nil
}
