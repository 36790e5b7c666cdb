package desk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// The transcript offer: a customer who ends a chat with //end is told the
// chat is closed and offered a transcript; replying TRANSCRIPT within the
// configured window (config.Transcript) gets a signed, expiring link to a
// plain page of the conversation, which needs no desk sign-in. The offer
// is a key beside the contact, written in the commit that closed the chat
// and expiring with the window; it is read only for a message that says
// the keyword, so other messages pay nothing for it.

// wordTranscript is the customer's keyword for a transcript.
const wordTranscript = "TRANSCRIPT"

// ErrLinkExpired: a signed link whose time has passed.
var ErrLinkExpired = errors.New("this link has expired")

// transcriptOffer is an offer made to a contact: the chat it is for and
// until when a reply takes it up.
type transcriptOffer struct {
	Conv  string
	Until time.Time
}

// transcriptState is what a decision knows and does about transcript
// offers: the offer loaded for a keyword reply, with the link the service
// signed for it, and the offers this decision makes.
type transcriptState struct {
	offered *transcriptOffer
	link    string
	used    bool
	offers  []transcriptOffer
}

func (k keys) transcriptOffer(a channels.Address) string { return k.prefix + "transcript:" + string(a) }

// wantsTranscript is the rule: the keyword, alone, while an offer stands.
func wantsTranscript(offer *transcriptOffer, body string, now time.Time) bool {
	return offer != nil && offer.Conv != "" && word(body) == wordTranscript && now.Before(offer.Until)
}

// offerTranscript offers a transcript of a chat the customer just ended.
func (w *world) offerTranscript(c *engine.Conversation) {
	tr := w.rules.Transcript
	if tr.Offer == "" || tr.Window <= 0 || w.contact.OptedOut || c.Kind != engine.KindChat {
		return
	}
	w.say(c, strings.ReplaceAll(tr.Offer, "{minutes}", strconv.Itoa(int(tr.Window/time.Minute))))
	if w.transcript == nil {
		w.transcript = &transcriptState{}
	}
	w.transcript.offers = append(w.transcript.offers, transcriptOffer{Conv: c.ID, Until: w.now.Add(tr.Window)})
}

// takeTranscriptRequest answers a keyword reply to a standing offer with
// the link, on the chat it is about. It reports whether m was such a
// reply; a customer back in an open chat or a message session is not
// asking for one.
func (w *world) takeTranscriptRequest(m engine.Message, chat, ticket *engine.Conversation) bool {
	ts := w.transcript
	if ts == nil || chat != nil || (ticket != nil && (ticket.Session == engine.SessionAsking || ticket.Session == engine.SessionCollecting)) ||
		!wantsTranscript(ts.offered, m.Body, w.now) {
		return false
	}
	c := w.conversation(ts.offered.Conv)
	if c == nil || c.State != engine.StateClosed || ts.link == "" {
		return false
	}
	ts.used = true
	w.add(c, m)
	hours := strconv.Itoa(int(w.rules.Transcript.Valid / time.Hour))
	w.say(c, strings.NewReplacer("{link}", ts.link, "{hours}", hours).Replace(w.rules.Transcript.Link))
	return true
}

// writeTranscriptOffers adds a decision's offers to its commit, and drops
// the offer it took up.
func (k keys) writeTranscriptOffers(t *tx, w *world) {
	ts := w.transcript
	if ts == nil {
		return
	}
	key := k.transcriptOffer(w.contact.Address)
	if ts.used {
		t.do("DEL", key)
	}
	for _, o := range ts.offers {
		ttl := o.Until.Sub(w.now).Milliseconds()
		t.do("SET", key, o.Conv+" "+ms(o.Until), "PX", strconv.FormatInt(max(ttl, 1), 10))
	}
}

// loadTranscriptOffer puts the contact's standing offer, its chat and a
// signed link into the world, for a message that says the keyword.
func (s *Service) loadTranscriptOffer(ctx context.Context, w *world) error {
	v, err := s.store.rdb.Get(ctx, s.store.keys.transcriptOffer(w.contact.Address)).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	conv, until, _ := strings.Cut(v, " ")
	c, err := s.store.Conversation(ctx, conv)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	w.track(c)
	w.transcript = &transcriptState{
		offered: &transcriptOffer{Conv: conv, Until: fromMS(until)},
		link:    s.media.TranscriptURL(conv, w.now.Add(w.rules.Transcript.Valid)),
	}
	return nil
}

// transcriptSubject is what a transcript link signs: not an attachment id,
// so neither signature serves for the other.
func transcriptSubject(convID string) string { return "transcript:" + convID }

// TranscriptURL is the signed address of a conversation's transcript page,
// valid until exp.
func (m *Media) TranscriptURL(convID string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s/transcripts/%s?exp=%d&sig=%s", m.publicURL, convID, e, m.sign(transcriptSubject(convID), e))
}

// CustomerTranscript is what the customer's transcript page shows.
type CustomerTranscript struct {
	Conversation *engine.Conversation
	// Messages are what the customer and the business wrote to each
	// other: internal notes and system lines are the team's own.
	Messages []engine.Message
}

// TranscriptFor checks a transcript link and returns what its page shows:
// ErrBadSignature for a link this server did not sign, ErrLinkExpired for
// one whose time has passed.
func (s *Service) TranscriptFor(ctx context.Context, convID, exp, sig string) (CustomerTranscript, error) {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || len(s.media.secret) == 0 || !s.media.Valid(transcriptSubject(convID), exp, sig, time.Unix(e-1, 0)) {
		return CustomerTranscript{}, ErrBadSignature
	}
	if s.now().Unix() > e {
		return CustomerTranscript{}, ErrLinkExpired
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
