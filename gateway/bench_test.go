package gateway

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/valyala/fasthttp"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/worker"
)

// BenchmarkWebhook compares Parley's whole inbound path (signature, parse,
// the engine's decision, one guarded atomic store with dedupe, the Asynq
// enqueues of its replies and wake-up, response) with the floor of the
// design: a bare Fiber handler that parses the form and enqueues one Asynq
// task, on the same Redis. Both are driven through the app's fasthttp
// handler, with no network between, so the ratio is of the work itself.
//
//	PARLEY_TEST_REDIS=127.0.0.1:6379 go test -run '^$' -bench Webhook -benchtime 5s ./gateway/
func BenchmarkWebhook(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		db := redistest.New(b)
		client := asynq.NewClientFromRedisClient(db.Client)
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Post("/webhooks/twilio/messages", func(c *fiber.Ctx) error {
			params := map[string]string{}
			c.Request().PostArgs().VisitAll(func(k, v []byte) { params[string(k)] = string(v) })
			if _, err := client.Enqueue(asynq.NewTask("bench:inbound", []byte(params["MessageSid"]))); err != nil {
				return err
			}
			return c.SendString(emptyTwiML)
		})
		drive(b, app.Handler())
	})
	dispatcher := func(rdb redis.UniversalClient) desk.Dispatcher {
		client := asynq.NewClientFromRedisClient(rdb)
		b.Cleanup(func() { client.Close() })
		return worker.NewDispatcher(client)
	}
	// Nobody online: every message is on a ticket's leave-a-message flow,
	// and each repeats the question (a send job) – the heaviest path.
	b.Run("parley-tickets", func(b *testing.B) {
		g := newGatewayWith(b, false, dispatcher)
		drive(b, g.app.(*fiber.App).Handler())
	})
	// An agent online: each contact's first message opens a live chat and
	// the rest continue it – the everyday path.
	b.Run("parley-live", func(b *testing.B) {
		g := newGatewayWith(b, false, dispatcher)
		if err := g.svc.SeedAgents(context.Background(), []config.Agent{{ID: "ann", Capacity: 1 << 30, Online: true}}); err != nil {
			b.Fatal(err)
		}
		drive(b, g.app.(*fiber.App).Handler())
	})
}

// drive posts signed webhooks from 1,000 contacts, each with a new
// MessageSid, from 16 goroutines per core.
func drive(b *testing.B, h fasthttp.RequestHandler) {
	var seq atomic.Int64
	b.ReportAllocs()
	// Many requests in flight, as under load: throughput, not one round trip's latency.
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			n := seq.Add(1)
			params := map[string]string{
				"MessageSid": fmt.Sprintf("SM%032d", n), "AccountSid": testAccount,
				"From": fmt.Sprintf("whatsapp:+2782%07d", n%1000), "To": "whatsapp:+14155238886",
				"Body": "Hello, I need help with my order", "NumMedia": "0", "ProfileName": "Ann",
			}
			form := url.Values{}
			for k, v := range params {
				form.Set(k, v)
			}
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI("/webhooks/twilio/messages")
			ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
			ctx.Request.Header.Set("X-Twilio-Signature", channels.Sign(testToken, testPublic+"/webhooks/twilio/messages", params))
			ctx.Request.SetBodyString(form.Encode())
			h(&ctx)
			if code := ctx.Response.StatusCode(); code != 200 {
				b.Fatalf("status %d: %s", code, ctx.Response.Body())
			}
		}
	})
}
