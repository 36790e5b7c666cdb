package gateway

import (
	"io"
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

func TestByteRange(t *testing.T) {
	for _, tc := range []struct {
		header     string
		size       int
		start, end int
		ok         bool
	}{
		{"", 10, 0, 0, false},
		{"bytes=0-3", 10, 0, 3, true},
		{"bytes=4-", 10, 4, 9, true},
		{"bytes=-3", 10, 7, 9, true},
		{"bytes=-30", 10, 0, 9, true},      // more than there is: all of it
		{"bytes=8-100", 10, 8, 9, true},    // an end past the file stops at its end
		{"bytes=10-", 10, -1, 0, true},     // past the end: 416
		{"bytes=-0", 10, -1, 0, true},      // nothing asked for
		{"bytes=0-1,4-5", 10, 0, 0, false}, // several ranges: the whole file
		{"bytes=5-2", 10, 0, 0, false},
		{"bytes=x-2", 10, 0, 0, false},
		{"items=0-2", 10, 0, 0, false},
		{"bytes=-1", 0, -1, 0, true},
	} {
		start, end, ok := byteRange(tc.header, tc.size)
		if start != tc.start || end != tc.end || ok != tc.ok {
			t.Errorf("byteRange(%q, %d) = %d, %d, %v; want %d, %d, %v", tc.header, tc.size, start, end, ok, tc.start, tc.end, tc.ok)
		}
	}
}

// A video is played by asking for parts of it: 206 with the part and where
// it lies, 416 past the end, the whole file when the ranges are several.
func TestServeFileRanges(t *testing.T) {
	app := fiber.New()
	app.Get("/f", func(c *fiber.Ctx) error {
		serveFile(c, "clip.mp4", "video/mp4", []byte("0123456789"))
		return nil
	})
	for _, tc := range []struct {
		rng, body, contentRange string
		status                  int
	}{
		{"", "0123456789", "", 200},
		{"bytes=2-5", "2345", "bytes 2-5/10", 206},
		{"bytes=-2", "89", "bytes 8-9/10", 206},
		{"bytes=12-", "", "bytes */10", 416},
		{"bytes=0-1,3-4", "0123456789", "", 200},
	} {
		req := httptest.NewRequest("GET", "/f", nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || string(body) != tc.body || resp.Header.Get("Content-Range") != tc.contentRange {
			t.Errorf("Range %q: %d %q (Content-Range %q); want %d %q (%q)", tc.rng, resp.StatusCode, body, resp.Header.Get("Content-Range"), tc.status, tc.body, tc.contentRange)
		}
		if resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("Range %q: Accept-Ranges %q, want bytes", tc.rng, resp.Header.Get("Accept-Ranges"))
		}
	}
}
