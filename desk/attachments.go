package desk

import (
	"context"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
)

// What the desk shows of a message's media and location. Media items are
// kept by Parley (media.go): an agent's upload at once, a customer's once
// the media:fetch job has copied it from Twilio (inmedia.go). The page gets
// each at a signed, expiring Parley URL that also needs a session that may
// see the conversation; never the provider's URL.

// File states.
const (
	FileFetching = "fetching" // the fetch job has not finished with it
	FileReady    = "ready"
	FileFailed   = "failed"  // the fetch gave up: the desk says so
	FileExpired  = "expired" // kept mediaKeep, then gone
)

// File is Parley's copy of one media item of a message.
type File struct {
	// ID names the stored copy (keys.media); empty unless ready.
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Type  string `json:"type,omitempty"`
	Size  int    `json:"size,omitempty"`
	State string `json:"state,omitempty"` // "" is still fetching
	// Until is when the copy expires, Unix ms.
	Until int64 `json:"until,omitempty"`
	// Reason says why a failed fetch failed, for the agent's tooltip.
	Reason string `json:"reason,omitempty"`
}

// Attachment kinds.
const (
	KindImage    = "image"
	KindAudio    = "audio"
	KindVideo    = "video"
	KindDocument = "document"
	KindLocation = "location"
)

// MessageAttachment is one attachment as the desk shows it.
type MessageAttachment struct {
	Kind  string `json:"kind"`
	State string `json:"state"`
	// URL is Parley's signed, expiring address of the file (ready only).
	URL         string `json:"url,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Name        string `json:"name,omitempty"`
	Size        int    `json:"size,omitempty"`
	// Error is what the desk shows for a failed one.
	Error string `json:"error,omitempty"`
	// A location's place, with a link to a map.
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
	Label     string   `json:"label,omitempty"`
	Address   string   `json:"address,omitempty"`
	MapURL    string   `json:"map_url,omitempty"`
}

// ErrMediaNotFetched is the text of a media item the fetch gave up on.
const ErrMediaNotFetched = "media could not be fetched"

// deskURLLife is how long a URL given to the desk works: a working day,
// the length of a session.
const deskURLLife = 12 * time.Hour

// kindOf is the attachment kind of a content type.
func kindOf(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch {
	case strings.HasPrefix(mt, "image/"):
		return KindImage
	case strings.HasPrefix(mt, "audio/"):
		return KindAudio
	case strings.HasPrefix(mt, "video/"):
		return KindVideo
	}
	return KindDocument
}

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
func (s *Service) attachmentsOf(convID string, m Message, now time.Time) []MessageAttachment {
	var out []MessageAttachment
	for i, md := range m.Media {
		var f File
		if i < len(m.Files) {
			f = m.Files[i]
		}
		a := MessageAttachment{ContentType: md.ContentType, Name: f.Name, Size: f.Size, State: f.State}
		if f.Type != "" {
			a.ContentType = f.Type
		}
		a.Kind = kindOf(a.ContentType)
		switch {
		case f.State == FileReady && f.Until != 0 && now.UnixMilli() > f.Until:
			a.State = FileExpired
		case f.State == FileReady:
			exp := now.Add(deskURLLife)
			if until := time.UnixMilli(f.Until); f.Until != 0 && until.Before(exp) {
				exp = until
			}
			a.URL = s.media.DeskURL(convID, f.ID, exp)
		case f.State == FileFailed:
			a.Error = ErrMediaNotFetched
		case m.Direction == DirIn:
			a.State = FileFetching
		default:
			// An outbound item from before Parley recorded its files: the
			// address it was sent from is Parley's own.
			a.State = FileReady
			if strings.HasPrefix(md.URL, "https://") || strings.HasPrefix(md.URL, "http://") {
				a.URL = md.URL
			}
		}
		out = append(out, a)
	}
	if loc := m.Location; loc != nil {
		lat, lon := loc.Latitude, loc.Longitude
		out = append(out, MessageAttachment{
			Kind: KindLocation, State: FileReady, Latitude: &lat, Longitude: &lon,
			Label: loc.Label, Address: loc.Address, MapURL: mapURL(lat, lon),
		})
	}
	return out
}

// forDesk readies a history for the page: attachments with Parley's URLs
// instead of the provider's.
func (s *Service) forDesk(convID string, hist []Message) {
	now := s.now()
	for i := range hist {
		if len(hist[i].Media) == 0 && hist[i].Location == nil {
			continue
		}
		hist[i].Attachments = s.attachmentsOf(convID, hist[i], now)
		hist[i].Media = nil
	}
}

// mediaLabel names what a message carries for a list's preview: "Photo",
// "Voice message", a file's name.
func mediaLabel(media []channels.Media, files []File) string {
	if len(media) == 0 {
		return ""
	}
	name, ct := "", media[0].ContentType
	if len(files) > 0 {
		name = files[0].Name
		if files[0].Type != "" {
			ct = files[0].Type
		}
	}
	label := ""
	switch kindOf(ct) {
	case KindImage:
		label = "Photo"
	case KindAudio:
		label = "Audio"
		if mt, _, _ := mime.ParseMediaType(ct); mt == "audio/ogg" || mt == "audio/opus" {
			label = "Voice message" // what WhatsApp records
		}
	case KindVideo:
		label = "Video"
	default:
		label = name
		if label == "" {
			label = "Document"
		}
	}
	if len(media) > 1 {
		label += fmt.Sprintf(" (+%d)", len(media)-1)
	}
	return label
}

// DeskFile returns a stored file for the desk: the URL's signature must
// hold for the conversation it names, the actor may see that conversation
// (checked by the caller), and the file must belong to its customer. Any
// other case is ErrNotFound.
func (s *Service) DeskFile(ctx context.Context, a Actor, convID, id, exp, sig string) (name, contentType string, data []byte, err error) {
	if !s.media.deskValid(convID, id, exp, sig, s.now()) {
		return "", "", nil, ErrNotFound
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
		return "", "", nil, ErrNotFound
	}
	name, _ = v[0].(string)
	contentType, _ = v[1].(string)
	return name, contentType, []byte(raw), nil
}
