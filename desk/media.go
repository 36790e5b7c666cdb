package desk

import (
	"context"
	"fmt"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/store"
)

// The files Parley keeps, one hash each with its lifetime (media.Keep):
// an agent's upload (Attach), a customer's media once fetched
// (inmedia.go). What may be done with a file is checked against what is
// stored with it: who uploaded it, for which conversation, whose customer
// sent it. The links to them are signed by desk/media.

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
	// may send it (ReplyAttachment), however its id became known.
	f := store.StoredFile{Name: name, ContentType: contentType, Data: data, By: a.ID, Conv: c.ID, Contact: c.Contact}
	if err := s.store.PutFile(ctx, att.ID, f); err != nil {
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
	f, size, left, err := s.store.FileInfo(ctx, id)
	if err != nil {
		return engine.Attachment{}, err
	}
	if f.By == "" || f.By != a.ID || f.Conv != convID {
		return engine.Attachment{}, fmt.Errorf("attachment %s: %w", id, engine.ErrNotFound)
	}
	att := engine.Attachment{ID: id, Size: size, URL: s.media.URL(id, s.now().Add(media.Keep))}
	if left > 0 {
		att.Until = s.now().Add(left)
	}
	att.Name, att.ContentType = f.Name, f.ContentType
	return att, nil
}

// Attachment returns a stored file when its URL's signature holds.
func (s *Service) Attachment(ctx context.Context, id, exp, sig string) (name, contentType string, data []byte, err error) {
	if !s.media.Valid(id, exp, sig, s.now()) {
		return "", "", nil, engine.ErrNotFound
	}
	f, found, err := s.store.File(ctx, id)
	if err != nil {
		return "", "", nil, err
	}
	if !found {
		return "", "", nil, engine.ErrNotFound
	}
	return f.Name, f.ContentType, f.Data, nil
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
	f, found, err := s.store.File(ctx, id)
	if err != nil {
		return "", "", nil, err
	}
	if !found || (f.Conv != c.ID && (f.Contact == "" || f.Contact != c.Contact)) {
		return "", "", nil, engine.ErrNotFound
	}
	return f.Name, f.ContentType, f.Data, nil
}
