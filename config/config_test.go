package config_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/config"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "x7Kp2mQ9vR4tW8yZ3bN6cF1hJ5lD0sGa"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// twilioEnv is the smallest valid Twilio setup.
func twilioEnv() map[string]string {
	return map[string]string{
		"TWILIO_ACCOUNT_SID":   testAccountSID,
		"TWILIO_AUTH_TOKEN":    testAuthToken,
		"PARLEY_PUBLIC_URL":    "https://parley.example.test",
		"PARLEY_WHATSAPP_FROM": "whatsapp:+14155238886",
	}
}

// with returns a copy of base with extra set on top.
func with(base, extra map[string]string) map[string]string {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, extra)
	return m
}

// settings is the part of Config this file checks: every value config.go
// reads from the environment. It is comparable with ==, unlike Config, whose
// engine section holds slices, maps and compiled calendars.
type settings struct {
	Listen       string
	RedisURL     string
	PublicURL    string
	MaxBodyBytes int
	Log          config.Log
	Twilio       config.Twilio
	Admin        config.Admin
	Worker       config.Worker
	Timeouts     config.Timeouts
	DevPhone     bool
	// TrustedProxies is the list joined by commas, to stay comparable.
	TrustedProxies string
}

func settingsOf(c config.Config) settings {
	return settings{
		Listen: c.Listen, RedisURL: c.RedisURL, PublicURL: c.PublicURL, MaxBodyBytes: c.MaxBodyBytes,
		Log: c.Log, Twilio: c.Twilio, Admin: c.Admin, Worker: c.Worker, Timeouts: c.Timeouts,
		DevPhone: c.DevPhone, TrustedProxies: strings.Join(c.TrustedProxies, ","),
	}
}

// diffSettings lists the fields that differ, as "(-want +got)" lines.
func diffSettings(want, got settings) string {
	var b strings.Builder
	var walk func(path string, w, g reflect.Value)
	walk = func(path string, w, g reflect.Value) {
		if w.Kind() == reflect.Struct {
			for i := range w.NumField() {
				walk(path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i))
			}
			return
		}
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			fmt.Fprintf(&b, "%s:\n  - %#v\n  + %#v\n", path, w.Interface(), g.Interface())
		}
	}
	walk("Config", reflect.ValueOf(want), reflect.ValueOf(got))
	return b.String()
}

// checkSettings fails the test when got's settings are not want's.
func checkSettings(t *testing.T, want, got config.Config) {
	t.Helper()
	w, g := settingsOf(want), settingsOf(got)
	if w != g {
		t.Errorf("Load mismatch (-want +got):\n%s", diffSettings(w, g))
	}
}

func TestLoadDefaults(t *testing.T) {
	got, err := config.Load(env(nil))
	if err != nil {
		t.Fatalf("Load(empty env): unexpected error %v", err)
	}
	want := settings{
		Listen:       "127.0.0.1:8080",
		MaxBodyBytes: 65536,
		Log:          config.Log{Format: "auto", Level: "info"},
		Admin:        config.Admin{User: "admin"},
		Worker: config.Worker{
			Concurrency:    20,
			SendRetries:    8,
			SendRetryBase:  time.Second,
			ReconcileEvery: 5 * time.Second,
			TemplatesSync:  24 * time.Hour,
		},
		// The engine's timeouts are engine.go's business; here they only
		// have to be the defaults, untouched by an empty environment.
		Timeouts: config.Default().Timeouts,
	}
	if g := settingsOf(got); g != want {
		t.Errorf("Load(empty env) mismatch (-want +got):\n%s", diffSettings(want, g))
	}
	checkSettings(t, config.Default(), got)
	if !got.Twilio.Sandbox() {
		t.Errorf("Twilio.Sandbox() = false with no Twilio credentials, want true")
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		apply func(*config.Config)
	}{
		{"PARLEY_LISTEN", map[string]string{"PARLEY_LISTEN": "0.0.0.0:9000"}, func(c *config.Config) { c.Listen = "0.0.0.0:9000" }},
		{"PARLEY_REDIS_URL", map[string]string{"PARLEY_REDIS_URL": "redis://127.0.0.1:6390/3"}, func(c *config.Config) { c.RedisURL = "redis://127.0.0.1:6390/3" }},
		{"PARLEY_REDIS_URL rediss", map[string]string{"PARLEY_REDIS_URL": "rediss://default:pw@cache.example.test:6380"}, func(c *config.Config) { c.RedisURL = "rediss://default:pw@cache.example.test:6380" }},
		{"PARLEY_PUBLIC_URL", map[string]string{"PARLEY_PUBLIC_URL": "https://parley.example.test"}, func(c *config.Config) { c.PublicURL = "https://parley.example.test" }},
		{"PARLEY_MAX_BODY_BYTES", map[string]string{"PARLEY_MAX_BODY_BYTES": "2048"}, func(c *config.Config) { c.MaxBodyBytes = 2048 }},
		{"PARLEY_LOG_FORMAT", map[string]string{"PARLEY_LOG_FORMAT": "json"}, func(c *config.Config) { c.Log.Format = "json" }},
		{"PARLEY_LOG_LEVEL", map[string]string{"PARLEY_LOG_LEVEL": "debug"}, func(c *config.Config) { c.Log.Level = "debug" }},
		{"PARLEY_ADMIN_USER", map[string]string{"PARLEY_ADMIN_USER": "ops"}, func(c *config.Config) { c.Admin.User = "ops" }},
		{"PARLEY_ADMIN_PASSWORD", map[string]string{"PARLEY_ADMIN_PASSWORD": "correct-horse"}, func(c *config.Config) { c.Admin.Password = "correct-horse" }},
		{"PARLEY_TRUSTED_PROXIES", map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12"}, func(c *config.Config) { c.TrustedProxies = []string{"10.0.0.1", "172.16.0.0/12"} }},
		{"PARLEY_DEV_PHONE", map[string]string{"PARLEY_DEV_PHONE": "1"}, func(c *config.Config) { c.DevPhone = true }},
		{"PARLEY_WORKER_CONCURRENCY", map[string]string{"PARLEY_WORKER_CONCURRENCY": "4"}, func(c *config.Config) { c.Worker.Concurrency = 4 }},
		{"PARLEY_SEND_RETRIES", map[string]string{"PARLEY_SEND_RETRIES": "0"}, func(c *config.Config) { c.Worker.SendRetries = 0 }},
		{"PARLEY_SEND_RETRY_BASE", map[string]string{"PARLEY_SEND_RETRY_BASE": "250ms"}, func(c *config.Config) { c.Worker.SendRetryBase = 250 * time.Millisecond }},
		{"PARLEY_RECONCILE_EVERY", map[string]string{"PARLEY_RECONCILE_EVERY": "1m"}, func(c *config.Config) { c.Worker.ReconcileEvery = time.Minute }},
		{"PARLEY_TEMPLATES_SYNC", map[string]string{"PARLEY_TEMPLATES_SYNC": "0"}, func(c *config.Config) { c.Worker.TemplatesSync = 0 }},
		{"PARLEY_QUEUE_TIMEOUT", map[string]string{"PARLEY_QUEUE_TIMEOUT": "90s"}, func(c *config.Config) { c.Timeouts.Queue = 90 * time.Second }},
		{"PARLEY_AGENT_RESPONSE_TIMEOUT", map[string]string{"PARLEY_AGENT_RESPONSE_TIMEOUT": "45s"}, func(c *config.Config) { c.Timeouts.AgentResponse = 45 * time.Second }},
		{"PARLEY_INACTIVITY_TIMEOUT", map[string]string{"PARLEY_INACTIVITY_TIMEOUT": "20m"}, func(c *config.Config) { c.Timeouts.Inactivity = 20 * time.Minute }},
		{"PARLEY_PENDING_TIMEOUT", map[string]string{"PARLEY_PENDING_TIMEOUT": "48h"}, func(c *config.Config) { c.Timeouts.Pending = 48 * time.Hour }},
		{"PARLEY_TICKET_SESSION_TIMEOUT", map[string]string{"PARLEY_TICKET_SESSION_TIMEOUT": "15m"}, func(c *config.Config) { c.Timeouts.TicketSession = 15 * time.Minute }},
		{"PARLEY_TICKET_ARCHIVE_AFTER", map[string]string{"PARLEY_TICKET_ARCHIVE_AFTER": "720h"}, func(c *config.Config) { c.Timeouts.ArchiveAfter = 720 * time.Hour }},
		{
			name: "Twilio account",
			env:  twilioEnv(),
			apply: func(c *config.Config) {
				c.PublicURL = "https://parley.example.test"
				c.Twilio = config.Twilio{AccountSID: testAccountSID, AuthToken: testAuthToken, WhatsAppFrom: "whatsapp:+14155238886"}
			},
		},
		{
			name: "PARLEY_DELETE_TWILIO_MEDIA",
			env:  with(twilioEnv(), map[string]string{"PARLEY_DELETE_TWILIO_MEDIA": "true"}),
			apply: func(c *config.Config) {
				c.PublicURL = "https://parley.example.test"
				c.Twilio = config.Twilio{AccountSID: testAccountSID, AuthToken: testAuthToken, WhatsAppFrom: "whatsapp:+14155238886", DeleteMedia: true}
			},
		},
		{
			name: "PARLEY_SMS_FROM",
			env:  with(twilioEnv(), map[string]string{"PARLEY_SMS_FROM": "+15005550006"}),
			apply: func(c *config.Config) {
				c.PublicURL = "https://parley.example.test"
				c.Twilio = config.Twilio{AccountSID: testAccountSID, AuthToken: testAuthToken, WhatsAppFrom: "whatsapp:+14155238886", SMSFrom: "+15005550006"}
			},
		},
		{
			name: "PARLEY_SMS_FROM alone is a sender",
			env:  with(twilioEnv(), map[string]string{"PARLEY_WHATSAPP_FROM": "", "PARLEY_SMS_FROM": "+15005550006"}),
			apply: func(c *config.Config) {
				c.PublicURL = "https://parley.example.test"
				c.Twilio = config.Twilio{AccountSID: testAccountSID, AuthToken: testAuthToken, SMSFrom: "+15005550006"}
			},
		},
		{
			name: "PARLEY_TWILIO_MESSAGING_SERVICE_SID",
			env:  with(twilioEnv(), map[string]string{"PARLEY_TWILIO_MESSAGING_SERVICE_SID": "MG0123456789abcdef0123456789abcdef"}),
			apply: func(c *config.Config) {
				c.PublicURL = "https://parley.example.test"
				c.Twilio = config.Twilio{AccountSID: testAccountSID, AuthToken: testAuthToken, WhatsAppFrom: "whatsapp:+14155238886", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"}
			},
		},
		{
			name: "PARLEY_TWILIO_API_URL",
			env:  with(twilioEnv(), map[string]string{"PARLEY_TWILIO_API_URL": "http://127.0.0.1:4010"}),
			apply: func(c *config.Config) {
				c.PublicURL = "https://parley.example.test"
				c.Twilio = config.Twilio{AccountSID: testAccountSID, AuthToken: testAuthToken, WhatsAppFrom: "whatsapp:+14155238886", APIURL: "http://127.0.0.1:4010"}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := config.Load(env(tc.env))
			if err != nil {
				t.Fatalf("Load: unexpected error %v", err)
			}
			want := config.Default()
			tc.apply(&want)
			checkSettings(t, want, got)
		})
	}
}

func TestLoadSandbox(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"no credentials", nil, true},
		{"public URL only", map[string]string{"PARLEY_PUBLIC_URL": "https://parley.example.test"}, true},
		{"credentials", twilioEnv(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(env(tc.env))
			if err != nil {
				t.Fatalf("Load: unexpected error %v", err)
			}
			if got := cfg.Twilio.Sandbox(); got != tc.want {
				t.Errorf("Twilio.Sandbox() = %v, want %v", got, tc.want)
			}
		})
	}
}

func writeYAML(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parley.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const fullYAML = `# Parley configuration
listen: 0.0.0.0:9090
redis_url: redis://redis.internal:6379/2
public_url: https://parley.example.test
max_body_bytes: 131072
log:
  format: json
  level: debug
twilio:
  account_sid: AC0123456789abcdef0123456789abcdef
  api_url: http://127.0.0.1:4010
  whatsapp_from: "whatsapp:+14155238886"
  sms_from: "+15005550006"
admin:
  user: ops
worker:
  concurrency: 4
  send_retries: 3
  send_retry_base: 2s
  reconcile_every: 30s
timeouts:
  queue_timeout: 1m
`

func TestLoadYAML(t *testing.T) {
	path := writeYAML(t, fullYAML)
	fromFile := config.Config{
		Listen:       "0.0.0.0:9090",
		RedisURL:     "redis://redis.internal:6379/2",
		PublicURL:    "https://parley.example.test",
		MaxBodyBytes: 131072,
		Log:          config.Log{Format: "json", Level: "debug"},
		Twilio: config.Twilio{
			AccountSID:   testAccountSID,
			AuthToken:    testAuthToken,
			APIURL:       "http://127.0.0.1:4010",
			WhatsAppFrom: "whatsapp:+14155238886",
			SMSFrom:      "+15005550006",
		},
		Admin: config.Admin{User: "ops", Password: "correct-horse"},
		Worker: config.Worker{
			Concurrency:    4,
			SendRetries:    3,
			SendRetryBase:  2 * time.Second,
			ReconcileEvery: 30 * time.Second,
			TemplatesSync:  24 * time.Hour,
		},
	}
	fromFile.Timeouts = config.Default().Timeouts
	fromFile.Timeouts.Queue = time.Minute
	tests := []struct {
		name  string
		env   map[string]string
		apply func(*config.Config)
	}{
		{
			name:  "file only (secrets from env)",
			env:   map[string]string{},
			apply: func(*config.Config) {},
		},
		{
			name: "env overrides file",
			env: map[string]string{
				"PARLEY_LISTEN":          "127.0.0.1:7000",
				"PARLEY_REDIS_URL":       "redis://127.0.0.1:6390/0",
				"PARLEY_LOG_LEVEL":       "warn",
				"TWILIO_ACCOUNT_SID":     "ACfedcba9876543210fedcba9876543210",
				"PARLEY_SMS_FROM":        "+15005550001",
				"PARLEY_SEND_RETRY_BASE": "500ms",
				"PARLEY_SEND_RETRIES":    "12",
				"PARLEY_QUEUE_TIMEOUT":   "0s",
			},
			apply: func(c *config.Config) {
				c.Listen = "127.0.0.1:7000"
				c.RedisURL = "redis://127.0.0.1:6390/0"
				c.Log.Level = "warn"
				c.Twilio.AccountSID = "ACfedcba9876543210fedcba9876543210"
				c.Twilio.SMSFrom = "+15005550001"
				c.Worker.SendRetryBase = 500 * time.Millisecond
				c.Worker.SendRetries = 12
				c.Timeouts.Queue = 0
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := with(tc.env, map[string]string{
				"PARLEY_CONFIG":         path,
				"TWILIO_AUTH_TOKEN":     testAuthToken,
				"PARLEY_ADMIN_PASSWORD": "correct-horse",
			})
			got, err := config.Load(env(e))
			if err != nil {
				t.Fatalf("Load: unexpected error %v", err)
			}
			want := fromFile
			tc.apply(&want)
			checkSettings(t, want, got)
		})
	}
}

func TestLoadYAMLPartialKeepsDefaults(t *testing.T) {
	path := writeYAML(t, "log:\n  format: pretty\n")
	got, err := config.Load(env(map[string]string{"PARLEY_CONFIG": path}))
	if err != nil {
		t.Fatalf("Load: unexpected error %v", err)
	}
	want := config.Default()
	want.Log.Format = "pretty"
	checkSettings(t, want, got)
}

func TestLoadYAMLEmptyFile(t *testing.T) {
	path := writeYAML(t, "")
	got, err := config.Load(env(map[string]string{"PARLEY_CONFIG": path}))
	if err != nil {
		t.Fatalf("Load(empty file): unexpected error %v", err)
	}
	checkSettings(t, config.Default(), got)
}

func TestLoadYAMLRejected(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		wantInErr string
		secret    string
	}{
		{
			name:      "twilio auth_token in file",
			yaml:      "twilio:\n  account_sid: " + testAccountSID + "\n  auth_token: " + testAuthToken + "\n",
			wantInErr: "auth_token",
			secret:    testAuthToken,
		},
		{
			name:      "admin password in file",
			yaml:      "admin:\n  user: ops\n  password: correct-horse-battery\n",
			wantInErr: "password",
			secret:    "correct-horse-battery",
		},
		{
			name:      "misspelt key",
			yaml:      "listne: 0.0.0.0:9090\n",
			wantInErr: "listne",
		},
		{
			name:      "bad duration",
			yaml:      "worker:\n  send_retry_base: soon\n",
			wantInErr: "soon",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeYAML(t, tc.yaml)
			_, err := config.Load(env(map[string]string{"PARLEY_CONFIG": path}))
			if err == nil {
				t.Fatalf("Load: got no error, want one mentioning %q", tc.wantInErr)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "PARLEY_CONFIG") {
				t.Errorf("error %q does not start with PARLEY_CONFIG", msg)
			}
			if !strings.Contains(msg, tc.wantInErr) {
				t.Errorf("error %q does not mention %q", msg, tc.wantInErr)
			}
			if tc.secret != "" && strings.Contains(msg, tc.secret) {
				t.Errorf("error %q contains the secret value", msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := config.Load(env(map[string]string{"PARLEY_CONFIG": path}))
	if err == nil || !strings.HasPrefix(err.Error(), "PARLEY_CONFIG: ") {
		t.Errorf("Load(missing file) error = %v, want one starting with %q", err, "PARLEY_CONFIG: ")
	}
}

func TestLoadInvalid(t *testing.T) {
	tw := twilioEnv()
	tests := []struct {
		name    string
		env     map[string]string
		wantKey string
	}{
		{"redis URL with http scheme", map[string]string{"PARLEY_REDIS_URL": "http://x"}, "PARLEY_REDIS_URL"},
		{"redis URL without host", map[string]string{"PARLEY_REDIS_URL": "redis://"}, "PARLEY_REDIS_URL"},
		{"public URL not a URL", map[string]string{"PARLEY_PUBLIC_URL": "not a url"}, "PARLEY_PUBLIC_URL"},
		{"public URL ftp", map[string]string{"PARLEY_PUBLIC_URL": "ftp://parley.example.test"}, "PARLEY_PUBLIC_URL"},
		{"max body too small", map[string]string{"PARLEY_MAX_BODY_BYTES": "100"}, "PARLEY_MAX_BODY_BYTES"},
		{"max body not a number", map[string]string{"PARLEY_MAX_BODY_BYTES": "64k"}, "PARLEY_MAX_BODY_BYTES"},
		{"log format xml", map[string]string{"PARLEY_LOG_FORMAT": "xml"}, "PARLEY_LOG_FORMAT"},
		{"log level trace", map[string]string{"PARLEY_LOG_LEVEL": "trace"}, "PARLEY_LOG_LEVEL"},
		{"account SID without auth token", map[string]string{"TWILIO_ACCOUNT_SID": testAccountSID, "PARLEY_PUBLIC_URL": "https://parley.example.test", "PARLEY_WHATSAPP_FROM": "whatsapp:+14155238886"}, "TWILIO_AUTH_TOKEN"},
		{"auth token without account SID", map[string]string{"TWILIO_AUTH_TOKEN": testAuthToken, "PARLEY_PUBLIC_URL": "https://parley.example.test", "PARLEY_WHATSAPP_FROM": "whatsapp:+14155238886"}, "TWILIO_ACCOUNT_SID"},
		{"account SID not starting with AC", with(tw, map[string]string{"TWILIO_ACCOUNT_SID": "SK0123456789abcdef0123456789abcdef"}), "TWILIO_ACCOUNT_SID"},
		{"account SID too short", with(tw, map[string]string{"TWILIO_ACCOUNT_SID": "AC0123456789abcdef"}), "TWILIO_ACCOUNT_SID"},
		{"account SID too long", with(tw, map[string]string{"TWILIO_ACCOUNT_SID": testAccountSID + "0"}), "TWILIO_ACCOUNT_SID"},
		{"credentials without public URL", with(tw, map[string]string{"PARLEY_PUBLIC_URL": ""}), "PARLEY_PUBLIC_URL"},
		{"credentials without any sender", with(tw, map[string]string{"PARLEY_WHATSAPP_FROM": ""}), "PARLEY_WHATSAPP_FROM"},
		{"whatsapp sender without prefix", with(tw, map[string]string{"PARLEY_WHATSAPP_FROM": "+14155238886"}), "PARLEY_WHATSAPP_FROM"},
		{"messaging service that is not MG...", with(tw, map[string]string{"PARLEY_TWILIO_MESSAGING_SERVICE_SID": "PN123"}), "PARLEY_TWILIO_MESSAGING_SERVICE_SID"},
		{"sms sender is a whatsapp address", with(tw, map[string]string{"PARLEY_SMS_FROM": "whatsapp:+15005550006"}), "PARLEY_SMS_FROM"},
		{"API URL without credentials", map[string]string{"PARLEY_TWILIO_API_URL": "http://127.0.0.1:4010"}, "PARLEY_TWILIO_API_URL"},
		{"API URL not http", with(tw, map[string]string{"PARLEY_TWILIO_API_URL": "ftp://127.0.0.1:4010"}), "PARLEY_TWILIO_API_URL"},
		{"API URL relative", with(tw, map[string]string{"PARLEY_TWILIO_API_URL": "/twilio"}), "PARLEY_TWILIO_API_URL"},
		{"trusted proxy not an address", map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, "PARLEY_TRUSTED_PROXIES"},
		{"dev phone not a boolean", map[string]string{"PARLEY_DEV_PHONE": "yes please"}, "PARLEY_DEV_PHONE"},
		{"dev phone with a Twilio account", with(tw, map[string]string{"PARLEY_DEV_PHONE": "1"}), "PARLEY_DEV_PHONE"},
		{"concurrency zero", map[string]string{"PARLEY_WORKER_CONCURRENCY": "0"}, "PARLEY_WORKER_CONCURRENCY"},
		{"concurrency not a number", map[string]string{"PARLEY_WORKER_CONCURRENCY": "many"}, "PARLEY_WORKER_CONCURRENCY"},
		{"send retries negative", map[string]string{"PARLEY_SEND_RETRIES": "-1"}, "PARLEY_SEND_RETRIES"},
		{"send retry base soon", map[string]string{"PARLEY_SEND_RETRY_BASE": "soon"}, "PARLEY_SEND_RETRY_BASE"},
		{"send retry base bare number", map[string]string{"PARLEY_SEND_RETRY_BASE": "5"}, "PARLEY_SEND_RETRY_BASE"},
		{"send retry base zero", map[string]string{"PARLEY_SEND_RETRY_BASE": "0s"}, "PARLEY_SEND_RETRY_BASE"},
		{"reconcile below a second", map[string]string{"PARLEY_RECONCILE_EVERY": "500ms"}, "PARLEY_RECONCILE_EVERY"},
		{"templates sync below a second", map[string]string{"PARLEY_TEMPLATES_SYNC": "10ms"}, "PARLEY_TEMPLATES_SYNC"},
		{"queue timeout not a duration", map[string]string{"PARLEY_QUEUE_TIMEOUT": "5"}, "PARLEY_QUEUE_TIMEOUT"},
		{"queue timeout negative", map[string]string{"PARLEY_QUEUE_TIMEOUT": "-1s"}, "PARLEY_QUEUE_TIMEOUT"},
		{"inactivity timeout below a second", map[string]string{"PARLEY_INACTIVITY_TIMEOUT": "0s"}, "PARLEY_INACTIVITY_TIMEOUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.env))
			if err == nil {
				t.Fatalf("Load: got no error, want one starting with %q", tc.wantKey+": ")
			}
			if !strings.HasPrefix(err.Error(), tc.wantKey+": ") {
				t.Errorf("error = %q, want it to start with %q", err.Error(), tc.wantKey+": ")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q spans lines, want one line", err.Error())
			}
		})
	}
}

func TestLoadInvalidFromYAML(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantKey string
	}{
		{"empty listen", "listen: \"\"\n", "PARLEY_LISTEN"},
		{"empty admin user", "admin:\n  user: \"\"\n", "PARLEY_ADMIN_USER"},
		{"api_url without credentials", "twilio:\n  api_url: http://127.0.0.1:4010\n", "PARLEY_TWILIO_API_URL"},
		{"a transcript link text without its link", "transcript:\n  link: \"Your copy is ready\"\n", "transcript"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeYAML(t, tc.yaml)
			_, err := config.Load(env(map[string]string{"PARLEY_CONFIG": path}))
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantKey+": ") {
				t.Errorf("Load error = %v, want one starting with %q", err, tc.wantKey+": ")
			}
		})
	}
}

// TestRedisURLPasswordNotInError checks that a rejected Redis URL is never
// echoed with its password, whatever shape the mistake takes.
func TestRedisURLPasswordNotInError(t *testing.T) {
	const password = "hunter2Secret"
	tests := []struct {
		name string
		url  string
	}{
		{"wrong scheme", "http://parley:" + password + "@redis.internal:6379/0"},
		{"wrong scheme, password only", "https://:" + password + "@redis.internal:6379"},
		{"bad port", "redis://parley:" + password + "@redis.internal:port/0"},
		{"missing scheme", "parley:" + password + "@redis.internal:6379"},
		{"missing scheme, password only", ":" + password + "@redis.internal:6379"},
		{"one slash", "redis:/parley:" + password + "@redis.internal:6379"},
		{"no colon after scheme", "redis//parley:" + password + "@redis.internal:6379"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(map[string]string{"PARLEY_REDIS_URL": tc.url}))
			if err == nil {
				t.Fatalf("Load(PARLEY_REDIS_URL=%q): got no error, want one", tc.url)
			}
			if !strings.HasPrefix(err.Error(), "PARLEY_REDIS_URL: ") {
				t.Errorf("error = %q, want it to start with %q", err.Error(), "PARLEY_REDIS_URL: ")
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error = %q contains the password", err.Error())
			}
		})
	}
}

// TestValidateDefault checks that Default is itself valid, so Validate on a
// hand-built config starts from a working base.
func TestValidateDefault(t *testing.T) {
	def := config.Default()
	if err := def.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
	c := config.Default()
	c.Listen = ""
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "PARLEY_LISTEN: ") {
		t.Errorf("Validate with empty Listen = %v, want a PARLEY_LISTEN error", err)
	}
}

func TestRedisModes(t *testing.T) {
	ok := []struct{ mode, url, addr string }{
		{"server", "redis://127.0.0.1:6390/3", "127.0.0.1:6390"},
		{"sentinel", "redis://:pw@127.0.0.1:26379/2?master_name=parley&addr=127.0.0.1:26380", `sentinel master "parley" via [127.0.0.1:26379 127.0.0.1:26380]`},
		{"cluster", "redis://127.0.0.1:7001?addr=127.0.0.1:7002&addr=127.0.0.1:7003", "cluster [127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003]"},
	}
	for _, tc := range ok {
		c, err := config.Load(env(map[string]string{"PARLEY_REDIS_MODE": tc.mode, "PARLEY_REDIS_URL": tc.url}))
		if err != nil {
			t.Fatalf("%s %s: %v", tc.mode, tc.url, err)
		}
		target, err := config.ParseRedis(c.RedisMode, c.RedisURL)
		if err != nil || target.Addr() != tc.addr {
			t.Errorf("ParseRedis(%s, %s) = %q, %v; want %q", tc.mode, tc.url, target.Addr(), err, tc.addr)
		}
	}
	bad := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown mode", map[string]string{"PARLEY_REDIS_MODE": "ring", "PARLEY_REDIS_URL": "redis://127.0.0.1:6379"}, "PARLEY_REDIS_MODE: "},
		{"sentinel without master", map[string]string{"PARLEY_REDIS_MODE": "sentinel", "PARLEY_REDIS_URL": "redis://127.0.0.1:26379"}, "PARLEY_REDIS_URL: "},
		{"cluster with unknown option", map[string]string{"PARLEY_REDIS_MODE": "cluster", "PARLEY_REDIS_URL": "redis://127.0.0.1:7001?nodes=3"}, "PARLEY_REDIS_URL: "},
		{"cluster without URL (embedded)", map[string]string{"PARLEY_REDIS_MODE": "cluster"}, "PARLEY_REDIS_MODE: "},
	}
	for _, tc := range bad {
		_, err := config.Load(env(tc.env))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: Load = %v, want an error starting %q", tc.name, err, tc.want)
		}
	}
}
