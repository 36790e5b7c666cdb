package desk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// The bot connector. While a chat is in the bot state, each customer message
// is POSTed to the bot by a job, as a signed JSON event; the bot answers with
// actions in the response body, or later through the callback API. A bot
// that fails (after retries), or whose circuit is open, hands the chat to
// the normal flow, so no customer is left waiting.

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" under the bot's secret>", on events and on callbacks.
const SignatureHeader = "X-Parley-Signature"

// signatureTolerance is how far a signature's time may be from now.
const signatureTolerance = 5 * time.Minute

// Sign makes the signature header value for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// VerifySignature checks a signature header against body at now.
func VerifySignature(secret, header string, body []byte, now time.Time) error {
	var ts int64
	var sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts, _ = strconv.ParseInt(v, 10, 64)
		case "v1":
			sig = v
		}
	}
	if ts == 0 || sig == "" {
		return errors.New("malformed signature header")
	}
	at := time.Unix(ts, 0)
	if now.Sub(at) > signatureTolerance || at.Sub(now) > signatureTolerance {
		return errors.New("signature too old or in the future")
	}
	want := Sign(secret, at, body)
	if !hmac.Equal([]byte(want), []byte(fmt.Sprintf("t=%d,v1=%s", ts, sig))) {
		return errors.New("signature does not match")
	}
	return nil
}

// BotEvent is what a bot receives for each customer message.
type BotEvent struct {
	ID string `json:"id"`
	// Attempt counts Parley's deliveries of this event (0 the first): a
	// retry carries the same id, a new attempt number and a new signature.
	Attempt        int              `json:"attempt"`
	Type           string           `json:"type"`
	Bot            string           `json:"bot"`
	ConversationID string           `json:"conversation_id"`
	Contact        BotContact       `json:"contact"`
	Channel        channels.Channel `json:"channel"`
	Message        Message          `json:"message"`
	// WindowOpen is false when only a template can reach a WhatsApp contact.
	WindowOpen bool      `json:"window_open"`
	History    []Message `json:"history"`
	SentAt     time.Time `json:"sent_at"`
}

// BotContact is the contact as a bot sees it.
type BotContact struct {
	Address channels.Address `json:"address"`
	Name    string           `json:"name,omitempty"`
}

// BotAction is one thing a bot asks Parley to do.
type BotAction struct {
	// Type is text, template, buttons, tags, attributes, handoff or close.
	Type string `json:"type"`
	Body string `json:"body,omitempty"`
	// Template: on WhatsApp outside the 24-hour window, the only send allowed.
	Template *channels.Template `json:"template,omitempty"`
	// Buttons are quick replies; sent as a numbered list after Body.
	Buttons    []string          `json:"buttons,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Department and Note go with a hand-off: where to, and what the agent
	// should know.
	Department string `json:"department,omitempty"`
	Note       string `json:"note,omitempty"`
}

// BotReply is a bot's answer, in a response body or a callback.
type BotReply struct {
	// ID makes a callback unique: a repeated id is refused as a replay.
	ID      string      `json:"id,omitempty"`
	Actions []BotAction `json:"actions"`
}

// historyForBot is how many earlier messages an event carries.
const historyForBot = 20

// ErrBotFailed marks a bot call that failed for good: the chat was handed
// to the normal flow.
var ErrBotFailed = errors.New("bot failed")

type botClient struct {
	secrets map[string]string
	http    *http.Client
}

func newBotClient(secrets map[string]string) *botClient {
	return &botClient{secrets: secrets, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (k keys) botFailures(bot string) string { return k.prefix + "bot:" + bot + ":failures" }
func (k keys) botOpen(bot string) string     { return k.prefix + "bot:" + bot + ":open" }
func (k keys) botNonce(bot, id string) string {
	return k.prefix + "bot:" + bot + ":nonce:" + id
}

// The circuit breaker: botTrip failures within botWindow open a bot's
// circuit for botCooldown, during which new chats skip the bot.
const (
	botTrip     = 5
	botWindow   = time.Minute
	botCooldown = 30 * time.Second
)

func (s *Service) botDown(ctx context.Context, bot string) (bool, error) {
	n, err := s.store.rdb.Exists(ctx, s.store.keys.botOpen(bot)).Result()
	return n > 0, err
}

func (s *Service) botFailed(ctx context.Context, bot string) {
	k := s.store.keys
	n, err := s.store.rdb.Incr(ctx, k.botFailures(bot)).Result()
	if err != nil {
		return
	}
	if n == 1 {
		s.store.rdb.Expire(ctx, k.botFailures(bot), botWindow)
	}
	if n >= botTrip {
		s.store.rdb.Set(ctx, k.botOpen(bot), "1", botCooldown)
		s.store.rdb.Del(ctx, k.botFailures(bot))
		s.log.Warn().Str("bot", bot).Msg("bot circuit open: new chats skip it for a while")
	}
}

// botWake is the due-set member of a bot event, so a lost job is re-enqueued.
func botWake(conv, message string) string { return "bot:" + conv + ":" + message }

// DeliverBotEvent sends one customer message to the bot holding its chat
// and applies the actions it answers with; it is the body of the bot job.
// A failure is returned for the job to retry, unless lastAttempt: then the
// bot's failure is counted and the chat handed to the normal flow.
func (s *Service) DeliverBotEvent(ctx context.Context, convID, messageID string, attempt int, lastAttempt bool) error {
	defer s.store.rdb.ZRem(context.Background(), s.store.keys.due(), botWake(convID, messageID))
	c, err := s.store.Conversation(ctx, convID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.State != StateBot {
		return nil // handed off or closed meanwhile: the bot has no say
	}
	bot := s.Rules().Bot(c.Bot)
	secret := s.bots.secrets[c.Bot]
	if bot == nil || secret == "" {
		return s.botHandOff(ctx, c.Bot, convID, "the bot is no longer configured")
	}
	if down, _ := s.botDown(ctx, bot.ID); down {
		return s.botHandOff(ctx, bot.ID, convID, "the bot is unavailable")
	}
	reply, err := s.callBot(ctx, bot, secret, c, messageID, attempt)
	if err != nil {
		if !lastAttempt {
			return err
		}
		s.botFailed(ctx, bot.ID)
		if herr := s.botHandOff(ctx, bot.ID, convID, "the bot did not answer: "+err.Error()); herr != nil {
			return herr
		}
		return fmt.Errorf("%w: %v", ErrBotFailed, err)
	}
	s.store.rdb.Del(ctx, s.store.keys.botFailures(bot.ID))
	if len(reply.Actions) == 0 {
		return nil // the bot answers later through the callback API
	}
	err = s.BotActions(ctx, bot.ID, convID, reply.Actions)
	if errors.Is(err, ErrWrongState) {
		return nil // someone took the chat meanwhile
	}
	if err != nil && lastAttempt {
		// An answer Parley cannot carry out (an unknown action, a text
		// outside WhatsApp's window) is a failing bot too: hand over.
		s.botFailed(ctx, bot.ID)
		if herr := s.botHandOff(ctx, bot.ID, convID, "the bot's answer was refused: "+err.Error()); herr != nil {
			return herr
		}
		return fmt.Errorf("%w: %v", ErrBotFailed, err)
	}
	return err
}

func (s *Service) callBot(ctx context.Context, bot *config.Bot, secret string, c *Conversation, messageID string, attempt int) (BotReply, error) {
	hist, err := s.store.History(ctx, c.ID)
	if err != nil {
		return BotReply{}, err
	}
	var msg Message
	for _, m := range hist {
		if m.ID == messageID {
			msg = m
		}
	}
	if len(hist) > historyForBot {
		hist = hist[len(hist)-historyForBot:]
	}
	contact, err := s.store.Contact(ctx, c.Contact)
	if err != nil {
		return BotReply{}, err
	}
	now := s.now().UTC()
	ev := BotEvent{
		ID: messageID, Attempt: attempt, Type: "message", Bot: bot.ID, ConversationID: c.ID,
		Contact: BotContact{Address: c.Contact, Name: contact.Name}, Channel: c.Channel, Message: msg,
		WindowOpen: windowOpen(contact, now), History: hist, SentAt: now,
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return BotReply{}, err
	}
	callCtx, cancel := context.WithTimeout(ctx, bot.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, bot.URL, bytes.NewReader(body))
	if err != nil {
		return BotReply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(secret, now, body))
	resp, err := s.bots.http.Do(req)
	if err != nil {
		return BotReply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return BotReply{}, err
	}
	if resp.StatusCode >= 300 {
		return BotReply{}, fmt.Errorf("bot answered %d", resp.StatusCode)
	}
	var reply BotReply
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &reply); err != nil {
			return BotReply{}, fmt.Errorf("bot answer is not JSON: %w", err)
		}
	}
	return reply, nil
}

// botHandOff passes a chat from a failed bot to the normal flow.
func (s *Service) botHandOff(ctx context.Context, bot, convID, why string) error {
	err := s.BotActions(ctx, bot, convID, []BotAction{{Type: "handoff", Note: why}})
	if errors.Is(err, ErrWrongState) {
		return nil
	}
	return err
}

// BotCallback applies actions a bot sent later, through the callback API.
// The body must be signed with the bot's secret, recent, and carry an id
// not seen before.
func (s *Service) BotCallback(ctx context.Context, botID, convID, signature string, body []byte) error {
	secret := s.bots.secrets[botID]
	if secret == "" || s.Rules().Bot(botID) == nil {
		return ErrNotFound
	}
	if err := VerifySignature(secret, signature, body, s.now()); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	var reply BotReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	if reply.ID == "" || len(reply.ID) > 100 {
		return fmt.Errorf("%w: a callback needs an id (up to 100 characters), unique per callback", ErrInvalid)
	}
	fresh, err := s.store.rdb.SetNX(ctx, s.store.keys.botNonce(botID, reply.ID), "1", 2*signatureTolerance).Result()
	if err != nil {
		return err
	}
	if !fresh {
		return fmt.Errorf("%w: callback %s was already received", ErrReplay, reply.ID)
	}
	return s.BotActions(ctx, botID, convID, reply.Actions)
}

var (
	// ErrBadSignature: a bot callback whose signature does not hold.
	ErrBadSignature = errors.New("bad signature")
	// ErrReplay: a bot callback received before.
	ErrReplay = errors.New("replayed callback")
)

// BotActions applies a bot's actions to a chat it holds. Sends follow the
// channel rules (a template outside WhatsApp's window); a bot never writes
// into a chat that a person holds.
func (s *Service) BotActions(ctx context.Context, botID, convID string, actions []BotAction) error {
	if len(actions) > 20 {
		return fmt.Errorf("%w: at most 20 actions", ErrInvalid)
	}
	return s.retry(ctx, func() error {
		w, c, err := s.convWorld(ctx, convID)
		if err != nil {
			return err
		}
		if c.State != StateBot || c.Bot != botID {
			return fmt.Errorf("%w: the bot does not hold this conversation", ErrWrongState)
		}
		for _, a := range actions {
			if a.Type == "handoff" {
				dept := c.Department
				if a.Department != "" {
					dept = a.Department
				}
				if err := s.store.loadDepartment(ctx, w, dept); err != nil {
					return err
				}
			}
		}
		for _, a := range actions {
			if c.State != StateBot {
				break // handed off or closed: the rest is not the bot's to do
			}
			if err := w.botAction(c, a); err != nil {
				return err
			}
		}
		return s.commit(ctx, newTx(), w)
	})
}

func (w *world) botAction(c *Conversation, a BotAction) error {
	author := "bot:" + c.Bot
	switch a.Type {
	case "text":
		_, err := w.reply(c, Reply{Author: author, Body: a.Body})
		return err
	case "template":
		_, err := w.reply(c, Reply{Author: author, Template: a.Template})
		return err
	case "buttons":
		if len(a.Buttons) == 0 || len(a.Buttons) > 10 {
			return fmt.Errorf("%w: buttons: 1 to 10", ErrInvalid)
		}
		var b strings.Builder
		b.WriteString(a.Body)
		for i, label := range a.Buttons {
			fmt.Fprintf(&b, "\n%d. %s", i+1, label)
		}
		_, err := w.reply(c, Reply{Author: author, Body: b.String()})
		return err
	case "tags":
		for _, t := range a.Tags {
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
	case "attributes":
		if c.Attributes == nil {
			c.Attributes = map[string]string{}
		}
		for k, v := range a.Attributes {
			c.Attributes[k] = v
		}
	case "handoff":
		dept := c.Department
		if a.Department != "" {
			dept = a.Department
		}
		note := "Handed over by the bot"
		if a.Note != "" {
			note += ": " + a.Note
		}
		w.note(c, note)
		w.handOff(c, dept)
	case "close":
		w.closeConversation(c, Closure{By: "bot:" + c.Bot, Reason: "closed by the bot"})
	default:
		return fmt.Errorf("%w: unknown action %q", ErrInvalid, a.Type)
	}
	w.emit(EventChanged, c, "")
	return nil
}

// handOff routes a chat from its bot as a new chat would be: to an agent,
// the queue, or the leave-a-message flow.
func (w *world) handOff(c *Conversation, dept string) {
	c.Department = dept
	open := w.rules.HoursOf(dept).Open(w.now)
	ticket := w.conversation(w.contact.Ticket)
	switch {
	case open && w.anyTakesChats(dept) && (w.rules.Timeouts.Queue > 0 || pickAgent(w.deptAgents(dept), dept, nil) != nil):
		c.State = StateQueued
		if !w.route(c, ticket) {
			w.arm(c, TimerQueue, w.now.Add(w.rules.Timeouts.Queue))
			w.queued[dept]++
			w.say(c, w.queuedText(w.queued[dept]))
		}
	default:
		why := w.rules.Texts.OutOfHours
		if open {
			why = w.rules.Texts.NoAgent
		}
		c.State = StateQueued // toTicket takes a chat that nobody could take
		w.toTicket(c, why)
	}
}
