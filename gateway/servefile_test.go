package gateway

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// A customer's file is served on Parley's own origin under a sandbox
// policy whatever it is, inline or not as media.Disposition says (its own
// table test covers which types), and with a type even when none is known.
func TestServeFileHeaders(t *testing.T) {
	tests := []struct {
		contentType, name, wantDisposition string
	}{
		{"image/jpeg", "photo.jpg", "inline; filename=photo.jpg"},
		{"text/html", "page.html", "attachment; filename=page.html"},
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
