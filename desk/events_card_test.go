package desk

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

// A message event carries the conversation's card as committed (its
// preview and the customer's last message time), so a desk updates the
// card without reading its list again.
func TestMessageEventCarriesTheCard(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sub := f.store.Client().Subscribe(ctx, f.store.Events())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Receive(ctx, inbound("SMcard", "whatsapp:+27820000031", "where is my parcel?"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case msg := <-sub.Channel():
			var e engine.Event
			if err := json.Unmarshal([]byte(msg.Payload), &e); err != nil || e.Type != engine.EventMessageIn {
				continue
			}
			if e.ConversationID != r.ConversationID || e.Preview != "where is my parcel?" || e.LastCustomerAt.IsZero() {
				t.Fatalf("message.in event %s: want the conversation's preview and last customer time", msg.Payload)
			}
			return
		case <-deadline:
			t.Fatal("no message.in event")
		}
	}
}
