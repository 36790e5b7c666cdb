// Package media is the part of Parley's files that needs no Redis: the
// signed, expiring links that let Twilio, the desk and customers fetch what
// Parley keeps (Signer), the limits on a file and a reply, how the desk
// shows a message's media and location, and how a stored file is served.
// Storing and reading the files is desk's (desk/media.go, desk/inmedia.go);
// fetching a customer's media from Twilio is channels' (MediaFetcher).
package media

import (
	"mime"
	"strings"
	"time"
)

const (
	// MaxAttachment is the largest file Parley keeps: an agent's upload,
	// a customer's media fetched from Twilio, a phone simulator upload.
	MaxAttachment = 20 << 20
	// MaxAttachmentsPerReply is how many files one reply may carry.
	MaxAttachmentsPerReply = 10
	// Keep is how long a stored file is kept, and so how long the link
	// Twilio fetches it from may work.
	Keep = 7 * 24 * time.Hour
	// DeskURLLife is how long a link given to the desk works: a working
	// day, the length of a session. A file that goes sooner cuts it short.
	DeskURLLife = 12 * time.Hour
)

// Disposition is the Content-Disposition a stored file is served with, on
// Parley's own origin: inline only for media a browser shows without
// running anything (images but SVG, audio, video, PDF), a download
// otherwise, so a customer's HTML or SVG never runs as Parley's page. The
// name is quoted by mime, so it cannot break out of the header.
func Disposition(name, contentType string) string {
	d := "attachment"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && inert(mt) {
		d = "inline"
	}
	if name != "" {
		if v := mime.FormatMediaType(d, map[string]string{"filename": name}); v != "" {
			d = v
		}
	}
	return d
}

// inert reports whether a browser shows media type mt without running any
// of it.
func inert(mt string) bool {
	return (strings.HasPrefix(mt, "image/") && mt != "image/svg+xml") ||
		strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/") || mt == "application/pdf"
}
