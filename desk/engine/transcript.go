package engine

import (
	"strconv"
	"strings"
	"time"
)

// TranscriptState is what a decision knows and does about transcript
// offers: the offer loaded for a keyword reply, with the link the service
// signed for it, and the offers this decision makes.
type TranscriptState struct {
	Offered *TranscriptOffer
	Link    string
	Used    bool
	Offers  []TranscriptOffer
}

// wantsTranscript is the rule: the keyword, alone, while an offer stands.
func wantsTranscript(offer *TranscriptOffer, body string, now time.Time) bool {
	return offer != nil && offer.Conv != "" && Word(body) == WordTranscript && now.Before(offer.Until)
}

// offerTranscript offers a transcript of a chat the customer just ended.
func (w *World) offerTranscript(c *Conversation) {
	tr := w.Rules.Transcript
	if tr.Offer == "" || tr.Window <= 0 || w.Contact.OptedOut || c.Kind != KindChat {
		return
	}
	w.say(c, strings.ReplaceAll(tr.Offer, "{minutes}", strconv.Itoa(int(tr.Window/time.Minute))))
	if w.Transcript == nil {
		w.Transcript = &TranscriptState{}
	}
	w.Transcript.Offers = append(w.Transcript.Offers, TranscriptOffer{Conv: c.ID, Until: w.Now.Add(tr.Window)})
}

// takeTranscriptRequest answers a keyword reply to a standing offer with
// the link, on the chat it is about. It reports whether m was such a
// reply; a customer back in an open chat or a message session is not
// asking for one.
func (w *World) takeTranscriptRequest(m Message, chat, ticket *Conversation) bool {
	ts := w.Transcript
	if ts == nil || chat != nil || (ticket != nil && (ticket.Session == SessionAsking || ticket.Session == SessionCollecting)) ||
		!wantsTranscript(ts.Offered, m.Body, w.Now) {
		return false
	}
	c := w.Conversation(ts.Offered.Conv)
	if c == nil || c.State != StateClosed || ts.Link == "" {
		return false
	}
	ts.Used = true
	w.add(c, m)
	hours := strconv.Itoa(int(w.Rules.Transcript.Valid / time.Hour))
	w.say(c, strings.NewReplacer("{link}", ts.Link, "{hours}", hours).Replace(w.Rules.Transcript.Link))
	return true
}

// WordTranscript is the customer's keyword for a transcript.
const WordTranscript = "TRANSCRIPT"

// TranscriptOffer is an offer made to a contact: the chat it is for and
// until when a reply takes it up.
type TranscriptOffer struct {
	Conv  string
	Until time.Time
}
