package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

const twilioUsage = `usage: parley twilio check [--fix]

check  verifies the Twilio credentials and that the SMS number, the WhatsApp
       sender and the Messaging Service (PARLEY_TWILIO_MESSAGING_SERVICE_SID,
       if set) deliver incoming messages to PARLEY_PUBLIC_URL +
       /webhooks/twilio/messages by POST. With --fix it sets what is wrong.
`

// twilioCommand runs `parley twilio ...`. It needs the Twilio settings
// only, not Redis.
func twilioCommand(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return errors.New(twilioUsage)
	}
	fs := flag.NewFlagSet("twilio check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fix := fs.Bool("fix", false, "set the inbound webhooks that are wrong")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.Twilio.Sandbox() {
		return errors.New("twilio check: no Twilio account configured (set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)")
	}
	tw, err := channels.NewTwilio(channels.TwilioConfig{
		AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken, APIURL: cfg.Twilio.APIURL,
	})
	if err != nil {
		return err
	}
	problems := checkTwilio(tw, cfg, *fix, stdout)
	if problems > 0 {
		hint := "; run parley twilio check --fix to set the webhooks"
		if *fix {
			hint = ""
		}
		return fmt.Errorf("twilio check: %d problem(s)%s", problems, hint)
	}
	fmt.Fprintln(stdout, "Twilio is wired to Parley.")
	return nil
}

// checkTwilio prints one line per finding and returns how many problems
// are left.
func checkTwilio(tw *channels.Twilio, cfg config.Config, fix bool, out io.Writer) int {
	problems := 0
	say := func(verdict, format string, args ...any) {
		fmt.Fprintf(out, "%-6s %s\n", verdict, fmt.Sprintf(format, args...))
	}
	want := channels.Webhook{URL: publicURLOf(cfg) + "/webhooks/twilio/messages", Method: http.MethodPost}
	if !strings.HasPrefix(cfg.PublicURL, "https://") {
		say("warn", "PARLEY_PUBLIC_URL %s is not https: Twilio would send customers' messages unencrypted, and the desk's cookies are not Secure", cfg.PublicURL)
	}

	name, status, err := tw.Account()
	if err != nil {
		say("WRONG", "credentials: Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN: %v", err)
		return problems + 1 // nothing else can be read
	}
	if status != "active" {
		say("WRONG", "account %s (%s) is %s, not active: it cannot send or receive", cfg.Twilio.AccountSID, name, status)
		problems++
	} else {
		say("ok", "credentials: account %s (%s) is active", cfg.Twilio.AccountSID, name)
	}

	check := func(w channels.Wire, err error) {
		if err != nil {
			say("WRONG", "%v", err)
			problems++
			return
		}
		label := w.Kind + " " + w.Name
		if w.DefersToNumbers {
			say("ok", "%s: hands incoming messages to each number's own webhook", label)
			return
		}
		if w.Hook.Matches(want) {
			say("ok", "%s: incoming messages go to %s %s", label, w.Hook.Method, w.Hook.URL)
			return
		}
		now := "nowhere (no URL set)"
		if w.Hook.URL != "" {
			now = strings.TrimSpace(w.Hook.Method + " " + w.Hook.URL)
		}
		if !fix {
			say("WRONG", "%s: incoming messages go to %s, want %s %s", label, now, want.Method, want.URL)
			problems++
			return
		}
		if err := tw.SetWebhook(w, want); err != nil {
			say("WRONG", "%s: incoming messages go to %s; setting %s %s failed: %v", label, now, want.Method, want.URL, err)
			problems++
			return
		}
		say("fixed", "%s: incoming messages went to %s, now to %s %s", label, now, want.Method, want.URL)
	}

	if cfg.Twilio.SMSFrom != "" {
		check(tw.PhoneNumber(cfg.Twilio.SMSFrom))
	}
	if addr := cfg.Twilio.WhatsAppFrom; addr != "" {
		w, err := tw.WhatsAppSender(addr)
		if errors.Is(err, channels.ErrNotOnAccount) {
			// The WhatsApp sandbox's shared number is no sender of the
			// account; its webhook is set in the console only.
			say("warn", "WhatsApp sender %s is not registered on this account (the WhatsApp sandbox?): set its \"When a message comes in\" to %s %s by hand in the Twilio console",
				addr, want.Method, want.URL)
		} else {
			check(w, err)
		}
	}
	if sid := cfg.Twilio.MessagingServiceSID; sid != "" {
		check(tw.MessagingService(sid))
	}
	return problems
}
