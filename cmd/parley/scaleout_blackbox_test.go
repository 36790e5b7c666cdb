package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
)

// sibling starts another process of the same deployment (same Redis,
// configuration and secrets; its own port) running subcommand, and returns
// its base URL. It is stopped with SIGTERM when the test ends.
func (p *parley) sibling(t *testing.T, subcommand string) string {
	t.Helper()
	port := freePort(t)
	env := make([]string, 0, len(p.env)+1)
	for _, kv := range p.env {
		if !strings.HasPrefix(kv, "PARLEY_LISTEN=") {
			env = append(env, kv)
		}
	}
	env = append(env, fmt.Sprintf("PARLEY_LISTEN=127.0.0.1:%d", port))
	cmd := exec.Command(p.bin, subcommand)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("parley %s did not stop cleanly: %v", subcommand, err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("parley %s still running 15s after SIGTERM", subcommand)
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if subcommand == "worker" {
		return base
	}
	eventually(t, "parley "+subcommand+" ready", func() (bool, string) {
		resp, err := p.http.Get(base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return base
}

// at returns a copy of p that talks to another process of the deployment.
func (p *parley) at(base string) *parley {
	cp := *p
	cp.base = base
	return &cp
}

// Two gateways and two workers on one Redis: a desk on gateway A sees a
// message that arrived at gateway B, every message is stored once however
// often and wherever it is delivered, each chat is routed once, and each
// timer fires once.
func TestBlackboxScaleOut(t *testing.T) {
	t.Parallel()
	p := startParleyWith(t, parleyOptions{
		config: "agents:\n  - {id: ann, name: Ann, capacity: 1000, online: true}\n",
		env:    []string{"PARLEY_INACTIVITY_TIMEOUT=4s"},
	})
	b := p.at(p.sibling(t, "gateway"))
	p.sibling(t, "worker")

	// ann signs in on gateway A and listens to its live updates.
	const password = "a long enough password"
	add := exec.Command(p.bin, "user", "passwd", "-id", "ann") // ann comes from the configuration
	add.Env, add.Stdin = p.env, strings.NewReader(password+"\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	resp, err := p.http.Post(p.base+"/api/v1/session", "application/json", strings.NewReader(`{"user":"ann","password":"`+password+`"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign in on A: %v %v", err, resp)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			cookie = c
		}
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", p.base+"/api/v1/events", nil)
	req.AddCookie(cookie)
	stream, err := (&http.Client{}).Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("event stream on A: %v %v", err, stream)
	}
	defer stream.Body.Close()
	events := make(chan engine.Event, 1000)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e engine.Event
				if json.Unmarshal([]byte(data), &e) == nil {
					events <- e
				}
			}
		}
	}()

	// A message arrives at gateway B; the desk on A hears of it.
	b.mustAccept(t, b.whatsAppIn("+27820001000", "hello from B"))
	first := openConversation(p.contact(t, "whatsapp:+27820001000"))
	deadline := time.After(bbWait)
	for seen := false; !seen; {
		select {
		case e := <-events:
			seen = e.Type == engine.EventMessageIn && e.ConversationID == first
		case <-deadline:
			t.Fatal("the desk on gateway A never heard of the message that arrived at gateway B")
		}
	}

	// 20 contacts, 3 messages each, every webhook delivered twice, to
	// alternate gateways, all at once.
	const contacts, perContact = 20, 3
	var wg sync.WaitGroup
	for i := range contacts {
		for j := range perContact {
			params := p.whatsAppIn(fmt.Sprintf("+2782000%04d", 2000+i), fmt.Sprintf("message %d", j))
			for k, gw := range []*parley{p, b} {
				wg.Go(func() {
					if r := gw.inbound(t, params, signed); r.status != 200 {
						t.Errorf("delivery %d of %s: %s", k, params["MessageSid"], r)
					}
				})
			}
		}
	}
	wg.Wait()
	for i := range contacts {
		addr := channels.Address(fmt.Sprintf("whatsapp:+2782000%04d", 2000+i))
		msgs, _ := p.history(t, addr)
		if in := only(engine.DirIn, msgs); len(in) != perContact {
			t.Fatalf("%s: %d inbound messages, want %d", addr, len(in), perContact)
		}
		if n := len(withBody(msgs, "Chat assigned to Ann")); n != 1 {
			var bodies []string
			for _, m := range msgs {
				bodies = append(bodies, string(m.Direction)+": "+m.Body)
			}
			t.Fatalf("%s was routed %d times, want once; history: %q", addr, n, bodies)
		}
	}

	// Nobody answers: after the inactivity timeout each chat becomes a
	// ticket, once, though two workers run the timers.
	for i := range contacts {
		addr := channels.Address(fmt.Sprintf("whatsapp:+2782000%04d", 2000+i))
		eventually(t, "inactivity conversion of "+string(addr), func() (bool, string) {
			c := p.contact(t, addr)
			return c.Chat == "" && c.Ticket != "", fmt.Sprintf("chat %q ticket %q", c.Chat, c.Ticket)
		})
	}
	time.Sleep(2 * time.Second) // two reconciler sweeps: any second firing would show now
	for i := range contacts {
		addr := channels.Address(fmt.Sprintf("whatsapp:+2782000%04d", 2000+i))
		msgs, _ := p.history(t, addr)
		if n := len(withBody(msgs, "Converted to a ticket")); n != 1 {
			t.Fatalf("%s was converted %d times, want once", addr, n)
		}
	}
	// Every chat left ann exactly as often as it came: once the first one
	// is converted too, none holds her.
	eventually(t, "the first chat converted", func() (bool, string) {
		c := p.contact(t, "whatsapp:+27820001000")
		return c.Chat == "", c.Chat
	})
	if ann, err := p.store.Agent(t.Context(), "ann"); err != nil || ann.Load != 0 {
		t.Fatalf("ann's load %d (%v), want 0", ann.Load, err)
	}
}
