package desk

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

// What the desk shows of a message's media and location. Media items are
// kept by Parley (media.go): an agent's upload at once, a customer's once
// the media:fetch job has copied it from Twilio (inmedia.go). The page gets
// each at a signed, expiring Parley URL that also needs a session that may
// see the conversation; never the provider's URL.

// ErrMediaNotFetched is the text of a media item the fetch gave up on.
const ErrMediaNotFetched = "media could not be fetched"

// deskURLLife is how long a URL given to the desk works: a working day,
// the length of a session.
const deskURLLife = 12 * time.Hour

// mapURL links a place on OpenStreetMap.
func mapURL(lat, lon float64) string {
	la, lo := strconv.FormatFloat(lat, 'f', -1, 64), strconv.FormatFloat(lon, 'f', -1, 64)
	return "https://www.openstreetmap.org/?mlat=" + la + "&mlon=" + lo + "#map=16/" + la + "/" + lo
}

// deskSign signs a desk URL: for one conversation's page, one file, until exp.
func (m *Media) deskSign(convID, id string, exp int64) string {
	return m.sign("desk:"+convID+":"+id, exp)
}

// DeskURL is the desk's address of a stored file seen from a conversation.
func (m *Media) DeskURL(convID, id string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("/api/v1/conversations/%s/media/%s?exp=%d&sig=%s", url.PathEscape(convID), url.PathEscape(id), e, m.deskSign(convID, id, e))
}

// deskValid checks a desk URL's signature and time.
func (m *Media) deskValid(convID, id, exp, sig string, now time.Time) bool {
	if len(m.secret) == 0 {
		return false
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > e {
		return false
	}
	return hmacEqual(sig, m.deskSign(convID, id, e))
}

// attachmentsOf is what the desk shows of m's media and location, with
// URLs for viewing from conversation convID.
func (s *Service) attachmentsOf(convID string, m engine.Message, now time.Time) []engine.MessageAttachment {
	var out []engine.MessageAttachment
	for i, md := range m.Media {
		var f engine.File
		if i < len(m.Files) {
			f = m.Files[i]
		}
		a := engine.MessageAttachment{ContentType: md.ContentType, Name: f.Name, Size: f.Size, State: f.State}
		if f.Type != "" {
			a.ContentType = f.Type
		}
		a.Kind = engine.KindOf(a.ContentType)
		switch {
		case f.State == engine.FileReady && f.Until != 0 && now.UnixMilli() > f.Until:
			a.State = engine.FileExpired
		case f.State == engine.FileReady:
			exp := now.Add(deskURLLife)
			if until := time.UnixMilli(f.Until); f.Until != 0 && until.Before(exp) {
				exp = until
			}
			a.URL = s.media.DeskURL(convID, f.ID, exp)
		case f.State == engine.FileFailed:
			a.Error = ErrMediaNotFetched
		case m.Direction == engine.DirIn:
			a.State = engine.FileFetching
		default:
			// An outbound item from before Parley recorded its files: the
			// address it was sent from is Parley's own.
			a.State = engine.FileReady
			if strings.HasPrefix(md.URL, "https://") || strings.HasPrefix(md.URL, "http://") {
				a.URL = md.URL
			}
		}
		out = append(out, a)
	}
	if loc := m.Location; loc != nil {
		lat, lon := loc.Latitude, loc.Longitude
		out = append(out, engine.MessageAttachment{
			Kind: engine.KindLocation, State: engine.FileReady, Latitude: &lat, Longitude: &lon,
			Label: loc.Label, Address: loc.Address, MapURL: mapURL(lat, lon),
		})
	}
	return out
}

// forDesk readies a history for the page: attachments with Parley's URLs
// instead of the provider's.
func (s *Service) forDesk(convID string, hist []engine.Message) {
	now := s.now()
	for i := range hist {
		if len(hist[i].Media) == 0 && hist[i].Location == nil {
			continue
		}
		hist[i].Attachments = s.attachmentsOf(convID, hist[i], now)
		hist[i].Media = nil
	}
}

// DeskFile returns a stored file for the desk: the URL's signature must
// hold for the conversation it names, the actor may see that conversation
// (checked by the caller), and the file must belong to its customer. Any
// other case is ErrNotFound.
func (s *Service) DeskFile(ctx context.Context, a engine.Actor, convID, id, exp, sig string) (name, contentType string, data []byte, err error) {
	if !s.media.deskValid(convID, id, exp, sig, s.now()) {
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
