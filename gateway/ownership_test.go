package gateway

import (
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/users"
)

// Reopen is for the chat's last agent, or a supervisor handing it to an
// available agent other than themselves: nobody else takes a customer over.
func TestReopenOnlyByItsAgentOrForAnAvailableOne(t *testing.T) {
	f := newDeskFixture(t)
	ann, bob, sue := f.signIn(t, "ann"), f.signIn(t, "bob"), f.signIn(t, "sue")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	conv := func(id, action string) string { return "/api/v1/conversations/" + id + action }
	chat := f.inbound(t, "SMr1", "whatsapp:+27820000031", "whatsapp:+15550000001", "hello")
	ann.want("POST", conv(chat, "/messages"), map[string]string{"body": "hi"}, 201, "")
	sue.want("POST", conv(chat, "/comments"), map[string]string{"body": "@bob have a look"}, 201, "")
	ann.want("POST", conv(chat, "/close"), map[string]string{"sentiment": "neutral"}, 200, "")

	first := map[string]string{"body": "hello again"}
	bob.want("POST", conv(chat, "/reopen"), first, 403, "forbidden")                                                   // mentioned, never held it
	sue.want("POST", conv(chat, "/reopen"), first, 403, "forbidden")                                                   // not for herself
	sue.want("POST", conv(chat, "/reopen"), map[string]string{"body": "x", "agent": "sue"}, 403, "forbidden")          //
	sue.want("POST", conv(chat, "/reopen"), map[string]string{"body": "x", "agent": "bob"}, 409, "no_agent_available") // bob is offline
	ann.want("POST", conv(chat, "/reopen"), first, 200, "")
	ann.want("POST", conv(chat, "/close"), map[string]string{"sentiment": "neutral"}, 200, "")

	bob.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	var c engine.Conversation
	json.NewDecoder(sue.want("POST", conv(chat, "/reopen"), map[string]string{"body": "Bob will help you", "agent": "bob"}, 200, "").Body).Decode(&c)
	if c.State != engine.StateLive || c.Assignee != "bob" {
		t.Fatalf("reopened for bob: %s on %q", c.State, c.Assignee)
	}
}

// Naming oneself in a comment gives no access: an agent cannot keep
// reading a ticket that another agent accepted.
func TestSelfMentionGivesNoAccess(t *testing.T) {
	f := newDeskFixture(t)
	if err := f.svc.SaveUser(context.Background(), users.Spec{ID: "dee", Name: "Dee", Role: "agent", Departments: []string{"sales"}}, password); err != nil {
		t.Fatal(err)
	}
	bob, dee := f.signIn(t, "bob"), f.signIn(t, "dee")
	ticket := f.inbound(t, "SMm1", "whatsapp:+27820000032", "whatsapp:+15550000002", "a quote please")
	path := "/api/v1/conversations/" + ticket
	var note engine.Message
	json.NewDecoder(dee.want("POST", path+"/comments", map[string]string{"body": "@dee keep an eye on this"}, 201, "").Body).Decode(&note)
	if note.ConversationID != ticket || note.At.IsZero() || note.ID == "" {
		t.Fatalf("the comment answer %+v, want its conversation and time", note)
	}
	bob.want("POST", path+"/accept", nil, 200, "")
	dee.want("GET", path, nil, 404, "not_found")
}

// An attachment is sent only by who uploaded it, in the conversation it
// was uploaded for, whoever else learns its id.
func TestAttachmentsBelongToUploaderAndConversation(t *testing.T) {
	f := newDeskFixture(t)
	ann, bob := f.signIn(t, "ann"), f.signIn(t, "bob")
	ann.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	bob.want("PUT", "/api/v1/me/presence", map[string]string{"presence": "online"}, 200, "")
	annChat := f.inbound(t, "SMt1", "whatsapp:+27820000041", "whatsapp:+15550000001", "hi")
	annOther := f.inbound(t, "SMt2", "whatsapp:+27820000042", "whatsapp:+15550000001", "hi")
	bobChat := f.inbound(t, "SMt3", "whatsapp:+27820000043", "whatsapp:+15550000002", "hi")

	var buf strings.Builder
	w := multipart.NewWriter(&buf)
	part, _ := w.CreateFormFile("file", "invoice.pdf")
	part.Write([]byte("%PDF-1.4 ann's invoice"))
	w.Close()
	req := httptest.NewRequest("POST", "/api/v1/conversations/"+annChat+"/attachments", strings.NewReader(buf.String()))
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: ann.cookie})
	req.Header.Set(csrfHeader, ann.csrf)
	resp, err := f.app.Test(req, -1)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("upload: %v %v", resp.StatusCode, err)
	}
	var att engine.Attachment
	json.NewDecoder(resp.Body).Decode(&att)

	send := map[string]any{"body": "here", "media": []string{att.ID}}
	bob.want("POST", "/api/v1/conversations/"+bobChat+"/messages", send, 404, "not_found")
	ann.want("POST", "/api/v1/conversations/"+annOther+"/messages", send, 404, "not_found")
	ann.want("POST", "/api/v1/conversations/"+annChat+"/messages", send, 201, "")
}
