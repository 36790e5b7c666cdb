package desk

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
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

// TestServiceSpeaksNoRedis: the Service orchestrates (load, decide,
// commit, enqueue) and leaves every Redis command to the Store, so that
// the store can become a package of its own. A Service method that
// touches the client, the key names or a transaction's commands fails it.
func TestServiceSpeaksNoRedis(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	methods := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Body == nil {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); !ok || star.X.(*ast.Ident).Name != "Service" {
				continue
			}
			methods++
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					switch n.Sel.Name {
					case "rdb", "keys", "do", "claim", "publish", "expectVersion", "expectRecord", "expectField", "expectRoom":
						t.Errorf("%s: Service.%s uses .%s", fset.Position(n.Pos()), fn.Name.Name, n.Sel.Name)
					}
				case *ast.Ident:
					if n.Name == "newTx" {
						t.Errorf("%s: Service.%s builds a tx", fset.Position(n.Pos()), fn.Name.Name)
					}
				}
				return true
			})
		}
	}
	if methods < 50 {
		t.Fatalf("found %d Service methods; the test no longer sees them", methods)
	}
}
