package main

// The README's quick start is what a new user tries first: these keep the
// facts it states true.

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadmeGoVersionIsGoMods(t *testing.T) {
	goMod := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	if goMod == nil {
		t.Fatal("go.mod has no go directive")
	}
	readme := readRepoFile(t, "README.md")
	quick := regexp.MustCompile(`with Go (\S+) or later`).FindStringSubmatch(readme)
	if quick == nil {
		t.Fatal(`README.md: no "with Go <version> or later" in the quick start`)
	}
	if quick[1] != goMod[1] {
		t.Errorf("README.md says Go %s, go.mod says %s", quick[1], goMod[1])
	}
}

// TestCIRunsTheReadmesTestCommand: CI must run what the README tells a
// person to run, so that "it passes in CI" means "./test.sh passes".
func TestCIRunsTheReadmesTestCommand(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	cmd := regexp.MustCompile("(?m)^(\\S+)\\s+# run the full test suite").FindStringSubmatch(readme)
	if cmd == nil {
		t.Fatal("README.md: no line '<command>  # run the full test suite' in the quick start")
	}
	ci := readRepoFile(t, ".ci/run")
	lines := strings.Split(strings.TrimSpace(ci), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != cmd[1] {
		t.Errorf(".ci/run ends with %q, want the README's test command %q", last, cmd[1])
	}
}
