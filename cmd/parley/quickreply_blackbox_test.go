package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/bots"
)

// quickReplySIDs are the content resources Parley created, oldest first.
func (f *fakeTwilio) quickReplySIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, it := range f.content.items {
		if strings.HasPrefix(it.Name, "parley_qr_") {
			out = append(out, it.SID)
		}
	}
	return out
}

func (f *fakeTwilio) failContentCreates(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.content.createFails = status
}

// TestBlackboxBotQuickReplies: a bot's buttons reach WhatsApp as real quick
// replies, through a content resource created once per set and reused; a
// different set gets its own; SMS gets the numbered list; a failed creation
// falls back to the numbered list; a tapped button reaches the bot.
func TestBlackboxBotQuickReplies(t *testing.T) {
	t.Parallel()
	secret := "buttons-" + randAlnum(24)
	buttons := func(body string, labels ...string) []byte {
		raw, _ := json.Marshal(bots.Reply{Actions: []engine.BotAction{{Type: "buttons", Body: body, Buttons: labels}}})
		return raw
	}
	tap := newBotTap(t, secret, func(_ *http.Request, _ []byte, ev bots.Event) (int, []byte) {
		if ev.Type != "message" {
			return http.StatusNoContent, nil
		}
		switch ev.Message.Body {
		case "menu":
			return http.StatusOK, buttons("How can we help?", "hours", "agent")
		case "more":
			return http.StatusOK, buttons("How can we help?", "hours", "agent", "billing")
		case "pick":
			return http.StatusOK, buttons("Which one?", "red", "blue")
		}
		return http.StatusOK, []byte(`{"actions":[{"type":"text","body":"you chose ` + ev.Message.Body + `"}]}`)
	})
	e := startBotEngine(t, engineSetup{}, []string{botYAML("menu", tap.URL, botSecretEnv, "departments: [general]")}, botSecretEnv+"="+secret)

	const wa1, wa2, wa3 = channels.Address("whatsapp:+27840000901"), channels.Address("whatsapp:+27840000902"), channels.Address("whatsapp:+27840000903")
	e.say(t, wa1, "menu")
	waitFor(t, bbWait, "the first quick-reply resource", func() (bool, string) { return len(e.fake.quickReplySIDs()) == 1, "none yet" })
	menu := e.fake.quickReplySIDs()[0]
	e.expectTexts(t, wa1, menu)
	e.say(t, wa2, "menu")
	e.expectTexts(t, wa2, menu)
	if n := len(e.fake.contentCreates()); n != 1 {
		t.Errorf("%d content resources created for one set of buttons sent twice, want 1", n)
	}
	create := e.fake.contentCreates()[0]
	qr, _ := create["types"].(map[string]any)["twilio/quick-reply"].(map[string]any)
	raw, _ := json.Marshal(qr)
	if want := `{"actions":[{"id":"hours","title":"hours"},{"id":"agent","title":"agent"}],"body":"How can we help?"}`; string(raw) != want {
		t.Errorf("twilio/quick-reply created as %s, want %s", raw, want)
	}

	e.say(t, wa1, "more")
	waitFor(t, bbWait, "a second resource for another set", func() (bool, string) { return len(e.fake.quickReplySIDs()) == 2, "not yet" })
	more := e.fake.quickReplySIDs()[1]
	e.expectTexts(t, wa1, menu, more)

	// The customer taps a button: the bot gets its text and payload.
	tapMsg := e.whatsAppIn("+27840000901", "hours")
	tapMsg["ButtonText"], tapMsg["ButtonPayload"], tapMsg["MessageType"] = "hours", "hours", "button"
	e.mustAccept(t, tapMsg)
	e.expectTexts(t, wa1, menu, more, "you chose hours")
	var tapped *channels.Button
	id := e.chatOf(t, wa1).ID
	for _, ev := range tap.eventsFor(id) {
		if ev.event.Message.Button != nil {
			tapped = ev.event.Message.Button
		}
	}
	if tapped == nil || tapped.Text != "hours" || tapped.Payload != "hours" {
		t.Errorf("the tap reached the bot as %+v, want text and payload hours", tapped)
	}

	// SMS has no buttons: the numbered list, and no resource for it.
	const sms = channels.Address("sms:+27840000904")
	e.mustAccept(t, e.smsIn("+27840000904", "menu"))
	e.expectTexts(t, channels.Address(strings.TrimPrefix(string(sms), "sms:")), "How can we help?\n1. hours\n2. agent")

	// Twilio refuses to create one: the numbered list goes instead.
	e.fake.failContentCreates(http.StatusInternalServerError)
	e.say(t, wa3, "pick")
	e.expectTexts(t, wa3, "Which one?\n1. red\n2. blue")
	if n := len(e.fake.quickReplySIDs()); n != 2 {
		t.Errorf("%d resources after a refused creation, want still 2", n)
	}
	if !strings.Contains(e.log.String(), "quick-reply content not created") {
		t.Errorf("the fallback was not logged")
	}
}
