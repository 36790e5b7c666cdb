package gateway

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
)

// The page and its files: no inline script or style, so the phone runs
// under the desk's policy (static.go).
var (
	//go:embed phone.html
	phoneHTML []byte
	//go:embed phone.js
	phoneJS []byte
	//go:embed phone.css
	phoneCSS []byte
)

// Phone is the development phone: a page where a person writes as a WhatsApp
// or SMS user. Each message becomes a real, signed webhook posted to this
// gateway's own endpoint, and what the page shows is what Parley stored for
// the number, so a reload or a second browser sees the same conversation.
// It exists only in sandbox mode, and with a real Redis only when
// PARLEY_DEV_PHONE asks for it.
type Phone struct {
	authToken  string
	accountSID string
	// loopback is where the phone posts its webhooks (the gateway itself);
	// verifier gives the public URLs they are signed over, and where the
	// files it sends are fetched from.
	loopback string
	verifier *channels.Verifier
	// business is the number the customer writes to.
	business string
	sandbox  *channels.Sandbox
	svc      *desk.Service
	client   *http.Client
}

// NewPhone returns the development phone.
func NewPhone(authToken, accountSID, listenAddr string, verifier *channels.Verifier, sandbox *channels.Sandbox, svc *desk.Service) *Phone {
	return &Phone{
		authToken: authToken, accountSID: accountSID,
		loopback: "http://" + listenAddr, verifier: verifier,
		business: "+15550000000", sandbox: sandbox, svc: svc,
		client: &http.Client{Timeout: 10 * time.Second},
	}
}

func (p *Phone) page(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(phoneHTML)
}

func (p *Phone) script(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	return c.Send(phoneJS)
}

func (p *Phone) style(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	return c.Send(phoneCSS)
}

// Limits of what the phone sends, as WhatsApp's: a text of up to 4096
// characters, and a shared place's name and address of a line or two.
const (
	phoneMaxBody  = 4096
	phoneMaxPlace = 256
)

type phoneMessage struct {
	Channel string `json:"channel"`
	Number  string `json:"number"`
	Name    string `json:"name"`
	Body    string `json:"body"`
	// Media are ids of files from POST /dev/phone/attachments.
	Media    []string       `json:"media"`
	Location *phoneLocation `json:"location"`
}

// phoneLocation is a shared place; pointers tell a missing coordinate from 0.
type phoneLocation struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Address   string   `json:"address"`
	Label     string   `json:"label"`
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

func badPhone(code, reason string) error { return newError(http.StatusBadRequest, code, reason) }

// check refuses what no phone could send, before anything is posted.
func (m phoneMessage) check(from channels.Address) error {
	hasText := strings.TrimSpace(m.Body) != ""
	switch {
	case !hasText && len(m.Media) == 0 && m.Location == nil:
		return badPhone("empty", "body: write something, or send a file or a location")
	case len(m.Body) > phoneMaxBody:
		return badPhone("too_long", fmt.Sprintf("body: at most %d characters", phoneMaxBody))
	case len(m.Media) > channels.MaxMedia:
		return badPhone("too_many_media", fmt.Sprintf("media: at most %d files", channels.MaxMedia))
	case m.Location == nil:
		return nil
	case from.Channel() != channels.WhatsApp:
		return badPhone("bad_location", "location: only WhatsApp shares a location")
	case hasText || len(m.Media) > 0:
		return badPhone("bad_location", "location: a location is sent on its own, without text or files")
	}
	l := m.Location
	switch {
	case l.Latitude == nil || !(*l.Latitude >= -90 && *l.Latitude <= 90): // written so that NaN fails too
		return badPhone("bad_location", "location.latitude: want a number from -90 to 90")
	case l.Longitude == nil || !(*l.Longitude >= -180 && *l.Longitude <= 180):
		return badPhone("bad_location", "location.longitude: want a number from -180 to 180")
	case len(l.Address) > phoneMaxPlace || len(l.Label) > phoneMaxPlace:
		return badPhone("bad_location", fmt.Sprintf("location: label and address have at most %d characters each", phoneMaxPlace))
	}
	return nil
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
	if err := m.check(from); err != nil {
		return err
	}
	var sid [16]byte
	_, _ = rand.Read(sid[:])
	to := channels.Address(string(from.Channel()) + ":" + p.business)
	params := map[string]string{
		"MessageSid": "SM" + hex.EncodeToString(sid[:]), "AccountSid": p.accountSID,
		"From": from.Twilio(), "To": to.Twilio(), "Body": m.Body, "NumMedia": "0", "NumSegments": "1",
	}
	kind := "text"
	if len(m.Media) > 0 {
		// Twilio names a message with media MM…, and its files by URL.
		params["MessageSid"] = "MM" + hex.EncodeToString(sid[:])
		params["NumMedia"] = strconv.Itoa(len(m.Media))
		for i, id := range m.Media {
			up, err := p.sandbox.Upload(c.UserContext(), id)
			if errors.Is(err, channels.ErrNoUpload) {
				return badPhone("bad_media", "media: "+strconv.Quote(id)+" is not a file sent from this phone")
			}
			if err != nil {
				return errStoreDown
			}
			params["MediaUrl"+strconv.Itoa(i)] = p.verifier.URL("/dev/phone/media/" + id)
			params["MediaContentType"+strconv.Itoa(i)] = up.ContentType
			if i == 0 {
				kind = mediaKind(up.ContentType)
			}
		}
	}
	if l := m.Location; l != nil {
		kind = "location"
		params["Latitude"] = strconv.FormatFloat(*l.Latitude, 'f', -1, 64)
		params["Longitude"] = strconv.FormatFloat(*l.Longitude, 'f', -1, 64)
		if l.Address != "" {
			params["Address"] = l.Address
		}
		if l.Label != "" {
			params["Label"] = l.Label
		}
	}
	if from.Channel() == channels.WhatsApp {
		params["WaId"] = from.Number()[1:]
		params["MessageType"] = kind
		if m.Name != "" {
			params["ProfileName"] = m.Name
		}
	}
	status, err := p.post(c, "/webhooks/twilio/messages", params)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"webhook_status": status, "message_sid": params["MessageSid"]})
}

// mediaKind is WhatsApp's MessageType for a file of a content type.
func mediaKind(contentType string) string {
	for _, k := range []string{"image", "video", "audio"} {
		if strings.HasPrefix(contentType, k+"/") {
			return k
		}
	}
	return "document"
}

// post sends params to one of the gateway's webhooks, signed over its
// public URL as Twilio signs, and returns the answer's status.
func (p *Phone) post(c *fiber.Ctx, pathAndQuery string, params map[string]string) (int, error) {
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(c.UserContext(), http.MethodPost, p.loopback+pathAndQuery, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", fiber.MIMEApplicationForm)
	req.Header.Set("X-Twilio-Signature", channels.Sign(p.authToken, p.verifier.URL(pathAndQuery), params))
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post webhook: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
