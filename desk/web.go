package desk

import (
	"embed"
	"io/fs"
)

// Only the page's own files are embedded: never web/e2e (the browser tests)
// or its node_modules.
//
//go:embed web/*.html web/*.js web/*.css
var web embed.FS

// Web is the desk's page and assets (HTML, CSS, JavaScript), built into the
// binary: no build step, nothing to install.
func Web() fs.FS {
	sub, _ := fs.Sub(web, "web") // "web" is embedded above: cannot fail
	return sub
}
