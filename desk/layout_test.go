package desk

import (
	"go/build"
	"strings"
	"testing"
)

// TestLayoutStaysOneWay: desk's feature packages sit below it and the
// engine below them all. The engine is pure Go (an import of Redis, the
// job queue, HTTP, the network or the file system would let a decision
// do I/O half-way); the feature packages keep no store of their own, so
// Redis stays in desk alone, and none imports desk.
func TestLayoutStaysOneWay(t *testing.T) {
	const mod = "github.com/parleydesk/parley/"
	store := []string{"github.com/redis/go-redis", "github.com/hibiken/asynq", "github.com/gofiber/fiber", mod + "desk"}
	banned := map[string][]string{
		"engine":   append([]string{"net", "os"}, store...),
		"bots":     store, // its client speaks HTTP to the bot, and only that
		"media":    append([]string{"net/http"}, store...),
		"reports":  append([]string{"net", "os"}, store...),
		"settings": append([]string{"net", "os"}, store...),
		"users":    append([]string{"net", "os"}, store...),
	}
	for dir, bad := range banned {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(pkg.GoFiles) == 0 {
			t.Fatalf("%s: no sources", dir)
		}
		for _, imp := range pkg.Imports {
			if imp == mod+"desk/engine" && dir != "engine" {
				continue // the model every feature speaks
			}
			for _, b := range bad {
				if imp == b || strings.HasPrefix(imp, b+"/") {
					t.Errorf("desk/%s imports %s", dir, imp)
				}
			}
		}
	}
}
