package store

import (
	"context"
	"testing"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/redistest"
)

// TestWriteSkipsUnchangedConversation: a conversation a decision left as
// it was loaded is not written again (no new version, no index moves),
// whether the store tracked it itself, with the document it read
// (engine.Tracked.Loaded), or the Service tracked a copy read earlier;
// a changed one is written.
func TestWriteSkipsUnchangedConversation(t *testing.T) {
	ctx := context.Background()
	st := New(redistest.New(t).Client, KeyPrefix)
	rules := configtest.Rules(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a := channels.Address("sms:+27820000001")

	w := engine.NewWorld(now, rules)
	w.Contact = &engine.Contact{Address: a, Chat: "C1"}
	w.TouchContact()
	w.Convs["C1"] = &engine.Tracked{Conv: &engine.Conversation{ID: "C1", Contact: a, Channel: channels.SMS, Kind: engine.KindChat,
		State: engine.StateLive, Assignee: "ann", Subject: "parcel", CreatedAt: now, UpdatedAt: now}}
	commit := func(w *engine.World) *Tx {
		t.Helper()
		tx := st.NewCommit()
		if _, err := st.Write(tx, w); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(ctx, tx); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	commit(w)

	// Tracked by the store: Loaded holds the document it read.
	w = engine.NewWorld(now, rules)
	if err := st.LoadWorld(ctx, w, a, nil, nil); err != nil {
		t.Fatal(err)
	}
	if tr := w.Convs["C1"]; tr == nil || tr.Loaded == "" {
		t.Fatalf("tracked %+v, want C1 with its loaded document", tr)
	}
	if tx := commit(w); len(tx.ops) != 0 {
		t.Fatalf("unchanged conversation written: %q", tx.ops)
	}

	// Tracked by the Service from an earlier read.
	c, err := st.Conversation(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	w = engine.NewWorld(now, rules)
	w.Contact = &engine.Contact{}
	w.Track(c)
	if tx := commit(w); len(tx.ops) != 0 {
		t.Fatalf("unchanged conversation written: %q", tx.ops)
	}
	if c, err := st.Conversation(ctx, "C1"); err != nil || c.Version != 1 {
		t.Fatalf("version %v (%v), want 1: nothing written", c, err)
	}

	// Changed: written, one version on.
	w = engine.NewWorld(now, rules)
	if err := st.LoadWorld(ctx, w, a, nil, nil); err != nil {
		t.Fatal(err)
	}
	w.Convs["C1"].Conv.Subject = "refund"
	commit(w)
	if c, err := st.Conversation(ctx, "C1"); err != nil || c.Version != 2 || c.Subject != "refund" {
		t.Fatalf("got %+v (%v), want version 2 with the new subject", c, err)
	}
}
