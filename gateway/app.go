// Package gateway is Parley's HTTP face: Twilio's webhooks, the operator
// pages (/monitoring, /metrics, health), and the development phone.
package gateway

import (
	"context"
	"crypto/subtle"
	"net/http"
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
	Log   zerolog.Logger
}

// Credentials guard the operator pages.
type Credentials struct{ User, Password string }

// New builds the Fiber app with every route.
func New(d Deps) *fiber.App {
	app := fiber.New(fiber.Config{
		BodyLimit:             d.MaxBodyBytes,
		ErrorHandler:          errorHandler(d.Log),
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
	})
	app.Use(requestLog(d.Log))

	counter := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_webhooks_total", Help: "Twilio webhooks by kind (message, status), channel and outcome.",
	}, []string{"kind", "channel", "outcome"})
	d.Registry.MustRegister(counter)
	wh := &webhooks{svc: d.Service, verifier: d.Verifier, accountSID: d.AccountSID, counter: counter, log: d.Log}
	operator := basicAuth(d.Admin)

	// The route table: every route, and who may call it.
	app.Post("/webhooks/twilio/messages", wh.message) // Twilio, by signature
	app.Post("/webhooks/twilio/status", wh.status)    // Twilio, by signature
	app.Get("/healthz", healthz)                      // anyone: process is up
	app.Get("/readyz", readyz(d.Redis))               // anyone: Redis answers
	app.Get("/metrics", operator, adaptor.HTTPHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	app.All("/monitoring", operator, adaptor.HTTPHandler(d.Monitoring))
	app.All("/monitoring/*", operator, adaptor.HTTPHandler(d.Monitoring))
	if d.Phone != nil { // sandbox mode only
		app.Get("/dev/phone", d.Phone.page)
		app.Post("/dev/phone/send", d.Phone.send)
		app.Get("/dev/phone/messages", d.Phone.messages)
	}
	app.Use(func(*fiber.Ctx) error { return errNotFound })
	return app
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
			ev = log.Error()
		}
		ev = ev.Str("method", c.Method()).Str("path", c.Path()).Int("status", status).Dur("took", time.Since(start))
		if add, ok := c.Locals("log").(func(*zerolog.Event)); ok {
			add(ev)
		}
		ev.Msg("request")
		return err
	}
}
