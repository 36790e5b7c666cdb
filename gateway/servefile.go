package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/desk/media"
)

// serveFile answers a stored file: shown in the browser or downloaded as
// media.Disposition decides, and under a sandbox policy that keeps even a
// shown one from running scripts as Parley. It answers a single byte range
// too, since browsers play video and seek in audio by asking for parts
// (Safari plays no video without it).
func serveFile(c *fiber.Ctx, name, contentType string, data []byte) {
	disposition := media.Disposition(name, contentType)
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, disposition)
	c.Set("Content-Security-Policy", "sandbox")
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	size := len(data)
	switch start, end, ok := byteRange(c.Get(fiber.HeaderRange), size); {
	case !ok:
		_ = c.Send(data)
	case start < 0:
		c.Set(fiber.HeaderContentRange, "bytes */"+strconv.Itoa(size))
		c.Status(http.StatusRequestedRangeNotSatisfiable)
	default:
		c.Set(fiber.HeaderContentRange, "bytes "+strconv.Itoa(start)+"-"+strconv.Itoa(end)+"/"+strconv.Itoa(size))
		_ = c.Status(http.StatusPartialContent).Send(data[start : end+1])
	}
}

// byteRange reads a Range header for one range of a file of size bytes:
// ok false means serve the whole file (no header, another unit, several
// ranges or one that does not parse, all of which a server may ignore);
// start -1 means the range lies past the end (416). end is inclusive.
func byteRange(header string, size int) (start, end int, ok bool) {
	spec, found := strings.CutPrefix(header, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if first == "" { // the last n bytes
		n, err := strconv.Atoi(last)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		if n == 0 || size == 0 {
			return -1, 0, true
		}
		return max(size-n, 0), size - 1, true
	}
	start, err := strconv.Atoi(first)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	end = size - 1
	if last != "" {
		if end, err = strconv.Atoi(last); err != nil || end < start {
			return 0, 0, false
		}
		end = min(end, size-1)
	}
	if start >= size {
		return -1, 0, true
	}
	return start, end, true
}
