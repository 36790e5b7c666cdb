package gateway

import (
	"net/http/pprof"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

// mountProfiler serves Go's profiles of this process under /debug/pprof/,
// for operators only: go tool pprof -http=: with the operator's
// credentials in the URL reads a running gateway's CPU, heap and
// goroutines. A CPU profile or trace must be shorter than the server's
// write timeout (30 s).
func mountProfiler(app *fiber.App, operator fiber.Handler) {
	g := app.Group("/debug/pprof", operator)
	g.Get("/cmdline", adaptor.HTTPHandlerFunc(pprof.Cmdline))
	g.Get("/profile", adaptor.HTTPHandlerFunc(pprof.Profile))
	g.Get("/symbol", adaptor.HTTPHandlerFunc(pprof.Symbol))
	g.Get("/trace", adaptor.HTTPHandlerFunc(pprof.Trace))
	g.Get("/", adaptor.HTTPHandlerFunc(pprof.Index))
	g.Get("/:name", adaptor.HTTPHandlerFunc(pprof.Index)) // heap, goroutine, allocs, block, mutex, threadcreate
}
