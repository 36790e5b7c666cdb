package desk

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
)

// Customers' media: the message is stored with its provider URLs, and in
// the same commit a due entry (DueMedia) names it; then a media:fetch job
// copies each item into Parley's store (FetchMedia), records it on the
// message and announces it. A job that fails is retried with back-off; the
// last failure marks the item failed, which the desk shows. A lost job is
// enqueued again from the due entry, so no item stays "fetching" for good.

// MediaSource fetches customers' media from the provider, and deletes it
// there. channels.MediaFetcher is Twilio's.
type MediaSource interface {
	Fetch(ctx context.Context, url string, limit int64) (channels.FetchedMedia, error)
	Delete(ctx context.Context, url string) error
}

// MediaDispatcher is the part of a Dispatcher that enqueues media fetches.
// It is separate so that a Dispatcher without it still works: the media
// then waits for a worker that has it, in the due set.
type MediaDispatcher interface {
	// DispatchMedia enqueues the fetch of an inbound message's media.
	DispatchMedia(ctx context.Context, messageID string) error
}

// EventMessageMedia announces that a message's media was fetched or given up.
const EventMessageMedia = "message.media"

// ErrMediaGivenUp says a fetch marked an item failed for good: recorded,
// and shown to the desk; the job system should not retry it.
var ErrMediaGivenUp = errors.New("media could not be fetched; recorded as failed")

// ErrNoMediaSource is a fetch on a server with no way to fetch.
var ErrNoMediaSource = errors.New("no media source configured")

// fileID names the stored copy of a message's item i: the same on every
// attempt, so a repeated fetch overwrites instead of piling up copies.
func fileID(messageID string, i int) string { return messageID + "-" + strconv.Itoa(i) }

// dispatchMedia enqueues a message's fetch, if the dispatcher can.
func (s *Service) dispatchMedia(ctx context.Context, messageID string) error {
	md, ok := s.dispatch.(MediaDispatcher)
	if !ok {
		return fmt.Errorf("media fetch of %s: the dispatcher cannot enqueue it", messageID)
	}
	return md.DispatchMedia(ctx, messageID)
}

// FetchMedia copies an inbound message's media into Parley. final is true
// on the job's last attempt: an item that fails then is marked failed
// instead of retried. It returns an error while some item is to be tried
// again.
func (s *Service) FetchMedia(ctx context.Context, messageID string, final bool) error {
	m, err := s.store.Message(ctx, messageID)
	if errors.Is(err, engine.ErrNotFound) {
		return s.settleDue(ctx, store.MediaWake(messageID)) // purged since: nothing left to fetch
	}
	if err != nil {
		return err
	}
	files := make([]engine.File, len(m.Media))
	copy(files, m.Files)
	var again error
	var fetched []int
	gaveUp := false
	for i, md := range m.Media {
		if files[i].State != "" {
			continue // decided on an earlier attempt
		}
		f, err := s.fetchOne(ctx, m, i, md)
		switch {
		case err == nil:
			files[i] = f
			fetched = append(fetched, i)
		case channels.IsMediaTooLarge(err):
			files[i] = engine.File{State: engine.FileFailed, Reason: "larger than 20 MB"}
			gaveUp = true
		case final:
			files[i] = engine.File{State: engine.FileFailed, Reason: err.Error()}
			gaveUp = true
		default:
			again = errors.Join(again, fmt.Errorf("item %d: %w", i, err))
		}
		if err != nil {
			s.log.Warn().Err(err).Str("message", messageID).Int("item", i).Bool("final", final || channels.IsMediaTooLarge(err)).Msg("media not fetched")
		}
	}
	if len(fetched) > 0 || gaveUp || again == nil {
		ev := engine.Event{Type: EventMessageMedia, ConversationID: m.ConversationID, MessageID: m.ID, At: s.now().UTC()}
		if err := s.store.RecordFiles(ctx, m.ID, files, again == nil, ev); err != nil {
			return err
		}
	}
	if s.deleteSourceMedia {
		for _, i := range fetched {
			if err := s.mediaSource.Delete(ctx, m.Media[i].URL); err != nil {
				s.log.Warn().Err(err).Str("message", messageID).Int("item", i).Msg("media not deleted at the provider")
			}
		}
	}
	if again == nil && gaveUp {
		return ErrMediaGivenUp
	}
	return again
}

// fetchOne copies item i of m into the store.
func (s *Service) fetchOne(ctx context.Context, m engine.Message, i int, md channels.Media) (engine.File, error) {
	if s.mediaSource == nil {
		return engine.File{}, ErrNoMediaSource
	}
	got, err := s.mediaSource.Fetch(ctx, md.URL, media.MaxAttachment)
	if err != nil {
		return engine.File{}, err
	}
	if len(got.Data) == 0 {
		return engine.File{}, errors.New("media: empty body")
	}
	contentType := got.ContentType
	if contentType == "" || contentType == "application/octet-stream" {
		contentType = md.ContentType // what the webhook said
	}
	c, err := s.store.Conversation(ctx, m.ConversationID)
	if err != nil {
		return engine.File{}, err
	}
	id := fileID(m.ID, i)
	// No uploader: nobody may send a customer's file on by its id.
	f := store.StoredFile{Name: got.Name, ContentType: contentType, Data: got.Data, Conv: m.ConversationID, Contact: c.Contact}
	if err := s.store.PutFile(ctx, id, f); err != nil {
		return engine.File{}, err
	}
	return engine.File{ID: id, Name: got.Name, Type: contentType, Size: len(got.Data), State: engine.FileReady,
		Until: s.now().Add(media.Keep).UnixMilli()}, nil
}
