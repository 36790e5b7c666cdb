package gateway

import (
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
)

// The customer profile and the one-way SMS (desk/customers.go, desk/sms.go).

// customerAddress reads the :address parameter ("whatsapp:+27...",
// "sms:+27..." or "+27...", URL-encoded or not).
func customerAddress(c *fiber.Ctx) (channels.Address, error) {
	raw, err := url.PathUnescape(c.Params("address"))
	if err != nil {
		return "", newError(http.StatusBadRequest, "invalid", "address: not a valid URL path segment")
	}
	return desk.ParseCustomer(raw)
}

func (a *api) customer(c *fiber.Ctx) error {
	addr, err := customerAddress(c)
	if err != nil {
		return err
	}
	p, err := a.svc.CustomerProfile(c.UserContext(), actor(c), addr)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *api) customerNote(c *fiber.Ctx) error {
	addr, err := customerAddress(c)
	if err != nil {
		return err
	}
	var req struct {
		Text *string `json:"text"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Text == nil {
		return newError(http.StatusBadRequest, "invalid", "text: required (an empty text clears the note)")
	}
	note, err := a.svc.SetCustomerNote(c.UserContext(), actor(c), addr, *req.Text)
	if err != nil {
		return err
	}
	return c.JSON(note)
}

// sms sends a one-way SMS and answers the closed chat that records it.
func (a *api) sms(c *fiber.Ctx) error {
	var req desk.OneWaySMS
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	conv, err := a.svc.SendOneWaySMS(c.UserContext(), actor(c), req)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(conv)
}
