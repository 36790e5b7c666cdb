package desk

import (
	"go/build"
	"strings"
	"testing"
)

// TestLayoutStaysOneWay: desk's feature packages sit below it and the
// engine below them all. The engine is pure Go (an import of Redis, the
// job queue, HTTP, the network or the file system would let a decision
// do I/O half-way); Redis is desk/store's alone: desk itself orchestrates
// (load, decide, commit, enqueue) through the store's methods, the
// feature packages keep no store of their own, and none imports desk or
// the store. The store imports desk nothing but the engine and media
// (a file's lifetime), so imports go one way: desk, then the store, then
// the engine.
func TestLayoutStaysOneWay(t *testing.T) {
	const mod = "github.com/parleydesk/parley/"
	const redis = "github.com/redis/go-redis"
	store := []string{redis, "github.com/hibiken/asynq", "github.com/gofiber/fiber", mod + "desk"}
	banned := map[string][]string{
		".":        {redis}, // desk: the store speaks Redis for it
		"engine":   append([]string{"net", "os"}, store...),
		"store":    {"github.com/hibiken/asynq", "github.com/gofiber/fiber", "net", "os", mod + "desk"},
		"bots":     store, // its client speaks HTTP to the bot, and only that
		"media":    append([]string{"net/http"}, store...),
		"reports":  append([]string{"net", "os"}, store...),
		"settings": append([]string{"net", "os"}, store...),
		"users":    append([]string{"net", "os"}, store...),
	}
	allowed := map[string][]string{
		"store": {mod + "desk/engine", mod + "desk/media"},
	}
	for dir, bad := range banned {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(pkg.GoFiles) == 0 {
			t.Fatalf("%s: no sources", dir)
		}
	imports:
		for _, imp := range pkg.Imports {
			if imp == mod+"desk/engine" && dir != "engine" {
				continue // the model every feature speaks
			}
			for _, ok := range allowed[dir] {
				if imp == ok {
					continue imports
				}
			}
			for _, b := range bad {
				if imp == b || strings.HasPrefix(imp, b+"/") {
					t.Errorf("%s imports %s", pathOf(dir), imp)
				}
			}
		}
	}
}

func pathOf(dir string) string {
	if dir == "." {
		return "desk"
	}
	return "desk/" + dir
}
