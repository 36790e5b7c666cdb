package gateway

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk"
)

// The desk page is native ES modules: a browser runs a module only when it
// comes with a JavaScript type (nosniff is on), under the desk's policy, and
// every module it imports must be one the server has.
func TestDeskModulesServedAsJavaScript(t *testing.T) {
	g := newTestGateway(t, false)
	mods, err := fs.Glob(desk.Web(), "*.js")
	if err != nil || len(mods) < 8 {
		t.Fatalf("desk modules: %v %v", mods, err)
	}
	importRE := regexp.MustCompile(`(?m)^import [^;]* from '\./([\w.-]+\.js)';$`)
	have := map[string]bool{}
	for _, m := range mods {
		have[m] = true
	}
	for _, m := range mods {
		resp, err := g.app.Test(httptest.NewRequest(http.MethodGet, "/desk/"+m, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", m, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
			t.Errorf("%s: Content-Type %q, a module needs a JavaScript type", m, ct)
		}
		if p := resp.Header.Get("Content-Security-Policy"); p != deskPolicy {
			t.Errorf("%s: policy %q", m, p)
		}
		for _, im := range importRE.FindAllSubmatch(body, -1) {
			if !have[string(im[1])] {
				t.Errorf("%s imports %s, which the server does not have", m, im[1])
			}
		}
		if strings.Contains(string(body), ".innerHTML") {
			t.Errorf("%s uses innerHTML", m)
		}
	}
	page, _ := fs.ReadFile(desk.Web(), "index.html")
	if !strings.Contains(string(page), `<script type="module" src="main.js"></script>`) {
		t.Error("index.html does not load main.js as a module")
	}
}
