package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/config"
)

// loadBots loads a configuration file holding yaml, with env.
func loadBots(t *testing.T, yaml string, extra map[string]string) (config.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parley.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(env(with(extra, map[string]string{"PARLEY_CONFIG": path})))
}

// A key change-over: secret_env lists two variables, both read, the new
// one first; a single name still works.
func TestBotSecretEnvList(t *testing.T) {
	cfg, err := loadBots(t, `bots:
  - {id: one, url: "http://127.0.0.1:9/", secret_env: ONE_SECRET, departments: [general]}
  - {id: two, url: "http://127.0.0.1:9/", secret_env: [TWO_NEW, TWO_OLD], departments: [general], idle_timeout: 30s}
`, map[string]string{"ONE_SECRET": "one-secret-0123456789", "TWO_NEW": "two-new-0123456789", "TWO_OLD": "two-old-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Bots[0].Secrets; !slices.Equal(got, []string{"one-secret-0123456789"}) {
		t.Errorf("one: secrets %q", got)
	}
	if got := cfg.Bots[1].Secrets; !slices.Equal(got, []string{"two-new-0123456789", "two-old-0123456789"}) {
		t.Errorf("two: secrets %q, want the new then the old", got)
	}
	if got := cfg.Idle(&cfg.Bots[1]); got != 30*time.Second {
		t.Errorf("two: idle %s, want 30s", got)
	}
	if got := cfg.Idle(&cfg.Bots[0]); got != cfg.Timeouts.Inactivity {
		t.Errorf("one: idle %s, want the inactivity timeout %s", got, cfg.Timeouts.Inactivity)
	}
}

func TestBotConfigRefused(t *testing.T) {
	secrets := map[string]string{"S": "a-secret-0123456789", "T": "short"}
	for _, tc := range []struct{ yaml, want string }{
		{`bots: [{id: b, url: "http://127.0.0.1:9/", secret_env: S, departments: [nope]}]`, `bots[0].departments: unknown department "nope"`},
		{`bots: [{id: b, url: "http://127.0.0.1:9/", secret_env: [S, T], departments: [general]}]`, `T: the secret of bot "b" must be set`},
		{`bots: [{id: b, url: "http://127.0.0.1:9/", secret_env: [S, S, S], departments: [general]}]`, `bots[0].secret_env:`},
		{`bots: [{id: b, url: "http://127.0.0.1:9/", secret_env: {a: b}, departments: [general]}]`, `want an environment variable name or a list of them`},
		{`bots: [{id: b, url: "http://127.0.0.1:9/", secret_env: S, idle_timeout: -1s}]`, `bots[0].idle_timeout: must not be negative`},
	} {
		_, err := loadBots(t, tc.yaml, secrets)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tc.yaml, err, tc.want)
		}
	}
}
