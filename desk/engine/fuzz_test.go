package engine

import (
	"strings"
	"testing"
)

// FuzzKeywords: the YES / NO / //end matcher and the rating parser take any
// text without panicking, and agree with their rules.
func FuzzKeywords(f *testing.F) {
	for _, s := range []string{"yes", " NO ", "//end", "//END\n", "5 great", "3.", "10", "ｙｅｓ", "\u00a0yes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w := Word(body)
		if w == wordYes && strings.ToUpper(strings.TrimSpace(body)) != "YES" {
			t.Fatalf("%q matched YES", body)
		}
		score, _, ok := parseRating(body)
		if ok != (score >= 1 && score <= 5) {
			t.Fatalf("parseRating(%q) = %d, %v", body, score, ok)
		}
	})
}
