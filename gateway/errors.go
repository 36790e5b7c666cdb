package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/channels"
)

// apiError is an error with the HTTP status and the stable code a client sees.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

var (
	errForged        = newError(http.StatusForbidden, "bad_signature", "X-Twilio-Signature does not match this request")
	errWrongAccount  = newError(http.StatusForbidden, "wrong_account", "AccountSid is not this gateway's Twilio account")
	errNotForm       = newError(http.StatusBadRequest, "not_form", "want a body of type application/x-www-form-urlencoded")
	errStoreDown     = newError(http.StatusServiceUnavailable, "unavailable", "storage is unavailable; retry later")
	errNotFound      = newError(http.StatusNotFound, "not_found", "no such resource")
	errTooLarge      = newError(http.StatusRequestEntityTooLarge, "too_large", "request body is over the size limit")
	errInternal      = newError(http.StatusInternalServerError, "internal", "internal error")
	errTemplateOnly  = newError(http.StatusConflict, "template_required", channels.ErrTemplateRequired.Error())
	errContactOptOut = newError(http.StatusConflict, "opted_out", channels.ErrOptedOut.Error())
	errUnreachable   = newError(http.StatusConflict, "unreachable", channels.ErrUnreachable.Error())
)

// errorHandler is the one place where an error becomes a response:
// {"error": "...", "code": "..."} with the status that fits.
func errorHandler(c *fiber.Ctx, err error) error {
	e := toAPIError(err) // requestLog logs the error of a 5xx
	return c.Status(e.status).JSON(fiber.Map{"error": e.message, "code": e.code})
}

func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mf *channels.MalformedError
	if errors.As(err, &mf) {
		return newError(http.StatusBadRequest, "malformed", mf.Error())
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case http.StatusRequestEntityTooLarge:
			return errTooLarge
		case http.StatusNotFound:
			return errNotFound
		}
		return newError(fe.Code, "http_"+strconv.Itoa(fe.Code), fe.Message)
	}
	if e, ok := engineError(err); ok {
		return e
	}
	switch {
	case storeDown(err):
		return errStoreDown
	case errors.Is(err, engine.ErrNotFound):
		return errNotFound
	case errors.Is(err, channels.ErrTemplateRequired):
		return errTemplateOnly
	case errors.Is(err, channels.ErrOptedOut):
		return errContactOptOut
	case errors.Is(err, channels.ErrUnreachable):
		return errUnreachable
	}
	return errInternal
}

// storeDown tells whether err is Redis being out of reach (refused, reset,
// timed out, the pool exhausted or closed) rather than a fault of the
// request or of Parley: the caller is told to retry, as a webhook is.
func storeDown(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded)
}
