package gateway

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/desk/media"
)

// The customer's transcript page: what a transcript link (desk/transcript.go)
// opens. It needs no sign-in: the signed, expiring link is the permission.
// html/template escapes every message; the page runs no script at all.

var transcriptPage = template.Must(template.New("transcript").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>
body{font:16px/1.45 system-ui,sans-serif;max-width:42rem;margin:0 auto;padding:1rem;color:#1d2430}
h1{font-size:1.3rem}.meta{color:#5b6472;font-size:.9rem}
ol{list-style:none;padding:0}li{margin:.6rem 0;padding:.5rem .75rem;border-radius:.6rem;max-width:85%;overflow-wrap:anywhere;white-space:pre-wrap}
li.in{background:#eef1f5}li.out{background:#dcecff;margin-left:auto}
.who{display:block;font-size:.8rem;color:#5b6472;white-space:normal}
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Problem}}<p>{{.Problem}}</p>{{else}}
<p class="meta">Started {{.Started}}{{if .Ended}}, ended {{.Ended}}{{end}} (times in UTC)</p>
<ol>{{range .Messages}}<li class="{{.Class}}"><span class="who">{{.Who}} · {{.At}}</span>{{.Body}}</li>{{end}}</ol>
{{end}}</body></html>`))

type transcriptLine struct{ Class, Who, At, Body string }

type transcriptView struct {
	Title, Problem, Started, Ended string
	Messages                       []transcriptLine
}

const transcriptTime = "2 Jan 2006 15:04"

func (a *api) customerTranscript(c *fiber.Ctx) error {
	view := transcriptView{Title: "Your conversation"}
	status := http.StatusOK
	tr, err := a.svc.TranscriptFor(c.UserContext(), c.Params("id"), c.Query("exp"), c.Query("sig"))
	switch {
	case errors.Is(err, media.ErrLinkExpired):
		status, view.Problem = http.StatusGone, "This link has expired. Write to us again if you need another copy."
	case errors.Is(err, media.ErrBadSignature), errors.Is(err, engine.ErrNotFound):
		status, view.Problem = http.StatusForbidden, "This link is not valid."
	case err != nil:
		return err
	default:
		view.Started = tr.Conversation.CreatedAt.UTC().Format(transcriptTime)
		if tr.Conversation.Closed != nil {
			view.Ended = tr.Conversation.Closed.At.UTC().Format(transcriptTime)
		}
		for _, m := range tr.Messages {
			line := transcriptLine{Class: "out", Who: "Us", At: m.At.UTC().Format(transcriptTime), Body: m.Body}
			if m.Direction == engine.DirIn {
				line.Class, line.Who = "in", "You"
			}
			if line.Body == "" {
				line.Body = "(an attachment, a location or a template)"
			}
			view.Messages = append(view.Messages, line)
		}
	}
	var buf bytes.Buffer
	if err := transcriptPage.Execute(&buf, view); err != nil {
		return err
	}
	// No script, no frames, no outside requests; its own inline styles only.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}
