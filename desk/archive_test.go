package desk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"

	"github.com/parleydesk/parley/channels"
)

func closedChat(t *testing.T, f fixture, from string) *engine.Conversation {
	t.Helper()
	seed(t, f, online("ann", 3), online("bob", 3))
	c := liveChat(t, f, from)
	if err := f.svc.CloseChat(context.Background(), engine.Actor{ID: c.Assignee}, c.ID, engine.CloseForm{Sentiment: "positive", Notes: "all good", Tag: "billing"}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Conversation(context.Background(), c.ID)
	return got
}

func TestTrashRestoreAndPurge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := closedChat(t, f, "whatsapp:+27820000500")
	owner, other := engine.Actor{ID: c.Assignee, Role: "agent"}, engine.Actor{ID: "someone", Role: "agent"}
	if err := f.svc.Delete(ctx, other, c.ID); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("delete by a stranger: %v, want ErrNotAllowed", err)
	}
	if err := f.svc.Delete(ctx, owner, c.ID); err != nil {
		t.Fatal(err)
	}
	page, _ := f.svc.List(ctx, owner, ListQuery{Tab: TabClosed})
	trash, _ := f.svc.List(ctx, owner, ListQuery{Tab: TabTrash})
	if page.Total != 0 || trash.Total != 1 {
		t.Fatalf("closed %d, trash %d; want 0 and 1", page.Total, trash.Total)
	}
	if err := f.svc.Restore(ctx, owner, c.ID); err != nil {
		t.Fatal(err)
	}
	page, _ = f.svc.List(ctx, owner, ListQuery{Tab: TabClosed})
	if page.Total != 1 {
		t.Fatalf("closed after restore: %d, want 1", page.Total)
	}
	if err := f.svc.Delete(ctx, owner, c.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(engine.TrashKeep - time.Minute)
	if err := f.svc.Wake(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Conversation(ctx, c.ID); err != nil {
		t.Fatalf("purged before its time: %v", err)
	}
	f.clock.Add(time.Minute)
	if err := f.svc.Wake(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Conversation(ctx, c.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("after 30 days: %v, want ErrNotFound", err)
	}
	if n, _ := f.store.Client().Exists(ctx, store.KeyPrefix+"conv:"+c.ID+":msgs").Result(); n != 0 {
		t.Fatal("history survived the purge")
	}
}

func TestConvertClosedChatToTicket(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := closedChat(t, f, "whatsapp:+27820000501")
	owner := engine.Actor{ID: c.Assignee, Role: "agent"}
	if _, err := f.svc.ConvertToTicket(ctx, owner, c.ID, " "); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("empty subject: %v, want ErrInvalid", err)
	}
	id, err := f.svc.ConvertToTicket(ctx, owner, c.ID, "Refund follow-up")
	if err != nil {
		t.Fatal(err)
	}
	ticket, _ := f.store.Conversation(ctx, id)
	chat, _ := f.store.Conversation(ctx, c.ID)
	if ticket.Kind != engine.KindTicket || ticket.State != engine.StateAssigned || ticket.Assignee != owner.ID || ticket.Subject != "Refund follow-up" || chat.ConvertedTo != id {
		t.Fatalf("ticket %+v, chat converted to %q", ticket, chat.ConvertedTo)
	}
	hist, _ := f.store.History(ctx, id)
	if inbound := inboundCount(t, f, id); inbound != 1 || len(hist) < 2 {
		t.Fatalf("ticket history has %d messages (%d inbound), want the chat's", len(hist), inbound)
	}
	if _, err := f.svc.ConvertToTicket(ctx, owner, c.ID, "again"); !errors.Is(err, engine.ErrWrongState) {
		t.Fatalf("second conversion: %v, want ErrWrongState", err)
	}
}

func TestTranscript(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := closedChat(t, f, "whatsapp:+27820000502")
	owner := engine.Actor{ID: c.Assignee, Role: "agent"}
	text, err := f.svc.Transcript(ctx, owner, c.ID, "text")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{c.ID, "customer", "hello", "sentiment positive", "tag billing", "Notes: all good"} {
		if !strings.Contains(string(text), want) {
			t.Fatalf("text transcript lacks %q:\n%s", want, text)
		}
	}
	raw, err := f.svc.Transcript(ctx, owner, c.ID, "json")
	if err != nil {
		t.Fatal(err)
	}
	var d Detail
	if err := json.Unmarshal(raw, &d); err != nil || d.Conversation.ID != c.ID || len(d.History) == 0 {
		t.Fatalf("json transcript: %v %+v", err, d.Conversation)
	}
	if _, err := f.svc.Transcript(ctx, engine.Actor{ID: "stranger", Role: "agent"}, c.ID, "text"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("a stranger's transcript: %v, want ErrNotFound", err)
	}
	if _, err := f.svc.Transcript(ctx, owner, c.ID, "pdf"); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("pdf: %v, want ErrInvalid", err)
	}
}

func TestReachOutFromClosedChat(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := closedChat(t, f, "whatsapp:+27820000503")
	ann := engine.Actor{ID: old.Assignee, Role: "agent"}
	if _, err := f.svc.ReachOut(ctx, engine.Actor{ID: "stranger", Role: "agent"}, old.ID, engine.Reply{Body: "hi"}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("reach-out by a stranger: %v, want ErrNotAllowed", err)
	}
	f.clock.Add(25 * time.Hour)
	if _, err := f.svc.ReachOut(ctx, ann, old.ID, engine.Reply{Body: "hi again"}); !errors.Is(err, channels.ErrTemplateRequired) {
		t.Fatalf("free text after 24 h: %v, want ErrTemplateRequired", err)
	}
	id, err := f.svc.ReachOut(ctx, ann, old.ID, engine.Reply{Template: &channels.Template{ContentSID: "HX1"}})
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := f.store.Conversation(ctx, id)
	if id == old.ID || fresh.State != engine.StateClosed || fresh.Kind != engine.KindChat {
		t.Fatalf("reach-out made %s %s/%s, want a new closed chat", id, fresh.Kind, fresh.State)
	}
	r, err := f.svc.Receive(ctx, inbound("SMback", "whatsapp:+27820000503", "yes, still need help"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ConversationID != id {
		t.Fatalf("the answer went to %s, want the reach-out chat %s", r.ConversationID, id)
	}
	live, _ := f.store.Conversation(ctx, id)
	if live.State != engine.StateLive || live.Assignee == "" || live.Closed != nil {
		t.Fatalf("reach-out chat after the answer: %s on %q", live.State, live.Assignee)
	}
	hist, _ := f.store.History(ctx, id)
	if len(hist) < 2 || hist[0].Template == nil || hist[0].Template.ContentSID != "HX1" {
		t.Fatalf("history should start with the template: %+v", hist)
	}
	before, _ := f.store.Conversation(ctx, old.ID)
	if before.State != engine.StateClosed || before.Version != old.Version {
		t.Fatalf("the earlier chat changed: %+v", before)
	}
}
