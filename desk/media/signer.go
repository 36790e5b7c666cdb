package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Twilio fetches the media of an agent's reply by URL, without
// credentials, and a customer opens a transcript link without signing in:
// the URL itself is the permission. Each link signs its subject and its
// expiry with the server's media secret. The three kinds of link sign
// subjects of different shapes (an id, "desk:conv:id", "transcript:conv"),
// so a signature made for one never serves for another. The formats are
// fixed: links already sent must keep working after an upgrade.

// ErrBadSignature is a link this server did not sign, or one altered since.
var ErrBadSignature = errors.New("bad signature")

// ErrLinkExpired is a signed link whose time has passed.
var ErrLinkExpired = errors.New("this link has expired")

// Signer signs and checks Parley's file and transcript links.
type Signer struct {
	secret    []byte
	publicURL string
}

// NewSigner returns the signer for links under publicURL (Parley's address
// as Twilio and customers reach it). With no secret it signs nothing that
// checks: every link is refused.
func NewSigner(secret []byte, publicURL string) *Signer {
	return &Signer{secret: secret, publicURL: publicURL}
}

// Enabled reports whether the signer has a secret, so that the links it
// makes can work: without one Parley takes no attachments.
func (s *Signer) Enabled() bool { return len(s.secret) > 0 }

func (s *Signer) sign(subject string, exp int64) string {
	mac := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(mac, "%s:%d", subject, exp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// check parses exp and reports whether sig is this server's for subject
// and exp, whatever the time.
func (s *Signer) check(subject, exp, sig string) (int64, bool) {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !s.Enabled() {
		return 0, false
	}
	return e, hmac.Equal([]byte(sig), []byte(s.sign(subject, e)))
}

// URL is a stored file's public address, valid until exp: what Twilio
// fetches an agent's attachment from.
func (s *Signer) URL(id string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s/media/%s?exp=%d&sig=%s", s.publicURL, id, e, s.sign(id, e))
}

// Valid reports whether a public file link holds: signed by this server
// for id and exp, and exp not passed at now.
func (s *Signer) Valid(id, exp, sig string, now time.Time) bool {
	e, ok := s.check(id, exp, sig)
	return ok && now.Unix() <= e
}

func deskSubject(convID, id string) string { return "desk:" + convID + ":" + id }

// DeskURL is the desk's address of a stored file seen from conversation
// convID, valid until exp. It is relative: the desk is on Parley's origin,
// and the route also needs a session that may see the conversation.
func (s *Signer) DeskURL(convID, id string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("/api/v1/conversations/%s/media/%s?exp=%d&sig=%s",
		url.PathEscape(convID), url.PathEscape(id), e, s.sign(deskSubject(convID, id), e))
}

// DeskValid reports whether a desk file link holds: signed for this
// conversation and file, and exp not passed at now.
func (s *Signer) DeskValid(convID, id, exp, sig string, now time.Time) bool {
	e, ok := s.check(deskSubject(convID, id), exp, sig)
	return ok && now.Unix() <= e
}

func transcriptSubject(convID string) string { return "transcript:" + convID }

// TranscriptURL is the signed address of a conversation's transcript page,
// valid until exp.
func (s *Signer) TranscriptURL(convID string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s/transcripts/%s?exp=%d&sig=%s", s.publicURL, convID, e, s.sign(transcriptSubject(convID), e))
}

// CheckTranscript checks a transcript link at now: ErrBadSignature for one
// this server did not sign for convID and exp, ErrLinkExpired for a
// genuine one whose time has passed (the page tells the customer so).
func (s *Signer) CheckTranscript(convID, exp, sig string, now time.Time) error {
	e, ok := s.check(transcriptSubject(convID), exp, sig)
	if !ok {
		return ErrBadSignature
	}
	if now.Unix() > e {
		return ErrLinkExpired
	}
	return nil
}
