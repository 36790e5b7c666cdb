package desk

import (
	"context"
	"errors"

	"github.com/parleydesk/parley/desk/engine"
)

// The transcript offer: a customer who ends a chat with //end is told the
// chat is closed and offered a transcript; replying TRANSCRIPT within the
// configured window (config.Transcript) gets a signed, expiring link to a
// plain page of the conversation, which needs no desk sign-in. The offer
// is a key beside the contact, written in the commit that closed the chat
// and expiring with the window; it is read only for a message that says
// the keyword, so other messages pay nothing for it.

// loadTranscriptOffer puts the contact's standing offer, its chat and a
// signed link into the world, for a message that says the keyword.
func (s *Service) loadTranscriptOffer(ctx context.Context, w *engine.World) error {
	conv, until, err := s.store.TranscriptOffer(ctx, w.Contact.Address)
	if err != nil || conv == "" {
		return err
	}
	c, err := s.store.Conversation(ctx, conv)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	w.Track(c)
	w.Transcript = &engine.TranscriptState{
		Offered: &engine.TranscriptOffer{Conv: conv, Until: until},
		Link:    s.media.TranscriptURL(conv, w.Now.Add(w.Rules.Transcript.Valid)),
	}
	return nil
}

// CustomerTranscript is what the customer's transcript page shows.
type CustomerTranscript struct {
	Conversation *engine.Conversation
	// Messages are what the customer and the business wrote to each
	// other: internal notes and system lines are the team's own.
	Messages []engine.Message
}

// TranscriptFor checks a transcript link and returns what its page shows:
// media.ErrBadSignature for a link this server did not sign,
// media.ErrLinkExpired for one whose time has passed.
func (s *Service) TranscriptFor(ctx context.Context, convID, exp, sig string) (CustomerTranscript, error) {
	if err := s.media.CheckTranscript(convID, exp, sig, s.now()); err != nil {
		return CustomerTranscript{}, err
	}
	c, err := s.store.Conversation(ctx, convID)
	if err != nil {
		return CustomerTranscript{}, err
	}
	hist, err := s.store.History(ctx, convID)
	if err != nil {
		return CustomerTranscript{}, err
	}
	out := CustomerTranscript{Conversation: c, Messages: []engine.Message{}}
	for _, m := range hist {
		if m.Direction == engine.DirIn || m.Direction == engine.DirOut {
			out.Messages = append(out.Messages, m)
		}
	}
	return out, nil
}
