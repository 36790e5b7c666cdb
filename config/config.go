// Package config holds Parley's configuration: one value with defaults, filled
// from an optional YAML file and then from the environment, checked as a whole
// before anything starts.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is everything Parley needs to start. Secrets (the Twilio auth token,
// the operator password) carry `yaml:"-"`: they come from the environment only,
// so a config file can be committed or shared without leaking them.
type Config struct {
	Listen   string `yaml:"listen"`
	RedisURL string `yaml:"redis_url"`
	// RedisMode says how RedisURL is read: server, sentinel or cluster.
	RedisMode string `yaml:"redis_mode"`
	PublicURL string `yaml:"public_url"`
	// MaxBodyBytes bounds every request body; Twilio webhooks are a few KB.
	MaxBodyBytes int `yaml:"max_body_bytes"`

	// MediaSecret signs attachment URLs; every gateway needs the same one.
	MediaSecret string `yaml:"-"`
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies
	// whose X-Forwarded-For names the client; with none, the connection's
	// own address is the client's.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// DevPhone serves the phone simulator on a real Redis too (it is always
	// on with the embedded one); never with a Twilio account.
	DevPhone bool `yaml:"dev_phone"`

	Log    Log    `yaml:"log"`
	Twilio Twilio `yaml:"twilio"`
	Admin  Admin  `yaml:"admin"`
	Worker Worker `yaml:"worker"`
	Engine `yaml:",inline"`
}

// Log says how Parley writes its log lines.
type Log struct {
	// Format is json, pretty, or auto (pretty on a terminal, JSON otherwise).
	Format string `yaml:"format"`
	Level  string `yaml:"level"`
}

// Twilio is the provider account. With no account SID and auth token Parley
// runs in sandbox mode: outbound messages stay inside Parley.
type Twilio struct {
	AccountSID string `yaml:"account_sid"`
	AuthToken  string `yaml:"-"`
	// APIURL replaces Twilio's REST base URL (scheme and host), for a test fake.
	APIURL       string `yaml:"api_url"`
	WhatsAppFrom string `yaml:"whatsapp_from"`
	SMSFrom      string `yaml:"sms_from"`
	// MessagingServiceSID names a Messaging Service whose inbound webhook
	// `parley twilio check` verifies too (MG...).
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	// DeleteMedia deletes a customer's media at Twilio once Parley holds
	// its copy.
	DeleteMedia bool `yaml:"delete_media"`
}

// Sandbox reports whether no Twilio account is configured.
func (t Twilio) Sandbox() bool { return t.AccountSID == "" && t.AuthToken == "" }

// Admin guards the operator pages (/monitoring).
type Admin struct {
	User     string `yaml:"user"`
	Password string `yaml:"-"`
}

// Worker tunes the Asynq side.
type Worker struct {
	Concurrency int `yaml:"concurrency"`
	// SendRetries is how many times a transient send failure is retried.
	SendRetries int `yaml:"send_retries"`
	// SendRetryBase is the first retry delay; each next one doubles, up to 5 minutes.
	SendRetryBase time.Duration `yaml:"send_retry_base"`
	// ReconcileEvery is how often due work without a job is re-enqueued.
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// TemplatesSync is how often the templates are read again from
	// Twilio's Content API, so approvals that change show up; 0 is off.
	TemplatesSync time.Duration `yaml:"templates_sync"`
}

// Default returns the configuration Parley runs with when nothing is set.
func Default() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		RedisMode:    RedisServer,
		MaxBodyBytes: 64 << 10,
		Log:          Log{Format: "auto", Level: "info"},
		Admin:        Admin{User: "admin"},
		Engine:       defaultEngine(),
		Worker: Worker{
			Concurrency:    20,
			SendRetries:    8,
			SendRetryBase:  time.Second,
			ReconcileEvery: 5 * time.Second,
			TemplatesSync:  24 * time.Hour,
		},
	}
}

// Load builds the configuration: defaults, then the YAML file named by
// PARLEY_CONFIG (if any), then environment overrides, then validation.
// getenv is os.Getenv in production and a map lookup in tests.
func Load(getenv func(string) string) (Config, error) {
	cfg := Default()
	if path := getenv("PARLEY_CONFIG"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("PARLEY_CONFIG: %w", err)
		}
		if err := decodeYAML(raw, &cfg); err != nil {
			return cfg, fmt.Errorf("PARLEY_CONFIG %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	for i := range cfg.Bots {
		b := &cfg.Bots[i]
		for _, name := range b.SecretEnv {
			secret := getenv(name)
			if len(secret) < 16 {
				return cfg, fmt.Errorf("%s: the secret of bot %q must be set, at least 16 characters", name, b.ID)
			}
			b.Secrets = append(b.Secrets, secret)
		}
	}
	return cfg, cfg.Validate()
}

func decodeYAML(raw []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	// Unknown keys are refused so that a typo (or a secret put in the file)
	// is reported instead of silently ignored.
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// envVar binds one environment name to one field.
type envVar struct {
	name string
	set  func(cfg *Config, v string) error
}

func str(field func(*Config) *string) func(*Config, string) error {
	return func(cfg *Config, v string) error { *field(cfg) = v; return nil }
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(cfg *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want 1 or 0 (true or false), got %q", v)
		}
		*field(cfg) = b
		return nil
	}
}

// list reads a comma-separated list, spaces around items ignored.
func list(field func(*Config) *[]string) func(*Config, string) error {
	return func(cfg *Config, v string) error {
		var out []string
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		*field(cfg) = out
		return nil
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(cfg *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration (like 30s or 5m): %q", v)
		}
		*field(cfg) = d
		return nil
	}
}

func integer(field func(*Config) *int) func(*Config, string) error {
	return func(cfg *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", v)
		}
		*field(cfg) = n
		return nil
	}
}

// envVars lists every environment name Parley reads, in the README's order.
var envVars = []envVar{
	{"PARLEY_LISTEN", str(func(c *Config) *string { return &c.Listen })},
	{"PARLEY_REDIS_URL", str(func(c *Config) *string { return &c.RedisURL })},
	{"PARLEY_REDIS_MODE", str(func(c *Config) *string { return &c.RedisMode })},
	{"PARLEY_PUBLIC_URL", str(func(c *Config) *string { return &c.PublicURL })},
	{"PARLEY_MAX_BODY_BYTES", integer(func(c *Config) *int { return &c.MaxBodyBytes })},
	{"PARLEY_LOG_FORMAT", str(func(c *Config) *string { return &c.Log.Format })},
	{"PARLEY_LOG_LEVEL", str(func(c *Config) *string { return &c.Log.Level })},
	{"TWILIO_ACCOUNT_SID", str(func(c *Config) *string { return &c.Twilio.AccountSID })},
	{"TWILIO_AUTH_TOKEN", str(func(c *Config) *string { return &c.Twilio.AuthToken })},
	{"PARLEY_TWILIO_API_URL", str(func(c *Config) *string { return &c.Twilio.APIURL })},
	{"PARLEY_WHATSAPP_FROM", str(func(c *Config) *string { return &c.Twilio.WhatsAppFrom })},
	{"PARLEY_SMS_FROM", str(func(c *Config) *string { return &c.Twilio.SMSFrom })},
	{"PARLEY_TWILIO_MESSAGING_SERVICE_SID", str(func(c *Config) *string { return &c.Twilio.MessagingServiceSID })},
	{"PARLEY_DELETE_TWILIO_MEDIA", boolean(func(c *Config) *bool { return &c.Twilio.DeleteMedia })},
	{"PARLEY_ADMIN_USER", str(func(c *Config) *string { return &c.Admin.User })},
	{"PARLEY_ADMIN_PASSWORD", str(func(c *Config) *string { return &c.Admin.Password })},
	{"PARLEY_MEDIA_SECRET", str(func(c *Config) *string { return &c.MediaSecret })},
	{"PARLEY_TRUSTED_PROXIES", list(func(c *Config) *[]string { return &c.TrustedProxies })},
	{"PARLEY_DEV_PHONE", boolean(func(c *Config) *bool { return &c.DevPhone })},
	{"PARLEY_WORKER_CONCURRENCY", integer(func(c *Config) *int { return &c.Worker.Concurrency })},
	{"PARLEY_SEND_RETRIES", integer(func(c *Config) *int { return &c.Worker.SendRetries })},
	{"PARLEY_SEND_RETRY_BASE", duration(func(c *Config) *time.Duration { return &c.Worker.SendRetryBase })},
	{"PARLEY_RECONCILE_EVERY", duration(func(c *Config) *time.Duration { return &c.Worker.ReconcileEvery })},
	{"PARLEY_TEMPLATES_SYNC", duration(func(c *Config) *time.Duration { return &c.Worker.TemplatesSync })},
	{"PARLEY_QUEUE_TIMEOUT", duration(func(c *Config) *time.Duration { return &c.Timeouts.Queue })},
	{"PARLEY_AGENT_RESPONSE_TIMEOUT", duration(func(c *Config) *time.Duration { return &c.Timeouts.AgentResponse })},
	{"PARLEY_INACTIVITY_TIMEOUT", duration(func(c *Config) *time.Duration { return &c.Timeouts.Inactivity })},
	{"PARLEY_PENDING_TIMEOUT", duration(func(c *Config) *time.Duration { return &c.Timeouts.Pending })},
	{"PARLEY_TICKET_SESSION_TIMEOUT", duration(func(c *Config) *time.Duration { return &c.Timeouts.TicketSession })},
	{"PARLEY_TICKET_ARCHIVE_AFTER", duration(func(c *Config) *time.Duration { return &c.Timeouts.ArchiveAfter })},
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	for _, ev := range envVars {
		v := getenv(ev.name)
		if v == "" {
			continue
		}
		if err := ev.set(cfg, v); err != nil {
			return fmt.Errorf("%s: %w", ev.name, err)
		}
	}
	return nil
}

// Validate checks each value and the rules that join them. The first problem
// found is returned as one line naming the key. It compiles the business
// hours calendars in place, so it takes a pointer.
func (c *Config) Validate() error {
	if c.Listen == "" {
		return errors.New("PARLEY_LISTEN: must not be empty")
	}
	if c.RedisURL != "" {
		if _, err := ParseRedis(c.RedisMode, c.RedisURL); err != nil {
			return err
		}
	} else if c.RedisMode != RedisServer {
		return fmt.Errorf("PARLEY_REDIS_MODE: %q needs PARLEY_REDIS_URL (the embedded Redis is one server)", c.RedisMode)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("PARLEY_PUBLIC_URL: want an absolute http(s) URL, got %q", c.PublicURL)
		}
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("PARLEY_MAX_BODY_BYTES: must be at least 1024, got %d", c.MaxBodyBytes)
	}
	switch c.Log.Format {
	case "auto", "json", "pretty":
	default:
		return fmt.Errorf("PARLEY_LOG_FORMAT: want auto, json or pretty, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("PARLEY_LOG_LEVEL: want debug, info, warn or error, got %q", c.Log.Level)
	}
	if err := c.Twilio.validate(c.PublicURL); err != nil {
		return err
	}
	if c.MediaSecret != "" && len(c.MediaSecret) < 32 {
		return fmt.Errorf("PARLEY_MEDIA_SECRET: at least 32 characters, got %d", len(c.MediaSecret))
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return fmt.Errorf("PARLEY_TRUSTED_PROXIES: want IP addresses or CIDR ranges, got %q", p)
		}
	}
	if c.DevPhone && !c.Twilio.Sandbox() {
		return errors.New("PARLEY_DEV_PHONE: the phone simulator writes as any number, so it is refused with a Twilio account")
	}
	if c.Admin.User == "" {
		return errors.New("PARLEY_ADMIN_USER: must not be empty")
	}
	if c.Worker.Concurrency < 1 {
		return fmt.Errorf("PARLEY_WORKER_CONCURRENCY: must be at least 1, got %d", c.Worker.Concurrency)
	}
	if c.Worker.SendRetries < 0 {
		return fmt.Errorf("PARLEY_SEND_RETRIES: must not be negative, got %d", c.Worker.SendRetries)
	}
	if c.Worker.SendRetryBase <= 0 {
		return fmt.Errorf("PARLEY_SEND_RETRY_BASE: must be positive, got %s", c.Worker.SendRetryBase)
	}
	if c.Worker.ReconcileEvery < time.Second {
		return fmt.Errorf("PARLEY_RECONCILE_EVERY: must be at least 1s, got %s", c.Worker.ReconcileEvery)
	}
	if c.Worker.TemplatesSync != 0 && c.Worker.TemplatesSync < time.Second {
		return fmt.Errorf("PARLEY_TEMPLATES_SYNC: 0 (off) or at least 1s, got %s", c.Worker.TemplatesSync)
	}
	return c.Engine.Validate()
}

func (t Twilio) validate(publicURL string) error {
	if t.Sandbox() {
		if t.APIURL != "" {
			return errors.New("PARLEY_TWILIO_API_URL: set, but TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not")
		}
		return nil
	}
	switch {
	case t.AccountSID == "":
		return errors.New("TWILIO_ACCOUNT_SID: TWILIO_AUTH_TOKEN is set but the account SID is not")
	case t.AuthToken == "":
		return errors.New("TWILIO_AUTH_TOKEN: TWILIO_ACCOUNT_SID is set but the auth token is not")
	case !strings.HasPrefix(t.AccountSID, "AC") || len(t.AccountSID) != 34:
		return fmt.Errorf("TWILIO_ACCOUNT_SID: want AC followed by 32 characters, got %d characters", len(t.AccountSID))
	case publicURL == "":
		return errors.New("PARLEY_PUBLIC_URL: required with a Twilio account, to check webhook signatures")
	case t.WhatsAppFrom == "" && t.SMSFrom == "":
		return errors.New("PARLEY_WHATSAPP_FROM: set it or PARLEY_SMS_FROM, so Parley has a number to send from")
	}
	if t.WhatsAppFrom != "" && !strings.HasPrefix(t.WhatsAppFrom, "whatsapp:+") {
		return fmt.Errorf("PARLEY_WHATSAPP_FROM: want whatsapp:+<number>, got %q", t.WhatsAppFrom)
	}
	if t.SMSFrom != "" && strings.HasPrefix(t.SMSFrom, "whatsapp:") {
		return errors.New("PARLEY_SMS_FROM: a whatsapp: address is not an SMS sender")
	}
	if m := t.MessagingServiceSID; m != "" && (!strings.HasPrefix(m, "MG") || len(m) != 34) {
		return fmt.Errorf("PARLEY_TWILIO_MESSAGING_SERVICE_SID: want MG followed by 32 characters, got %q", m)
	}
	if t.APIURL != "" {
		u, err := url.Parse(t.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("PARLEY_TWILIO_API_URL: want an absolute http(s) URL, got %q", t.APIURL)
		}
	}
	return nil
}

// redactURL hides the password of a URL so an error line never carries it.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	if u.User == nil && strings.Contains(raw, "@") {
		// Credentials not in the authority (no "//", say) are not parsed as
		// user info, so Redacted would print them as they are.
		return "(hidden: it may contain a password)"
	}
	return u.Redacted()
}
