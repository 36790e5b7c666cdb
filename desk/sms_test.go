package desk

import (
	"context"
	"errors"
	"testing"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// A one-way SMS leaves through the contact's outbox and reaches the
// provider once, however often the outbox is worked; it is recorded as a
// closed chat signed by its sender, and its customer becomes a contact.
func TestOneWaySMSGoesThroughTheOutboxOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sue := engine.Actor{ID: "sue", Role: "supervisor"}
	if _, err := f.svc.SendOneWaySMS(ctx, engine.Actor{ID: "ann", Role: "agent"}, OneWaySMS{To: "+27820000701", Body: "x"}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Fatalf("an agent's SMS: %v, want ErrNotAllowed", err)
	}
	c, err := f.svc.SendOneWaySMS(ctx, sue, OneWaySMS{To: "+27820000701", Body: "Your parcel is at the branch."})
	if err != nil {
		t.Fatal(err)
	}
	const to = channels.Address("sms:+27820000701")
	if got := f.outbox(t, to); len(got) != 1 {
		t.Fatalf("outbox %v, want the SMS", got)
	}
	for range 2 {
		if err := f.svc.DeliverOutbox(ctx, to); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.provider.calls) != 1 || f.provider.calls[0].To != to || f.provider.calls[0].Body != "Your parcel is at the branch." {
		t.Fatalf("provider calls %+v", f.provider.calls)
	}
	stored, err := f.store.Conversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != engine.StateClosed || stored.Closed.Reason != engine.ReasonOneWaySMS || stored.Closed.By != "sue" || stored.Assignee != "sue" {
		t.Fatalf("record %+v", stored)
	}
	hist, err := f.store.History(ctx, c.ID)
	if err != nil || len(hist) != 1 || hist[0].Author != "sue" || hist[0].SID == "" {
		t.Fatalf("history %+v %v", hist, err)
	}
	if _, err := f.store.Contact(ctx, to); err != nil {
		t.Fatalf("contact: %v", err)
	}
	if err := f.svc.SetOptedOut(ctx, to, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendOneWaySMS(ctx, sue, OneWaySMS{To: "+27820000701", Body: "again"}); !errors.Is(err, channels.ErrOptedOut) {
		t.Fatalf("to an opted-out number: %v", err)
	}
}
