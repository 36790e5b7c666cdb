package gateway

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// A customer's file is served on Parley's own origin: only media the
// browser shows without running anything is inline, under a sandbox policy
// whatever it is, and the name cannot break out of its header.
func TestServeFileShowsOnlyInertMediaInline(t *testing.T) {
	tests := []struct {
		contentType, name, wantDisposition string
	}{
		{"image/jpeg", "photo.jpg", "inline; filename=photo.jpg"},
		{"audio/ogg; codecs=opus", "", "inline"},
		{"application/pdf", "invoice 7.pdf", `inline; filename="invoice 7.pdf"`},
		{"text/html", "page.html", "attachment; filename=page.html"},
		{"image/svg+xml", "logo.svg", "attachment; filename=logo.svg"},
		{"", "x\"; evil=1.bin", `attachment; filename="x\"; evil=1.bin"`},
	}
	for _, tc := range tests {
		app := fiber.New()
		app.Get("/f", func(c *fiber.Ctx) error {
			serveFile(c, tc.name, tc.contentType, []byte("data"))
			return nil
		})
		resp, err := app.Test(httptest.NewRequest("GET", "/f", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("Content-Disposition"); got != tc.wantDisposition {
			t.Errorf("%q named %q: Content-Disposition %q, want %q", tc.contentType, tc.name, got, tc.wantDisposition)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != "sandbox" {
			t.Errorf("%q: Content-Security-Policy %q, want sandbox", tc.contentType, got)
		}
		if tc.contentType == "" && resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("no type: served as %q, want application/octet-stream", resp.Header.Get("Content-Type"))
		}
	}
}
