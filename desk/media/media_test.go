package media

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
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

// TestNoRedisHere: this package is what of media needs no store; Redis, the
// job queue, HTTP serving or desk itself here would turn it back into desk.
func TestNoRedisHere(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := []string{"github.com/redis/go-redis", "github.com/hibiken/asynq", "github.com/gofiber/fiber", "net/http"}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/parleydesk/parley/desk" {
				t.Errorf("%s imports desk: this package sits below it", name)
			}
			for _, b := range banned {
				if p == b || strings.HasPrefix(p, b+"/") {
					t.Errorf("%s imports %s", name, p)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
