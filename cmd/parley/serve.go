package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
	"github.com/parleydesk/parley/desk/users"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynq/x/metrics"
	"github.com/hibiken/asynqmon"
	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/gateway"
	"github.com/parleydesk/parley/worker"
)

type role int

const (
	roleGateway role = 1 << iota
	roleWorker
)

// sandboxAccountSID is the account the development phone signs as.
const sandboxAccountSID = "AC00000000000000000000000000000000"

// core is what every command shares: configuration, logger, Redis and the
// desk service.
type core struct {
	cfg      config.Config
	log      zerolog.Logger
	embedded *embeddedRedis
	redis    config.RedisTarget
	rdb      redis.UniversalClient
	queue    *asynq.Client
	dispatch *worker.Dispatcher
	sandbox  *channels.Sandbox
	svc      *desk.Service
	// authToken verifies webhooks: Twilio's, or a random one in sandbox mode.
	authToken  string
	accountSID string
	// settingsVersion is the version of the engine settings loaded at start.
	settingsVersion int64
}

func newLogger(cfg config.Log, w io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(cfg.Level)
	pretty := cfg.Format == "pretty"
	if cfg.Format == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			pretty = true
		}
	}
	if pretty {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func openCore(ctx context.Context, getenv func(string) string, stderr io.Writer, roles role) (*core, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	c := &core{cfg: cfg, log: newLogger(cfg.Log, stderr)}
	if cfg.RedisURL == "" {
		if roles != roleGateway|roleWorker {
			return nil, errors.New("PARLEY_REDIS_URL: required for a separate gateway or worker, which must share one Redis")
		}
		if c.embedded, err = startEmbeddedRedis(); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		c.log.Warn().Str("addr", c.embedded.mini.Addr()).
			Msg("EMBEDDED IN-MEMORY REDIS: every conversation, message and job is lost when Parley stops. Set PARLEY_REDIS_URL for real use.")
		cfg.RedisURL = c.embedded.URL()
	}
	if c.redis, err = config.ParseRedis(cfg.RedisMode, cfg.RedisURL); err != nil {
		c.close()
		return nil, err
	}
	c.rdb = c.redis.Open()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.rdb.Ping(pingCtx).Err(); err != nil {
		c.close()
		return nil, fmt.Errorf("redis (%s) does not answer: %w", c.redis.Addr(), err)
	}

	var provider channels.Provider
	var content desk.ContentAPI // Twilio's Content API; none in sandbox mode
	if cfg.Twilio.Sandbox() {
		c.sandbox = channels.NewSandbox(c.rdb, store.KeyPrefix)
		provider = c.sandbox
		c.authToken, c.accountSID = randomHex(16), sandboxAccountSID
		c.log.Warn().Msg("no Twilio account configured: sandbox mode, outbound messages stay inside Parley (see /dev/phone)")
	} else {
		c.authToken, c.accountSID = cfg.Twilio.AuthToken, cfg.Twilio.AccountSID
		tw, err := channels.NewTwilio(channels.TwilioConfig{
			AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken, APIURL: cfg.Twilio.APIURL,
			WhatsAppFrom: cfg.Twilio.WhatsAppFrom, SMSFrom: cfg.Twilio.SMSFrom,
			StatusCallback: publicURLOf(cfg) + "/webhooks/twilio/status",
		})
		if err != nil {
			c.close()
			return nil, err
		}
		provider, content = tw, tw
	}
	// Customers' media is fetched with the account's credentials (none in
	// sandbox mode), through the same API URL as every Twilio call.
	fetcher, err := channels.NewMediaFetcher(channels.MediaFetchConfig{
		AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken, APIURL: cfg.Twilio.APIURL,
	})
	if err != nil {
		c.close()
		return nil, err
	}
	c.queue = asynq.NewClientFromRedisClient(c.rdb)
	c.dispatch = worker.NewDispatcher(c.queue)
	c.cfg = cfg
	secret := cfg.MediaSecret
	if secret == "" {
		// Good for one gateway; several must share PARLEY_MEDIA_SECRET.
		secret = randomHex(32)
	}
	c.svc = desk.NewService(desk.Options{
		Store: store.New(c.rdb, store.KeyPrefix), Dispatcher: c.dispatch, Provider: provider,
		Rules: &c.cfg.Engine, Now: time.Now, Log: c.log, Media: media.NewSigner([]byte(secret), publicURLOf(cfg)),
		BotSecrets:  botSecrets(cfg),
		Sends:       desk.SendPolicy{Retries: cfg.Worker.SendRetries, RetryBase: cfg.Worker.SendRetryBase},
		MediaSource: fetcher, DeleteSourceMedia: cfg.Twilio.DeleteMedia && !cfg.Twilio.Sandbox(),
		Content: content,
	})
	if c.settingsVersion, err = c.svc.LoadSettings(ctx); err != nil {
		c.close()
		return nil, fmt.Errorf("load settings: %w", err)
	}
	return c, nil
}

// demoUsers are created in embedded mode only, so that a person trying
// Parley can sign in at once.
var demoUsers = []users.Spec{
	{ID: "ann", Name: "Ann Agent", Role: "agent"},
	{ID: "bob", Name: "Bob Agent", Role: "agent"},
	{ID: "sue", Name: "Sue Supervisor", Role: "supervisor"},
	{ID: "ada", Name: "Ada Admin", Role: "admin"},
}

func (c *core) createDemoUsers(ctx context.Context, stdout io.Writer) error {
	fmt.Fprintln(stdout, "Demo users for the desk (embedded mode only; passwords are new each start):")
	for _, u := range demoUsers {
		password := randomHex(8)
		if err := c.svc.SaveUser(ctx, u, password); err != nil {
			return fmt.Errorf("demo user %s: %w", u.ID, err)
		}
		fmt.Fprintf(stdout, "  %-4s %-10s password %s\n", u.ID, u.Role, password)
	}
	return nil
}

func (c *core) close() {
	if c.queue != nil {
		c.queue.Close()
	}
	if c.rdb != nil {
		c.rdb.Close()
	}
	if c.embedded != nil {
		c.embedded.Close()
	}
}

// botSecrets maps each configured bot to its secrets, read from the
// environment by config.Load.
func botSecrets(cfg config.Config) map[string][]string {
	out := map[string][]string{}
	for _, b := range cfg.Bots {
		out[b.ID] = b.Secrets
	}
	return out
}

// publicURLOf is the base URL Twilio and browsers reach Parley at.
func publicURLOf(cfg config.Config) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	return "http://" + cfg.Listen
}

// sharedRedis hands asynqmon the client Parley already has.
type sharedRedis struct{ c redis.UniversalClient }

func (s sharedRedis) MakeRedisClient() any { return s.c }

// serve runs the gateway, the worker, or both, until ctx ends; then it stops
// taking webhooks, drains jobs, and closes Redis, in that order.
func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, roles role) error {
	c, err := openCore(ctx, getenv, stderr, roles)
	if err != nil {
		return err
	}
	defer c.close()
	// The configured agents, at start-up only: a command such as `parley
	// agent` must not rewrite them.
	if err := c.svc.SeedAgents(ctx, c.cfg.Agents); err != nil {
		return err
	}
	// Settings an admin changes through another process apply here too.
	go c.svc.WatchSettings(ctx, 2*time.Second, c.settingsVersion)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var w *worker.Worker
	if roles&roleWorker != 0 {
		w = worker.New(worker.Deps{
			Config: c.cfg.Worker, Redis: c.redis, Service: c.svc,
			Metrics: worker.NewMetrics(reg), Log: c.log.With().Str("part", "worker").Logger(), Now: time.Now,
		})
		if err := w.Run(c.cfg.Worker.ReconcileEvery); err != nil {
			return err
		}
		defer w.Close()
	}
	if roles&roleGateway == 0 {
		c.log.Info().Msg("worker running")
		<-ctx.Done()
		c.log.Info().Msg("shutting down")
		return nil
	}

	admin := gateway.Credentials{User: c.cfg.Admin.User, Password: c.cfg.Admin.Password}
	if admin.Password == "" {
		admin.Password = randomHex(12)
		fmt.Fprintf(stdout, "Operator login for /monitoring and /metrics: %s / %s (generated; set PARLEY_ADMIN_PASSWORD to choose one)\n", admin.User, admin.Password)
	}
	if c.embedded != nil {
		if err := c.createDemoUsers(ctx, stdout); err != nil {
			return err
		}
	}
	inspector := asynq.NewInspectorFromRedisClient(c.rdb)
	reg.MustRegister(metrics.NewQueueMetricsCollector(inspector))
	publicURL := publicURLOf(c.cfg)
	verifier := channels.NewVerifier(publicURL, c.authToken)
	deps := gateway.Deps{
		Service: c.svc, Redis: c.rdb, Verifier: verifier, AccountSID: c.accountSID,
		MaxBodyBytes: c.cfg.MaxBodyBytes, Admin: admin, Registry: reg,
		Monitoring: asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: sharedRedis{c.rdb}}),
		Log:        c.log.With().Str("part", "gateway").Logger(),
		KeyPrefix:  store.KeyPrefix, SecureCookies: strings.HasPrefix(publicURL, "https://"),
		TrustedProxies: c.cfg.TrustedProxies,
	}
	// The phone writes as any number with no sign-in: it is for a person
	// trying Parley (embedded Redis) or a developer who asks for it, and
	// config refuses it with a Twilio account.
	if c.sandbox != nil && (c.embedded != nil || c.cfg.DevPhone) {
		deps.Phone = gateway.NewPhone(c.authToken, c.accountSID, c.cfg.Listen, verifier, c.sandbox, c.svc)
		fmt.Fprintf(stdout, "Phone simulator: http://%s/dev/phone\n", c.cfg.Listen)
	}
	if c.embedded != nil {
		fmt.Fprintf(stdout, "Desk: http://%s/desk/ (the demo agents start offline: sign in as ann and choose Online to take the phone's chats)\n", c.cfg.Listen)
		// The embedded Redis listens on a random loopback port; the other
		// commands (user, agent, send) reach it with this while serve runs.
		fmt.Fprintf(stdout, "For parley user/agent/send while this runs: export PARLEY_REDIS_URL=%s\n", c.embedded.URL())
	}
	// One live-update subscription for every desk stream of this process.
	hub := gateway.NewHub(c.rdb, c.svc.Store().Events())
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		if err := hub.Run(context.Background()); err != nil {
			c.log.Error().Err(err).Msg("live-update hub")
		}
	}()
	deps.Hub = hub
	app := gateway.New(deps)
	// Bind before saying "up", so that a port in use stops the process with
	// an error naming it rather than after a line claiming success.
	ln, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (PARLEY_LISTEN): %w", c.cfg.Listen, err)
	}
	listenErr := make(chan error, 1)
	go func() { listenErr <- app.Listener(ln) }()
	c.log.Info().Str("listen", c.cfg.Listen).Str("public_url", publicURL).Bool("worker", w != nil).Msg("parley is up")
	select {
	case err := <-listenErr:
		return fmt.Errorf("listen on %s: %w", c.cfg.Listen, err)
	case <-ctx.Done():
	}
	c.log.Info().Msg("shutting down")
	// The streams end first, so the HTTP shutdown does not wait for them.
	hub.Close()
	<-hubDone
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		c.log.Warn().Err(err).Msg("http shutdown")
	}
	inspector.Close()
	return nil
}

// sendCommand queues one message on a contact's open conversation, through
// the same path an agent's reply takes.
func sendCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "contact address, e.g. whatsapp:+27820000001 or sms:+27820000001")
	body := fs.String("body", "", "text to send")
	contentSID := fs.String("template", "", "WhatsApp template Content SID (instead of -body)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || (*body == "" && *contentSID == "") {
		return errors.New("send: -to and one of -body or -template are required")
	}
	c, err := openCore(ctx, getenv, stderr, roleGateway)
	if err != nil {
		return err
	}
	defer c.close()
	conv, err := c.svc.OpenConversation(ctx, channels.Address(*to))
	if err != nil {
		return fmt.Errorf("send: %s: %w", *to, err)
	}
	r := engine.Reply{Author: "operator", Body: *body}
	if *contentSID != "" {
		r.Template = &channels.Template{ContentSID: *contentSID}
	}
	m, err := c.svc.Send(ctx, conv.ID, r)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	fmt.Fprintln(stdout, m.ID)
	return nil
}
