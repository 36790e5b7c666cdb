package gateway

import (
	"errors"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/media"
)

// The customer's files: the page uploads one (its bytes as the body, its
// type as Content-Type, its name in ?name=), then sends a message naming
// it, and the webhook carries its URL as Twilio's carry theirs.

// phoneUploadHeader must be on an upload. The body is the file itself, of
// any type, so jsonOnly cannot guard it: a page on another site can send a
// form or text/plain without asking, but not a header of its own, which
// needs a CORS preflight that this server never grants.
const phoneUploadHeader = "X-Parley-Phone"

var errNoUploadHeader = newError(http.StatusForbidden, "cross_site", "refused: an upload must carry the "+phoneUploadHeader+" header its page sends")

func uploadHeaderOnly(c *fiber.Ctx) error {
	if c.Get(phoneUploadHeader) == "" {
		return errNoUploadHeader
	}
	return c.Next()
}

// phoneMaxName bounds an uploaded file's name.
const phoneMaxName = 200

// upload keeps one file the customer is about to send.
func (p *Phone) upload(c *fiber.Ctx) error {
	data := c.Body()
	if len(data) > media.MaxAttachment {
		return errTooLarge
	}
	if len(data) == 0 {
		return badPhone("empty", "body: want the file's bytes")
	}
	name := strings.TrimSpace(filepath.Base(c.Query("name")))
	switch {
	case name == "" || name == "." || name == "/":
		name = "file"
	case len(name) > phoneMaxName || !utf8.ValidString(name):
		return badPhone("bad_name", "name: want a file name of at most 200 bytes of UTF-8")
	}
	contentType := c.Get(fiber.HeaderContentType)
	if contentType == "" || contentType == "application/octet-stream" {
		contentType = http.DetectContentType(data) // Parley and Twilio need a real media type
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return badPhone("bad_type", "Content-Type: not a media type")
	}
	id, err := p.sandbox.KeepUpload(c.UserContext(), name, contentType, data)
	if err != nil {
		return errStoreDown
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{
		"id": id, "name": name, "content_type": contentType, "size": len(data), "url": "/dev/phone/media/" + id,
	})
}

// media serves a file the customer sent to whoever has its URL: Parley's
// desk, and anything that fetches inbound media, as from Twilio.
func (p *Phone) media(c *fiber.Ctx) error {
	up, err := p.sandbox.Upload(c.UserContext(), c.Params("id"))
	if errors.Is(err, channels.ErrNoUpload) {
		return errNotFound
	}
	if err != nil {
		return errStoreDown
	}
	c.Set(fiber.HeaderContentType, up.ContentType)
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(up.Name)+`"`)
	c.Set(fiber.HeaderContentSecurityPolicy, "sandbox")
	return c.Send(up.Data)
}
