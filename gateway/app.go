// Package gateway is Parley's HTTP face: Twilio's webhooks, the operator
// pages (/monitoring, /metrics, health), and the development phone.
package gateway

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/basicauth"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/media"
)

// Deps is everything the gateway serves from.
type Deps struct {
	Service    *desk.Service
	Redis      redis.UniversalClient
	Verifier   *channels.Verifier
	AccountSID string
	// MaxBodyBytes bounds every request body (413 beyond).
	MaxBodyBytes int
	Admin        Credentials
	// Monitoring is the Asynq dashboard, served under /monitoring.
	Monitoring http.Handler
	Registry   *prometheus.Registry
	// Phone is the development phone, only in sandbox mode (nil otherwise).
	Phone *Phone
	// KeyPrefix starts the gateway's own Redis keys (sessions, sign-in limits).
	KeyPrefix string
	// SecureCookies marks session cookies HTTPS-only (a https public URL).
	SecureCookies bool
	// Hub fans the live updates out to this process's event streams; the
	// caller runs it and closes it on shutdown (nil: New makes one that the
	// first stream starts).
	Hub *Hub
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (IPs or CIDR ranges); none by default.
	TrustedProxies []string
	Log            zerolog.Logger
}

// Credentials guard the operator pages.
type Credentials struct{ User, Password string }

// New builds the Fiber app with every route.
func New(d Deps) *fiber.App {
	app := fiber.New(fiber.Config{
		// Attachments are the only large bodies; limitBody holds every other
		// route to MaxBodyBytes.
		BodyLimit:             max(d.MaxBodyBytes, media.MaxAttachment+1<<20),
		ErrorHandler:          errorHandler,
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		// c.IP() and c.Hostname() believe forwarding headers from these
		// proxies only; the sign-in limit reads the address with
		// trustedProxies.clientIP, which takes the right-most hop.
		ProxyHeader:             fiber.HeaderXForwardedFor,
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.TrustedProxies,
		EnableIPValidation:      true,
	})
	app.Use(requestLog(d.Log))
	app.Use(securityHeaders)
	app.Use(limitBody(d.MaxBodyBytes))

	counter := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_webhooks_total", Help: "Twilio webhooks by kind (message, status), channel and outcome.",
	}, []string{"kind", "channel", "outcome"})
	d.Registry.MustRegister(counter)
	wh := &webhooks{svc: d.Service, verifier: d.Verifier, accountSID: d.AccountSID, counter: counter, log: d.Log}
	operator := basicAuth(d.Admin)

	// The route table: every route, and who may call it.
	app.Post("/webhooks/twilio/messages", wh.message) // Twilio, by signature
	app.Post("/webhooks/twilio/status", wh.status)    // Twilio, by signature
	mountProfiler(app, operator)                      // operators: /debug/pprof/
	app.Get("/healthz", healthz)                      // anyone: process is up
	app.Get("/readyz", readyz(d.Redis))               // anyone: Redis answers
	app.Get("/metrics", operator, adaptor.HTTPHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	app.All("/monitoring", sameSiteWrites, operator, adaptor.HTTPHandler(d.Monitoring))   // operators; writes from its own pages only
	app.All("/monitoring/*", sameSiteWrites, operator, adaptor.HTTPHandler(d.Monitoring)) //
	if d.Phone != nil {                                                                   // embedded mode, or PARLEY_DEV_PHONE with a sandbox
		app.Get("/dev/phone", d.Phone.page)                                                  // anyone who reaches the port
		app.Get("/dev/phone/phone.js", d.Phone.script)                                       //
		app.Get("/dev/phone/phone.css", d.Phone.style)                                       //
		app.Get("/dev/phone/history", d.Phone.history)                                       // what Parley stored for a number
		app.Get("/dev/phone/media/:id", d.Phone.media)                                       // a file the phone sent, by its random id
		app.Post("/dev/phone/send", sameSiteWrites, jsonOnly, d.Phone.send)                  // its own page, JSON only
		app.Post("/dev/phone/read", sameSiteWrites, jsonOnly, d.Phone.read)                  // its own page, JSON only
		app.Post("/dev/phone/attachments", sameSiteWrites, uploadHeaderOnly, d.Phone.upload) // its own page, with its header; up to 20 MB
	}

	if d.Hub == nil {
		// Started by the first stream, so a gateway that never streams
		// holds no subscription.
		d.Hub = NewHub(d.Redis, d.Service.Store().Events())
		d.Hub.selfRun = true
	}
	a := &api{svc: d.Service, hub: d.Hub, secureCookies: d.SecureCookies, proxies: parseProxies(d.TrustedProxies),
		limit: &signInLimiter{rdb: d.Redis, prefix: d.KeyPrefix, limits: defaultSignInLimits}}
	v1 := app.Group("/api/v1")
	v1.Get("/openapi.yaml", openAPI)                               // anyone
	v1.Post("/session", jsonOnly, a.signIn)                        // anyone, JSON only; failures limited
	v1.Post("/bots/:bot/conversations/:id/actions", a.botCallback) // a bot, by its signature; replays refused
	user := v1.Group("", a.signedIn)                               // below: a signed-in user; CSRF on writes
	user.Delete("/session", a.signOut)                             //
	user.Get("/me", a.me)                                          //
	user.Put("/me/presence", a.presence)                           // own presence only
	user.Get("/counts", a.counts)                                  // own tabs
	user.Get("/conversations", a.list)                             // filtered to what the user may see
	user.Get("/conversations/:id", a.detail)                       // 404 unless visible
	user.Get("/groups", a.groups)                                  // supervisors: a tab per agent
	user.Get("/reports", a.report)                                 // supervisors
	user.Get("/reports/conversations", a.export)                   // supervisors
	conv := user.Group("/conversations/:id", a.visible)            // below: 404 unless visible
	conv.Post("/messages", a.reply)                                // the assignee only (engine)
	conv.Post("/comments", a.comment)                              //
	conv.Post("/accept", a.accept)                                 // unassigned ticket of own department
	conv.Post("/flag", a.flag)                                     // the assignee only
	conv.Post("/pending", a.pending)                               // the assignee only
	conv.Post("/close", a.closeConversation)                       // the assignee only
	conv.Post("/reopen", a.reopen)                                 // a closed chat the user may see
	conv.Post("/transfer", a.transfer)                             // the assignee or a supervisor
	conv.Post("/viewing", a.viewing)                               //
	conv.Post("/attachments", a.attach)                            // the assignee only; up to 20 MB
	conv.Post("/reach-out", a.reachOut)                            // a closed conversation: its agent or a supervisor
	conv.Post("/convert", a.convert)                               // a closed chat: its agent or a supervisor
	conv.Post("/delete", a.trash)                                  // a closed conversation: its agent or a supervisor
	conv.Post("/restore", a.restore)                               // who deleted it, or a supervisor
	conv.Get("/transcript", a.transcript)                          //
	conv.Get("/media/:mid", a.deskMedia)                           // a signed desk URL of this conversation's customer (desk.DeskFile)
	user.Post("/tickets/quick-accept", a.quickAccept)              // own departments
	user.Get("/agents", a.agents)                                  //
	user.Get("/settings", a.settings)                              //
	user.Get("/desk/constants", pageConstants)                     // what the desk page must know: tabs, limits, patterns
	user.Get("/notifications", a.notifications)                    // own
	user.Post("/notifications/read", a.readNotifications)          // own
	user.Get("/events", a.events)                                  // filtered to what the user may see
	user.Get("/customers/:address", a.customer)                    // supervisors any; agents a customer of a conversation they may see
	user.Put("/customers/:address/note", a.customerNote)           // as the profile; audited
	user.Post("/sms", a.sms)                                       // supervisors and admins: a one-way SMS; audited
	admin := user.Group("/admin", a.adminOnly)                     // below: admins only; every change audited
	admin.Get("/settings", a.getSettings)                          //
	admin.Put("/settings", a.putSettings)                          //
	admin.Get("/users", a.users)                                   //
	admin.Post("/users", a.createUser)                             //
	admin.Put("/users/:uid", a.updateUser)                         //
	admin.Post("/users/:uid/password", a.resetPassword)            // ends the user's other sessions
	admin.Post("/users/:uid/disable", a.disableUser)               // ends the user's sessions
	admin.Post("/users/:uid/enable", a.enableUser)                 //
	admin.Get("/audit", a.audit)                                   //
	admin.Post("/templates/sync", a.syncTemplates)                 // reads Twilio's Content API; audited
	app.Get("/media/:id", a.media)                                 // anyone with the signed, expiring URL (Twilio)
	app.Get("/transcripts/:id", a.customerTranscript)              // the customer, with the signed, expiring link
	app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/desk/") })
	app.Get("/desk", func(c *fiber.Ctx) error { // routing is not strict: "/desk/" matches too
		if c.Path() != "/desk" {
			return c.Next()
		}
		return c.Redirect("/desk/")
	})
	app.Use("/desk/", deskAssets())

	app.Use(func(*fiber.Ctx) error { return errNotFound })
	return app
}

// limitBody answers 413 to a body over limit, except on the attachment
// upload, which takes up to media.MaxAttachment.
func limitBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if len(c.Request().Body()) > limit && !strings.HasSuffix(c.Path(), "/attachments") {
			return errTooLarge
		}
		return c.Next()
	}
}

func healthz(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) }

func readyz(rdb redis.UniversalClient) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return errStoreDown
		}
		return c.JSON(fiber.Map{"status": "ready"})
	}
}

func basicAuth(cred Credentials) fiber.Handler {
	return basicauth.New(basicauth.Config{
		Realm: "Parley operator",
		Authorizer: func(user, pass string) bool {
			u := subtle.ConstantTimeCompare([]byte(user), []byte(cred.User))
			p := subtle.ConstantTimeCompare([]byte(pass), []byte(cred.Password))
			return u&p == 1
		},
	})
}

// requestLog writes one line per request. Handlers add their own fields
// (masked numbers, outcome) through the "log" local.
func requestLog(log zerolog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			status = toAPIError(err).status
		}
		ev := log.Info()
		if status >= 500 {
			ev = log.Error().Err(err)
		}
		ev = ev.Str("method", c.Method()).Str("path", c.Path()).Int("status", status).Dur("took", time.Since(start))
		if add, ok := c.Locals("log").(func(*zerolog.Event)); ok {
			add(ev)
		}
		ev.Msg("request")
		return err
	}
}
