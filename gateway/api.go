package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/users"

	"github.com/gofiber/fiber/v2"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk"
	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/media"
	"github.com/parleydesk/parley/desk/reports"
)

// api is the desk's JSON API under /api/v1. The engine enforces what each
// role may do; handlers here check who is asking and what they may see.
type api struct {
	svc           *desk.Service
	hub           *Hub
	secureCookies bool
	proxies       trustedProxies
	limit         *signInLimiter
}

// decodeJSON reads a JSON body; anything else is the caller's 400.
func decodeJSON(c *fiber.Ctx, v any) error {
	if len(c.Body()) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return newError(http.StatusBadRequest, "bad_json", "body: "+err.Error())
	}
	return nil
}

type me struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Role        string          `json:"role"`
	Departments []string        `json:"departments"`
	Presence    engine.Presence `json:"presence"`
	Accepting   bool            `json:"accepting"`
	Capacity    int             `json:"capacity"`
	Load        int             `json:"load"`
	// Paused: routing stopped giving the user chats because they let one
	// time out; setting themself online again resumes it.
	Paused    bool   `json:"paused"`
	CSRFToken string `json:"csrf_token,omitempty"`
}

func meResponse(a *engine.Agent, csrf string) me {
	return me{ID: a.ID, Name: a.Name, Role: a.Role, Departments: a.Departments, Presence: a.Presence,
		Accepting: a.Accepting, Capacity: a.Capacity, Load: a.Load, Paused: a.Paused, CSRFToken: csrf}
}

func (a *api) me(c *fiber.Ctx) error {
	agent, err := a.svc.Store().Agent(c.UserContext(), actor(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(meResponse(agent, currentSession(c).CSRF))
}

func (a *api) presence(c *fiber.Ctx) error {
	var req struct {
		Presence  engine.Presence `json:"presence"`
		Accepting *bool           `json:"accepting"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	accepting := req.Presence == engine.Online
	if req.Accepting != nil {
		accepting = *req.Accepting
	}
	if err := a.svc.SetPresence(c.UserContext(), actor(c).ID, req.Presence, accepting); err != nil {
		return err
	}
	return a.me(c)
}

func (a *api) counts(c *fiber.Ctx) error {
	counts, err := a.svc.Counts(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	_, unread, err := a.svc.Notifications(c.UserContext(), actor(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tabs": counts, "unread_notifications": unread})
}

func parseDate(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return t, newError(http.StatusBadRequest, "invalid", name+": want a date like 2026-03-02")
	}
	return t, nil
}

func (a *api) list(c *fiber.Ctx) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	page, err := a.svc.List(c.UserContext(), actor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// groups counts a tab per agent (supervisors).
func (a *api) groups(c *fiber.Ctx) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	groups, err := a.svc.Groups(c.UserContext(), actor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": groups})
}

// listQuery reads a list's filters from the query string.
func listQuery(c *fiber.Ctx) (desk.ListQuery, error) {
	q := desk.ListQuery{
		Tab: c.Query("tab", desk.TabLive), Text: c.Query("q"), Channel: c.Query("channel"), Tag: c.Query("tag"),
		Sort: c.Query("sort"), Mine: c.QueryBool("mine"), Offset: c.QueryInt("offset", 0), Limit: c.QueryInt("limit", 50),
	}
	var err error
	if q.From, err = parseDate(c, "from"); err != nil {
		return q, err
	}
	if q.To, err = parseDate(c, "to"); err != nil {
		return q, err
	}
	if !q.To.IsZero() {
		q.To = q.To.Add(24 * time.Hour) // "to" names the last day included
	}
	return q, nil
}

func (a *api) detail(c *fiber.Ctx) error {
	d, err := a.svc.Detail(c.UserContext(), actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	viewers, err := a.svc.Viewers(c.UserContext(), d.Conversation.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"conversation": d.Conversation, "contact": d.Contact, "history": d.History,
		"window_open": d.WindowOpen, "viewers": viewers, "engagements": d.Engagements})
}

// visible answers 404 for a conversation the actor may not see, before any
// action on it, so that its existence is not revealed. The action starts
// from the conversation it read (desk.WithView).
func (a *api) visible(c *fiber.Ctx) error {
	conv, err := a.svc.Open(c.UserContext(), actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.SetUserContext(desk.WithView(c.UserContext(), conv))
	return c.Next()
}

type replyRequest struct {
	Body     string             `json:"body"`
	Template *channels.Template `json:"template"`
	// Media are attachment ids from POST .../attachments.
	Media []string `json:"media"`
}

// readReply reads a reply from the request body, turning attachment ids
// into their signed URLs.
func (a *api) readReply(c *fiber.Ctx) (engine.Reply, error) {
	var r replyRequest
	if err := decodeJSON(c, &r); err != nil {
		return engine.Reply{}, err
	}
	out := engine.Reply{Body: r.Body, Template: r.Template}
	if len(r.Media) > media.MaxAttachmentsPerReply {
		return out, newError(http.StatusBadRequest, "invalid", "at most 10 attachments")
	}
	for _, id := range r.Media {
		att, err := a.svc.ReplyAttachment(c.UserContext(), actor(c), c.Params("id"), id)
		if err != nil {
			return out, err
		}
		out.Attachments = append(out.Attachments, att)
	}
	return out, nil
}

func (a *api) reply(c *fiber.Ctx) error {
	r, err := a.readReply(c)
	if err != nil {
		return err
	}
	m, err := a.svc.Reply(c.UserContext(), actor(c), c.Params("id"), r)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(m)
}

func (a *api) comment(c *fiber.Ctx) error {
	var req struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	m, err := a.svc.Comment(c.UserContext(), actor(c), c.Params("id"), req.Body)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(m)
}

// done answers an action with the conversation as the action left it.
func (a *api) done(c *fiber.Ctx, err error) error {
	if err != nil {
		return err
	}
	conv, err := a.svc.Current(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(conv)
}

func (a *api) accept(c *fiber.Ctx) error {
	return a.done(c, a.svc.AcceptTicket(c.UserContext(), actor(c), c.Params("id")))
}

func (a *api) flag(c *fiber.Ctx) error {
	var req struct {
		Flagged bool `json:"flagged"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	return a.done(c, a.svc.Flag(c.UserContext(), actor(c), c.Params("id"), req.Flagged))
}

func (a *api) pending(c *fiber.Ctx) error {
	return a.done(c, a.svc.MarkPending(c.UserContext(), actor(c), c.Params("id")))
}

func (a *api) closeConversation(c *fiber.Ctx) error {
	var form engine.CloseForm
	if err := decodeJSON(c, &form); err != nil {
		return err
	}
	return a.done(c, a.svc.Close(c.UserContext(), actor(c), c.Params("id"), form))
}

// reopen takes the reply's fields and, for a supervisor, "agent": whom
// the chat is reopened for.
func (a *api) reopen(c *fiber.Ctx) error {
	var to struct {
		Agent string `json:"agent"`
	}
	if err := decodeJSON(c, &to); err != nil {
		return err
	}
	r, err := a.readReply(c)
	if err != nil {
		return err
	}
	_, err = a.svc.Reopen(c.UserContext(), actor(c), c.Params("id"), to.Agent, r)
	return a.done(c, err)
}

func (a *api) transfer(c *fiber.Ctx) error {
	var to engine.Target
	if err := decodeJSON(c, &to); err != nil {
		return err
	}
	return a.done(c, a.svc.Transfer(c.UserContext(), actor(c), c.Params("id"), to))
}

func (a *api) viewing(c *fiber.Ctx) error {
	var req struct {
		Typing bool `json:"typing"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := a.svc.Viewing(c.UserContext(), actor(c), c.Params("id"), req.Typing); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// reportQuery reads a report's period (from and to, both days included)
// and scope.
func reportQuery(c *fiber.Ctx) (reports.Query, error) {
	q := reports.Query{Agent: c.Query("agent"), Department: c.Query("department")}
	var err error
	if q.From, err = parseDate(c, "from"); err != nil {
		return q, err
	}
	if q.To, err = parseDate(c, "to"); err != nil {
		return q, err
	}
	if q.From.IsZero() || q.To.IsZero() {
		return q, newError(http.StatusBadRequest, "invalid", "from and to are required")
	}
	q.To = q.To.Add(24 * time.Hour)
	return q, nil
}

// report answers a period's figures as JSON, or as CSV with format=csv.
func (a *api) report(c *fiber.Ctx) error {
	q, err := reportQuery(c)
	if err != nil {
		return err
	}
	r, err := a.svc.Report(c.UserContext(), actor(c), q)
	if err != nil {
		return err
	}
	if c.Query("format") != "csv" {
		return c.JSON(r)
	}
	var buf strings.Builder
	if err := r.WriteCSV(&buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="parley-report.csv"`)
	return c.SendString(buf.String())
}

// export downloads a period's conversations as CSV or JSON.
func (a *api) export(c *fiber.Ctx) error {
	q, err := reportQuery(c)
	if err != nil {
		return err
	}
	format := c.Query("format", "csv")
	var buf strings.Builder
	if err := a.svc.ExportConversations(c.UserContext(), actor(c), q, format, &buf); err != nil {
		return err
	}
	mime := "text/csv; charset=utf-8"
	if format == "json" {
		mime = fiber.MIMEApplicationJSONCharsetUTF8
	}
	c.Set(fiber.HeaderContentType, mime)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="parley-conversations.`+format+`"`)
	return c.SendString(buf.String())
}

// reachOut writes to the contact of a closed conversation from a new
// closed chat.
func (a *api) reachOut(c *fiber.Ctx) error {
	r, err := a.readReply(c)
	if err != nil {
		return err
	}
	id, err := a.svc.ReachOut(c.UserContext(), actor(c), c.Params("id"), r)
	if err != nil {
		return err
	}
	conv, err := a.svc.Store().Conversation(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(conv)
}

// attach stores an uploaded file (multipart field "file") for a reply.
func (a *api) attach(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return newError(http.StatusBadRequest, "invalid", "want a multipart form with a file field")
	}
	if fh.Size > media.MaxAttachment {
		return errTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, media.MaxAttachment+1))
	if err != nil {
		return err
	}
	contentType := fh.Header.Get("Content-Type")
	if contentType == "" || contentType == "application/octet-stream" {
		contentType = http.DetectContentType(data) // Twilio needs a real media type
	}
	att, err := a.svc.Attach(c.UserContext(), actor(c), c.Params("id"), filepath.Base(fh.Filename), contentType, data)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(att)
}

// media serves an attachment to whoever holds its signed URL (Twilio).
func (a *api) media(c *fiber.Ctx) error {
	name, contentType, data, err := a.svc.Attachment(c.UserContext(), c.Params("id"), c.Query("exp"), c.Query("sig"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	c.Set("Content-Security-Policy", "sandbox")
	return c.Send(data)
}

// deskMedia serves a file of a conversation's history to a desk user who
// may see the conversation and holds the URL the desk API signed for it.
func (a *api) deskMedia(c *fiber.Ctx) error {
	name, contentType, data, err := a.svc.DeskFile(c.UserContext(), actor(c), c.Params("id"), c.Params("mid"), c.Query("exp"), c.Query("sig"))
	if err != nil {
		return err
	}
	serveFile(c, name, contentType, data)
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	return nil
}

func (a *api) trash(c *fiber.Ctx) error {
	return a.done(c, a.svc.Delete(c.UserContext(), actor(c), c.Params("id")))
}

func (a *api) restore(c *fiber.Ctx) error {
	return a.done(c, a.svc.Restore(c.UserContext(), actor(c), c.Params("id")))
}

func (a *api) convert(c *fiber.Ctx) error {
	var req struct {
		Subject string `json:"subject"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ticket, err := a.svc.ConvertToTicket(c.UserContext(), actor(c), c.Params("id"), req.Subject)
	if err != nil {
		return err
	}
	conv, err := a.svc.Store().Conversation(c.UserContext(), ticket)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(conv)
}

// transcript downloads a conversation as text or JSON.
func (a *api) transcript(c *fiber.Ctx) error {
	format := c.Query("format", "text")
	body, err := a.svc.Transcript(c.UserContext(), actor(c), c.Params("id"), format)
	if err != nil {
		return err
	}
	ext, mime := "txt", fiber.MIMETextPlainCharsetUTF8
	if format == "json" {
		ext, mime = "json", fiber.MIMEApplicationJSONCharsetUTF8
	}
	c.Set(fiber.HeaderContentType, mime)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="parley-`+c.Params("id")+`.`+ext+`"`)
	return c.Send(body)
}

func (a *api) quickAccept(c *fiber.Ctx) error {
	var req struct {
		N int `json:"n"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ids, err := a.svc.QuickAccept(c.UserContext(), actor(c), req.N)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	return c.JSON(fiber.Map{"accepted": ids})
}

type agentView struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Role        string          `json:"role"`
	Departments []string        `json:"departments"`
	Presence    engine.Presence `json:"presence"`
	Available   bool            `json:"available"`
	Load        int             `json:"load"`
	Capacity    int             `json:"capacity"`
	// Disabled is filled in for admins only.
	Disabled bool `json:"disabled,omitempty"`
}

// agents lists the agents; ?available=true keeps those a chat can go to now.
func (a *api) agents(c *fiber.Ctx) error {
	out, err := a.agentViews(c, false)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": out})
}

// agentViews lists the agents, with whether each is disabled if asked.
func (a *api) agentViews(c *fiber.Ctx, disabled bool) ([]agentView, error) {
	all, err := a.svc.Store().Agents(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := []agentView{}
	for _, ag := range all {
		if c.QueryBool("available") && !ag.Available() {
			continue
		}
		v := agentView{ID: ag.ID, Name: ag.Name, Role: ag.Role, Departments: ag.Departments, Presence: ag.Presence,
			Available: ag.Available(), Load: ag.Load, Capacity: ag.Capacity}
		if disabled {
			if _, err := a.svc.Enabled(c.UserContext(), ag.ID); errors.Is(err, users.ErrBadCredentials) {
				v.Disabled = true
			} else if err != nil {
				return nil, err
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// settings are what the desk's forms offer: tags (alphabetical),
// sentiments, departments, templates and canned replies.
func (a *api) settings(c *fiber.Ctx) error {
	r := a.svc.Rules()
	tags := slices.Clone(r.Tags)
	sort.Strings(tags)
	depts := []fiber.Map{}
	for _, d := range r.Departments {
		depts = append(depts, fiber.Map{"id": d.ID, "name": d.Name})
	}
	if len(depts) == 0 {
		depts = append(depts, fiber.Map{"id": r.DefaultDepartment, "name": r.DefaultDepartment})
	}
	return c.JSON(fiber.Map{"tags": tags, "sentiments": engine.Sentiments, "departments": depts,
		"templates": templateViews(r.Templates), "canned_replies": r.CannedReplies,
		// The routed-chat pop-up counts down to this from the chat's assigned_at.
		"agent_response_timeout_seconds": r.Timeouts.AgentResponse.Seconds()})
}

func (a *api) notifications(c *fiber.Ctx) error {
	items, unread, err := a.svc.Notifications(c.UserContext(), actor(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items, "unread": unread})
}

func (a *api) readNotifications(c *fiber.Ctx) error {
	if err := a.svc.MarkNotificationsRead(c.UserContext(), actor(c).ID); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// apiErrors maps the engine's errors to answers.
var apiErrors = []struct {
	err error
	api *apiError
}{
	{engine.ErrNotAllowed, newError(http.StatusForbidden, "forbidden", "")},
	{engine.ErrWrongState, newError(http.StatusConflict, "wrong_state", "")},
	{engine.ErrNoAgentAvailable, newError(http.StatusConflict, "no_agent_available", "")},
	{engine.ErrTicketTransfer, newError(http.StatusConflict, "ticket_transfer", "")},
	{engine.ErrReplyFirst, newError(http.StatusConflict, "reply_first", "")},
	{engine.ErrInvalid, newError(http.StatusBadRequest, "invalid", "")},
	{users.ErrBadCredentials, errBadCredentials},
	{desk.ErrBadSignature, newError(http.StatusForbidden, "bad_signature", "")},
	{desk.ErrReplay, newError(http.StatusConflict, "replay", "")},
	{engine.ErrTemplateNotApproved, newError(http.StatusConflict, "template_not_approved", "")},
	{desk.ErrNoContentAPI, newError(http.StatusConflict, "no_twilio", "")},
	{desk.ErrContentAPI, newError(http.StatusBadGateway, "twilio_error", "")},
}

// engineError turns an engine error into an answer that keeps its message.
func engineError(err error) (*apiError, bool) {
	for _, e := range apiErrors {
		if errors.Is(err, e.err) {
			msg := e.api.message
			if msg == "" {
				msg = err.Error()
			}
			return newError(e.api.status, e.api.code, msg), true
		}
	}
	return nil, false
}

// botCallback takes actions a bot sends later. It is authenticated by the
// bot's signature over the raw body, not by a desk session.
func (a *api) botCallback(c *fiber.Ctx) error {
	err := a.svc.BotCallback(c.UserContext(), c.Params("bot"), c.Params("id"), c.Get(bots.SignatureHeader), c.Body())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "applied"})
}
