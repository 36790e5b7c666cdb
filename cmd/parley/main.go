// Command parley runs the Parley chat desk gateway.
//
//	parley [serve]   gateway and worker in one process (the default)
//	parley gateway   HTTP only: webhooks, operator pages
//	parley worker    Asynq jobs only: sends, timers, upkeep
//	parley send      queue a message to a contact's open conversation
//	parley agent     act as an agent (presence, reply, pending, close, accept)
//	parley user      manage desk users (add, passwd, disable)
//	parley twilio    check (and fix) the Twilio account's wiring
//	parley templates sync the WhatsApp templates from Twilio's Content API
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // business hours work on hosts without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: parley [command]

commands:
  serve     run the gateway and the worker in one process (default)
  gateway   run the HTTP gateway only (needs PARLEY_REDIS_URL)
  worker    run the job worker only (needs PARLEY_REDIS_URL)
  send      queue a message: parley send -to whatsapp:+27820000001 -body "Hello"
  agent     act as an agent: presence, reply, pending, close, accept (see parley agent)
  user      manage desk users: add, passwd, disable (see parley user)
  twilio    check [--fix]: verify the Twilio account's inbound webhooks (see parley twilio)
  templates sync: read the WhatsApp templates and their approvals from Twilio
  help      show this text

Configuration comes from the YAML file named by PARLEY_CONFIG and from the
environment; see README.md for every key.
`

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, getenv, stdout, stderr, roleGateway|roleWorker)
	case "gateway":
		err = serve(ctx, getenv, stdout, stderr, roleGateway)
	case "worker":
		err = serve(ctx, getenv, stdout, stderr, roleWorker)
	case "send":
		err = sendCommand(ctx, args, getenv, stdout, stderr)
	case "agent":
		err = agentCommand(ctx, args, getenv, stdout, stderr)
	case "user":
		err = userCommand(ctx, args, getenv, os.Stdin, stdout, stderr)
	case "twilio":
		err = twilioCommand(ctx, args, getenv, stdout, stderr)
	case "templates":
		err = templatesCommand(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	return 0
}
