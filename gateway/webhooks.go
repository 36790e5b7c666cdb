package gateway

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
)

// emptyTwiML answers a messaging webhook: Parley never replies in TwiML; all
// replies leave through the REST API as send jobs.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// webhooks handles Twilio's calls.
type webhooks struct {
	svc        *desk.Service
	verifier   *channels.Verifier
	accountSID string
	counter    *prometheus.CounterVec
	log        zerolog.Logger
}

// verified reads the form of a Twilio webhook and checks its signature and
// account. Any failure is the caller's: 400 or 403, nothing stored.
func (w *webhooks) verified(c *fiber.Ctx) (map[string]string, error) {
	if !strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationForm) {
		return nil, errNotForm
	}
	params := make(map[string]string, 24)
	c.Request().PostArgs().VisitAll(func(k, v []byte) { params[string(k)] = string(v) })
	if !w.verifier.Valid(c.OriginalURL(), params, c.Get("X-Twilio-Signature")) {
		return nil, errForged
	}
	if params["AccountSid"] != w.accountSID {
		return nil, errWrongAccount
	}
	return params, nil
}

// count records one webhook's outcome, labelled by kind and channel.
func (w *webhooks) count(kind, channel, outcome string) {
	w.counter.WithLabelValues(kind, channel, outcome).Inc()
}

func outcomeOf(err error) string {
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.status == 403:
		return "forged"
	case errors.As(err, &ae) && ae.status == 400:
		return "malformed"
	}
	return "error"
}

func channelOf(from string) string {
	if strings.HasPrefix(from, "whatsapp:") {
		return string(channels.WhatsApp)
	}
	return string(channels.SMS)
}

// message is POST /webhooks/twilio/messages: one inbound SMS or WhatsApp
// message. It answers once the message is stored; replies are jobs.
func (w *webhooks) message(c *fiber.Ctx) error {
	params, err := w.verified(c)
	if err != nil {
		w.count("message", channelOf(string(c.Request().PostArgs().Peek("From"))), outcomeOf(err))
		return err
	}
	in, err := channels.ParseInbound(params)
	if err != nil {
		w.count("message", channelOf(params["From"]), "malformed")
		return err
	}
	r, err := w.svc.Receive(c.UserContext(), in)
	if err != nil {
		w.count("message", string(in.Channel()), "error")
		w.log.Error().Err(err).Str("from", in.From.Masked()).Msg("inbound message not stored")
		return errStoreDown
	}
	outcome := "accepted"
	if r.Duplicate {
		outcome = "duplicate"
	}
	w.count("message", string(in.Channel()), outcome)
	c.Locals("log", func(e *zerolog.Event) {
		e.Str("from", in.From.Masked()).Str("sid", in.MessageSID).Str("outcome", outcome).Str("conversation", r.ConversationID)
	})
	c.Set(fiber.HeaderContentType, "text/xml")
	return c.SendString(emptyTwiML)
}

// status is POST /webhooks/twilio/status: a delivery-status callback.
func (w *webhooks) status(c *fiber.Ctx) error {
	params, err := w.verified(c)
	if err != nil {
		w.count("status", channelOf(string(c.Request().PostArgs().Peek("To"))), outcomeOf(err))
		return err
	}
	u, err := channels.ParseStatus(params)
	if err != nil {
		w.count("status", channelOf(params["To"]), "malformed")
		return err
	}
	u.MessageID = c.Query(channels.CallbackMessageParam)
	outcome, err := w.svc.ApplyStatus(c.UserContext(), u)
	if err != nil {
		w.count("status", channelOf(params["To"]), "error")
		w.log.Error().Err(err).Str("sid", u.MessageSID).Msg("status not stored")
		return errStoreDown
	}
	w.count("status", channelOf(params["To"]), string(outcome))
	c.Locals("log", func(e *zerolog.Event) {
		e.Str("sid", u.MessageSID).Str("status", string(u.Status)).Str("outcome", string(outcome))
	})
	return c.SendStatus(fiber.StatusOK)
}
