package gateway

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/channels"
)

//go:embed phone.html
var phoneHTML []byte

// Phone is the development phone: a page where a person writes as a WhatsApp
// or SMS user. Each message becomes a real, signed webhook posted to this
// gateway's own endpoint, and the replies shown are what the sandbox
// provider received. It exists only in sandbox mode, and with a real Redis
// only when PARLEY_DEV_PHONE asks for it.
type Phone struct {
	authToken  string
	accountSID string
	// webhookURL is where the phone posts (the gateway itself, on loopback);
	// signedURL is the public URL the signature is computed over.
	webhookURL, signedURL string
	// business is the number the customer writes to.
	business string
	sandbox  *channels.Sandbox
	client   *http.Client
}

// NewPhone returns the development phone.
func NewPhone(authToken, accountSID, listenAddr string, verifier *channels.Verifier, sandbox *channels.Sandbox) *Phone {
	const path = "/webhooks/twilio/messages"
	return &Phone{
		authToken: authToken, accountSID: accountSID,
		webhookURL: "http://" + listenAddr + path, signedURL: verifier.URL(path),
		business: "+15550000000", sandbox: sandbox,
		client: &http.Client{Timeout: 10 * time.Second},
	}
}

func (p *Phone) page(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(phoneHTML)
}

type phoneMessage struct {
	Channel string `json:"channel"`
	Number  string `json:"number"`
	Name    string `json:"name"`
	Body    string `json:"body"`
}

func (m phoneMessage) address() (channels.Address, error) {
	if !strings.HasPrefix(m.Number, "+") || len(m.Number) < 8 || len(m.Number) > 16 {
		return "", newError(http.StatusBadRequest, "bad_number", "number: want +<country code><number>")
	}
	if _, err := strconv.ParseUint(m.Number[1:], 10, 64); err != nil {
		return "", newError(http.StatusBadRequest, "bad_number", "number: digits only after the +")
	}
	switch m.Channel {
	case "whatsapp":
		return channels.Address("whatsapp:" + m.Number), nil
	case "sms":
		return channels.Address("sms:" + m.Number), nil
	}
	return "", newError(http.StatusBadRequest, "bad_channel", "channel: want whatsapp or sms")
}

// send posts one signed webhook, as Twilio would, and reports its answer.
func (p *Phone) send(c *fiber.Ctx) error {
	var m phoneMessage
	if err := decodeJSON(c, &m); err != nil {
		return err
	}
	from, err := m.address()
	if err != nil {
		return err
	}
	if strings.TrimSpace(m.Body) == "" {
		return newError(http.StatusBadRequest, "empty", "body: write something")
	}
	var sid [16]byte
	_, _ = rand.Read(sid[:])
	to := channels.Address(string(from.Channel()) + ":" + p.business)
	params := map[string]string{
		"MessageSid": "SM" + hex.EncodeToString(sid[:]), "AccountSid": p.accountSID,
		"From": from.Twilio(), "To": to.Twilio(), "Body": m.Body, "NumMedia": "0", "NumSegments": "1",
	}
	if from.Channel() == channels.WhatsApp {
		params["WaId"] = from.Number()[1:]
		if m.Name != "" {
			params["ProfileName"] = m.Name
		}
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(c.UserContext(), http.MethodPost, p.webhookURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", fiber.MIMEApplicationForm)
	req.Header.Set("X-Twilio-Signature", channels.Sign(p.authToken, p.signedURL, params))
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook: %w", err)
	}
	resp.Body.Close()
	return c.JSON(fiber.Map{"webhook_status": resp.StatusCode, "message_sid": params["MessageSid"]})
}

// messages returns what the sandbox sent to one address, after the first n.
func (p *Phone) messages(c *fiber.Ctx) error {
	from, err := phoneMessage{Channel: c.Query("channel"), Number: c.Query("number")}.address()
	if err != nil {
		return err
	}
	after := c.QueryInt("after", 0)
	if after < 0 {
		return newError(http.StatusBadRequest, "bad_after", "after: must not be negative")
	}
	msgs, err := p.sandbox.Messages(c.UserContext(), from, after)
	if err != nil {
		return errStoreDown
	}
	return c.JSON(fiber.Map{"messages": msgs})
}
