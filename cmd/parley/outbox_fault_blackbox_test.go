package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"
	"github.com/parleydesk/parley/desk/store"
)

// TestBlackboxFaultOutboxOrder: a gateway and a worker, with the reconciler
// at its default period. 36 customers each write, get two operator
// replies, and write again, one step after another; a dozen get live
// chats with the one agent, the rest the leave-a-message flow. Meanwhile
// Twilio answers every send with 500 for a spell, then with 429 for
// another, and the worker is killed with SIGKILL in the first spell and
// started again. Afterwards, for every customer, Twilio has accepted each
// of its messages exactly once, in the order their decisions committed.
func TestBlackboxFaultOutboxOrder(t *testing.T) {
	t.Parallel()
	const (
		contacts = 36
		spell    = 4 * time.Second
	)
	proxy := newTwilioProxy(t, 20*time.Millisecond)
	p := startParleyWith(t, parleyOptions{
		subcommand: "gateway",
		config: `agents:
  - id: outbox-agent
    name: Outbox Agent
    capacity: 12
    online: true
`,
		env: []string{
			"PARLEY_TWILIO_API_URL=" + proxy.URL(),
			"PARLEY_RECONCILE_EVERY=5s", // the default
			"PARLEY_SEND_RETRIES=30",
			"PARLEY_INACTIVITY_TIMEOUT=10m",
			"PARLEY_AGENT_RESPONSE_TIMEOUT=10m",
		},
	})
	proxy.forwardTo(p.fake.URL())
	worker := p.faultProcess(t, "worker")
	p.faultWaitSweeps(t, 1, 30*time.Second, "the worker running its reconciler")

	cs := faultContacts("+2784500", contacts)
	client := &http.Client{Timeout: 15 * time.Second}
	proxy.onAccepted(func(statusCallback, sid, to string) {
		_ = p.faultPost(client, strings.TrimPrefix(statusCallback, bbPublicURL), p.status(sid, to, "sent", ""))
	})

	// Each customer's steps run one after another, each committed before
	// the next starts (a webhook answered 200, a send that printed its id):
	// so the order of the ids of its outbound messages is their commit
	// order.
	var wg sync.WaitGroup
	steps := make(chan struct{}, 6) // at most six steps at once
	for ci, c := range cs {
		wg.Go(func() {
			for k, step := range []string{"in:Hello", "out:first reply", "in:YES", "out:second reply", "in:my question", "in://end"} {
				steps <- struct{}{}
				kind, text, _ := strings.Cut(step, ":")
				if kind == "in" {
					params := c.in(p, text)
					var a faultAnswer
					for range 5 {
						if a = p.faultDeliver(client, params); a.err == nil && a.status == http.StatusOK {
							break
						}
						time.Sleep(200 * time.Millisecond)
					}
					if a.err != nil || a.status != http.StatusOK {
						t.Errorf("contact %d step %d: webhook %s", ci, k, a)
					}
				} else if _, stderr, err := p.send(t, "-to", string(c.addr()), "-body", fmt.Sprintf("%s %d", text, ci)); err != nil {
					t.Errorf("contact %d step %d: parley send: %v: %s", ci, k, err, stderr)
				}
				<-steps
				time.Sleep(150 * time.Millisecond)
			}
		})
	}

	// The spells, and the kill inside the first.
	time.Sleep(time.Second)
	proxy.refuseWith(http.StatusInternalServerError)
	time.Sleep(spell / 2)
	worker.kill(t)
	time.Sleep(time.Second)
	worker.start(t)
	time.Sleep(spell / 2)
	proxy.refuseWith(http.StatusTooManyRequests)
	time.Sleep(spell)
	proxy.refuseWith(0)
	upAt := time.Now()
	wg.Wait()
	if t.Failed() {
		return
	}

	// Every outbound message of every customer, in commit order.
	ctx := context.Background()
	expected := map[string][]engine.Message{} // by Twilio's To
	for _, c := range cs {
		convs, err := p.rdb.ZRange(ctx, store.KeyPrefix+"idx:contact:"+string(c.addr()), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []engine.Message
		for _, id := range convs {
			msgs, err := p.store.History(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, only(engine.DirOut, msgs)...)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		expected[c.to()] = out
	}
	faultWait(t, 180*time.Second, "every message handed to Twilio", func() (bool, string) {
		waiting := 0
		for _, msgs := range expected {
			for _, m := range msgs {
				if got := p.message(t, m.ID); got.SID == "" && got.Status != "failed" {
					waiting++
				}
			}
		}
		// A callback can record a send before the proxy has answered it
		// (Twilio's callbacks do not wait for the answer): the call is
		// counted once answered.
		inflight := proxy.inFlight()
		return waiting == 0 && inflight == 0, fmt.Sprintf("%d messages waiting, %d calls in flight", waiting, inflight)
	})
	t.Logf("every message handed to Twilio %s after the last spell", time.Since(upAt).Round(time.Millisecond))

	accepted := map[string][]proxyCall{}
	refused := 0
	for _, call := range proxy.allCalls() {
		if call.status == http.StatusCreated {
			accepted[call.to] = append(accepted[call.to], call)
		} else if call.refused {
			refused++
		}
	}
	twice, outOfOrder, total := 0, 0, 0
	for _, c := range cs {
		want := expected[c.to()]
		total += len(want)
		calls := accepted[c.to()]
		sort.Slice(calls, func(i, j int) bool { return calls[i].arrived.Before(calls[j].arrived) })
		var wantTexts, gotTexts []string
		for _, m := range want {
			if m.Status == "failed" {
				t.Errorf("%s: message %s failed (%s %s)", c.to(), m.ID, m.ErrorCode, m.Error)
			}
			wantTexts = append(wantTexts, m.Body)
		}
		for _, call := range calls {
			gotTexts = append(gotTexts, call.text)
		}
		twice += max(0, len(gotTexts)-len(wantTexts))
		if !slices.Equal(gotTexts, wantTexts) {
			outOfOrder++
			t.Errorf("%s: Twilio accepted\n  %q\nwant, in commit order, once each:\n  %q", c.to(), gotTexts, wantTexts)
		}
	}
	t.Logf("%d messages to %d customers; %d refusals during the spells; %d sent twice; %d customers with texts out of order or repeated",
		total, len(cs), refused, twice, outOfOrder)
	if refused == 0 {
		t.Error("no send met a spell: the test proved nothing")
	}
}
