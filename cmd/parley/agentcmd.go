package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/parleydesk/parley/desk/engine"
)

const agentUsage = `usage: parley agent ACTION -id AGENT [flags]

actions:
  presence -presence online|away|offline [-accepting=false]
  reply    -conversation ID -body TEXT
  pending  -conversation ID
  close    -conversation ID -sentiment positive|neutral|negative [-notes TEXT] [-tag TAG]  (a chat or a ticket)
  accept   -conversation ID            (a ticket)
  quick    -n N                        (accept the N oldest tickets)
`

// agentCommand acts as an agent from the command line, through the same
// engine operations the desk uses: for operators and scripted tests.
func agentCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(agentUsage)
	}
	action := args[0]
	fs := flag.NewFlagSet("agent "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "agent id")
	conv := fs.String("conversation", "", "conversation id")
	body := fs.String("body", "", "message text")
	presence := fs.String("presence", "online", "online, away or offline")
	accepting := fs.Bool("accepting", true, "whether the agent accepts chats")
	sentiment := fs.String("sentiment", "neutral", "positive, neutral or negative")
	notes := fs.String("notes", "", "closing notes")
	tag := fs.String("tag", "", "closing tag")
	n := fs.Int("n", 3, "how many tickets to quick-accept")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *id == "" {
		return errors.New("agent: -id is required\n" + agentUsage)
	}
	c, err := openCore(ctx, getenv, stderr, roleGateway)
	if err != nil {
		return err
	}
	defer c.close()
	agent, err := c.svc.Store().Agent(ctx, *id)
	if err != nil {
		return fmt.Errorf("agent %s: %w", *id, err)
	}
	actor := engine.Actor{ID: agent.ID, Role: agent.Role}
	switch action {
	case "presence":
		return c.svc.SetPresence(ctx, actor.ID, engine.Presence(*presence), *accepting)
	case "reply":
		m, err := c.svc.Reply(ctx, actor, *conv, engine.Reply{Body: *body})
		if err == nil {
			fmt.Fprintln(stdout, m.ID)
		}
		return err
	case "pending":
		return c.svc.MarkPending(ctx, actor, *conv)
	case "close":
		return c.svc.Close(ctx, actor, *conv, engine.CloseForm{Sentiment: *sentiment, Notes: *notes, Tag: *tag})
	case "accept":
		return c.svc.AcceptTicket(ctx, actor, *conv)
	case "quick":
		ids, err := c.svc.QuickAccept(ctx, actor, *n)
		for _, id := range ids {
			fmt.Fprintln(stdout, id)
		}
		return err
	}
	return fmt.Errorf("agent: unknown action %q\n%s", action, agentUsage)
}
