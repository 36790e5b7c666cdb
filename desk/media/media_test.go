package media

import (
	"testing"
)

// A customer's file is served on Parley's own origin: only media the
// browser shows without running anything is inline, and the name cannot
// break out of its header.
func TestDispositionShowsOnlyInertMediaInline(t *testing.T) {
	tests := []struct{ contentType, name, want string }{
		{"image/jpeg", "photo.jpg", "inline; filename=photo.jpg"},
		{"audio/ogg; codecs=opus", "", "inline"},
		{"video/mp4", "clip.mp4", "inline; filename=clip.mp4"},
		{"application/pdf", "invoice 7.pdf", `inline; filename="invoice 7.pdf"`},
		{"text/html", "page.html", "attachment; filename=page.html"},
		{"image/svg+xml", "logo.svg", "attachment; filename=logo.svg"},
		{"not a type", "", "attachment"},
		{"", "x\"; evil=1.bin", `attachment; filename="x\"; evil=1.bin"`},
	}
	for _, tc := range tests {
		if got := Disposition(tc.name, tc.contentType); got != tc.want {
			t.Errorf("%q named %q: %q, want %q", tc.contentType, tc.name, got, tc.want)
		}
	}
}
