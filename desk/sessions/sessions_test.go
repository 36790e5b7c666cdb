package sessions_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/redistest"
	"github.com/parleydesk/parley/desk/sessions"
)

func TestSessionLifecycle(t *testing.T) {
	db := redistest.New(t)
	ctx := context.Background()
	st := sessions.New(db.Client, "{test}:", "{test}:events", time.Now)
	sub := db.Client.Subscribe(ctx, "{test}:events")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	a1, err := st.Create(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := st.Create(ctx, "ann")
	b, _ := st.Create(ctx, "bob")
	if len(a1.Token) != 64 || a1.CSRF == "" || a1.Token == a2.Token {
		t.Fatalf("tokens %q and %q", a1.Token, a2.Token)
	}
	got, err := st.Load(ctx, a1.Token)
	if err != nil || got != a1 {
		t.Fatalf("load: %+v %v, want %+v", got, err, a1)
	}
	if ttl := db.Client.TTL(ctx, "{test}:session:"+a1.Token).Val(); ttl <= 0 || ttl > sessions.TTL {
		t.Fatalf("session lives %v, want up to %v", ttl, sessions.TTL)
	}
	for _, bad := range []string{"", "short", a1.Token[:63] + "x"} {
		if _, err := st.Load(ctx, bad); !errors.Is(err, sessions.ErrUnknown) {
			t.Fatalf("load %q: %v, want ErrUnknown", bad, err)
		}
	}
	if live, _ := st.Live(ctx, a1.Token, "bob"); live {
		t.Fatal("ann's token is live for bob")
	}

	// A password change ends every session but the one that made it.
	if err := st.EndAll(ctx, "ann", a2.Token); err != nil {
		t.Fatal(err)
	}
	if live, _ := st.Live(ctx, a1.Token, "ann"); live {
		t.Fatal("an ended session is live")
	}
	if live, _ := st.Live(ctx, a2.Token, "ann"); !live {
		t.Fatal("the kept session ended")
	}
	if live, _ := st.Live(ctx, b.Token, "bob"); !live {
		t.Fatal("another user's session ended")
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Type, Agent string }
	if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil || ev.Type != sessions.EventEnded || ev.Agent != "ann" {
		t.Fatalf("announcement %q (%v)", msg.Payload, err)
	}
	if err := st.End(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, a2.Token); !errors.Is(err, sessions.ErrUnknown) {
		t.Fatalf("after sign-out: %v, want ErrUnknown", err)
	}
}
