package bots

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/parleydesk/parley/config"
)

// AnswerLimit is how much of a bot's answer is read.
const AnswerLimit = 1 << 20

// Failure is a failed call to a bot, with a reason fit for an agent's
// note: no addresses and no internals. Those stay in Err, for the job's
// error.
type Failure struct {
	Reason string
	Err    error
}

func (e *Failure) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *Failure) Unwrap() error { return e.Err }

// Client posts events to the bots, signed with their secrets.
type Client struct {
	secrets map[string][]string
	http    *http.Client
}

// NewClient makes a client for the bots' secrets by bot id, the current
// one first (they come from the environment, not the settings). Redirects
// are not followed: a bot answers where it is configured, and a 3xx is a
// failed call.
func NewClient(secrets map[string][]string) *Client {
	return &Client{secrets: secrets, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Secrets are a bot's secrets, none for a bot Parley cannot sign for.
func (c *Client) Secrets(bot string) []string { return c.secrets[bot] }

// Post sends ev to bot, signed with each of its secrets, and reads the
// answer, all within the bot's timeout. A call that fails (no answer in
// time, no connection, a status of 300 or more, an answer that is not
// JSON) is a *Failure. An empty body is an empty Reply: the bot answers
// later.
func (c *Client) Post(ctx context.Context, bot *config.Bot, ev Event) (Reply, error) {
	secrets := c.secrets[bot.ID]
	if len(secrets) == 0 {
		return Reply{}, fmt.Errorf("bot %s has no secret", bot.ID)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return Reply{}, err
	}
	callCtx, cancel := context.WithTimeout(ctx, bot.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, bot.URL, bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, signAll(secrets, ev.SentAt, body))
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
			return Reply{}, &Failure{"the bot did not answer in time", err}
		}
		return Reply{}, &Failure{"the bot is unavailable", err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, AnswerLimit))
	if err != nil {
		// Most often the timeout, reached while the answer came in.
		return Reply{}, &Failure{"the bot did not answer in time", err}
	}
	if resp.StatusCode >= 300 {
		return Reply{}, &Failure{fmt.Sprintf("the bot answered with an error (HTTP %d)", resp.StatusCode), errors.New(resp.Status)}
	}
	var reply Reply
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &reply); err != nil {
			return Reply{}, &Failure{"the bot's answer could not be read", err}
		}
	}
	return reply, nil
}
