package media

import (
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

// What the desk shows of a message's media and location. Media items are
// kept by Parley: an agent's upload at once, a customer's once the
// media:fetch job has copied it from Twilio. The page gets each at a
// signed, expiring Parley link (DeskURL); never the provider's URL.

// NotFetched is what the desk shows for a media item the fetch gave up on.
const NotFetched = "media could not be fetched"

// mapURL links a place on OpenStreetMap.
func mapURL(lat, lon float64) string {
	la, lo := strconv.FormatFloat(lat, 'f', -1, 64), strconv.FormatFloat(lon, 'f', -1, 64)
	return "https://www.openstreetmap.org/?mlat=" + la + "&mlon=" + lo + "#map=16/" + la + "/" + lo
}

// Attachments is what the desk shows of m's media and location at now,
// with links for viewing from conversation convID (a message of an
// earlier conversation of the contact is viewed from the current one).
func (s *Signer) Attachments(convID string, m engine.Message, now time.Time) []engine.MessageAttachment {
	var out []engine.MessageAttachment
	for i, md := range m.Media {
		var f engine.File
		if i < len(m.Files) {
			f = m.Files[i]
		}
		a := engine.MessageAttachment{ContentType: md.ContentType, Name: f.Name, Size: f.Size, State: f.State}
		if f.Type != "" {
			a.ContentType = f.Type // what the file turned out to be
		}
		a.Kind = engine.KindOf(a.ContentType)
		switch {
		case f.State == engine.FileReady && f.Until != 0 && now.UnixMilli() > f.Until:
			a.State = engine.FileExpired
		case f.State == engine.FileReady:
			exp := now.Add(DeskURLLife)
			if until := time.UnixMilli(f.Until); f.Until != 0 && until.Before(exp) {
				exp = until
			}
			a.URL = s.DeskURL(convID, f.ID, exp)
		case f.State == engine.FileFailed:
			a.Error = NotFetched
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

// ForDesk readies a history for the page, viewed from convID at now: each
// message's attachments with Parley's links, and the provider's media URLs
// dropped.
func (s *Signer) ForDesk(convID string, hist []engine.Message, now time.Time) {
	for i := range hist {
		if len(hist[i].Media) == 0 && hist[i].Location == nil {
			continue
		}
		hist[i].Attachments = s.Attachments(convID, hist[i], now)
		hist[i].Media = nil
	}
}
