package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleydesk/parley/config/configtest"
	"github.com/parleydesk/parley/desk/bots"
	"github.com/parleydesk/parley/desk/engine"

	"github.com/rs/zerolog"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// fakeContent plays Twilio's Content API.
type fakeContent struct {
	mu      sync.Mutex
	listed  []channels.ContentTemplate
	creates []string // "body|button,button"
	fail    error
}

func (c *fakeContent) ContentTemplates(context.Context) ([]channels.ContentTemplate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]channels.ContentTemplate(nil), c.listed...), c.fail
}

func (c *fakeContent) CreateQuickReply(_ context.Context, name, body string, buttons []string, fallback string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return "", c.fail
	}
	c.creates = append(c.creates, body+"|"+strings.Join(buttons, ","))
	return fmt.Sprintf("HX%032d", len(c.creates)), nil
}

func withContent(f *fixture, rules *config.Engine, c ContentAPI) {
	f.svc = NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: rules, Now: f.clock.Now,
		Log: zerolog.Nop(), Content: c, BotSecrets: map[string][]string{"helper": {botSecret}}})
}

var admin = engine.Actor{ID: "ada", Role: "admin"}

func sid(n int) string { return fmt.Sprintf("HX%032x", n) }

func TestSyncTemplatesAddsUpdatesAndRemoves(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	content := &fakeContent{listed: []channels.ContentTemplate{
		{SID: sid(1), Name: "order", Language: "en", Status: "approved", Category: "UTILITY", Body: "Order {{1}}", Variables: map[string]string{"1": "A-1"}, Types: []string{"twilio/text"}},
		{SID: sid(2), Name: "promo", Status: "pending", Body: "Sale"},
		{SID: sid(3), Name: "nope", Status: "rejected", Rejection: "marketing", Body: "No"},
		{SID: sid(4), Name: quickReplyPrefix + "abc", Status: "unsubmitted", Body: "buttons"},
	}}
	rules := configtest.Rules(t)
	rules.Templates = []config.Template{{Name: "by_hand", ContentSID: sid(9), Preview: "typed"}}
	withContent(&f, rules, content)
	if _, err := f.svc.LoadSettings(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SyncTemplates(ctx, engine.Actor{ID: "ann", Role: "agent"}); !errors.Is(err, engine.ErrNotAllowed) {
		t.Errorf("a sync by an agent: %v, want ErrNotAllowed", err)
	}
	res, err := f.svc.SyncTemplates(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if want := (TemplateSync{Total: 3, Approved: 1, Added: 3, Kept: 1}); res != want {
		t.Errorf("first sync %+v, want %+v", res, want)
	}
	sendable := map[string]bool{}
	for _, tp := range f.svc.Rules().Templates {
		sendable[tp.Name] = tp.Sendable()
	}
	if fmt.Sprint(sendable) != "map[by_hand:true nope:false order:true promo:false]" {
		t.Errorf("after the first sync, sendable: %v (Parley's own quick replies must not be listed)", sendable)
	}

	// promo approved, nope deleted in Twilio.
	content.listed = []channels.ContentTemplate{content.listed[0], {SID: sid(2), Name: "promo", Status: "approved", Body: "Sale"}}
	if res, err = f.svc.SyncTemplates(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if want := (TemplateSync{Total: 2, Approved: 2, Updated: 1, Removed: 1, Kept: 1}); res != want {
		t.Errorf("second sync %+v, want %+v", res, want)
	}
	if tp := f.svc.Rules().Template(sid(3)); tp != nil {
		t.Errorf("the template Twilio deleted is still there: %+v", tp)
	}
	// The stored settings hold the sync, for every other process.
	other := NewService(Options{Store: f.store, Dispatcher: f.dispatch, Provider: f.provider, Rules: configtest.Rules(t), Now: f.clock.Now, Log: zerolog.Nop()})
	if _, err := other.LoadSettings(ctx); err != nil {
		t.Fatal(err)
	}
	if tp := other.Rules().Template(sid(2)); tp == nil || !tp.Sendable() || other.Rules().Template(sid(9)) == nil {
		t.Errorf("another process reads promo %+v and by_hand %+v", tp, other.Rules().Template(sid(9)))
	}
	log, err := f.svc.AuditLog(ctx, 0, 10)
	if err != nil || len(log) != 2 || log[0].Action != "templates.sync" || !strings.Contains(log[0].Detail, "1 removed") {
		t.Errorf("audit: %+v %v", log, err)
	}

	// Twilio failing changes nothing.
	content.fail = &channels.SendError{HTTPStatus: 401, Message: "Authenticate"}
	if _, err := f.svc.SyncTemplates(ctx, admin); !errors.Is(err, ErrContentAPI) {
		t.Errorf("sync with Twilio refusing: %v, want ErrContentAPI", err)
	}
	if len(f.svc.Rules().Templates) != 3 {
		t.Errorf("a failed sync changed the templates: %+v", f.svc.Rules().Templates)
	}
}

func TestSyncTemplatesWithoutTwilio(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.SyncTemplates(context.Background(), admin); !errors.Is(err, ErrNoContentAPI) {
		t.Errorf("sync in sandbox mode: %v, want ErrNoContentAPI", err)
	}
}

// Outside the 24-hour window only an approved template goes; an unapproved
// one is refused before the provider is called, when queued and, if its
// approval was withdrawn while it waited, when sent.
func TestTemplatesOutsideTheWindow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	rules := configtest.Rules(t)
	rules.Templates = []config.Template{
		{Name: "ok", ContentSID: sid(1), Source: config.TemplateFromTwilio, Status: "approved"},
		{Name: "wait", ContentSID: sid(2), Source: config.TemplateFromTwilio, Status: "pending"},
		{Name: "hand", ContentSID: sid(3)},
	}
	withContent(&f, rules, &fakeContent{})
	conv := openConversation(t, f, "whatsapp:+27820000001")
	f.clock.Add(25 * time.Hour)
	if _, err := f.svc.Send(ctx, conv, engine.Reply{Body: "hello again"}); !errors.Is(err, channels.ErrTemplateRequired) {
		t.Errorf("free text outside the window: %v, want ErrTemplateRequired", err)
	}
	_, err := f.svc.Send(ctx, conv, engine.Reply{Template: &channels.Template{ContentSID: sid(2)}})
	if !errors.Is(err, engine.ErrTemplateNotApproved) || !strings.Contains(err.Error(), `"wait"`) || !strings.Contains(err.Error(), "pending") {
		t.Errorf("pending template: %v, want ErrTemplateNotApproved naming it and its status", err)
	}
	for _, s := range []string{sid(1), sid(3)} {
		if _, err := f.svc.Send(ctx, conv, engine.Reply{Template: &channels.Template{ContentSID: s}}); err != nil {
			t.Errorf("template %s outside the window: %v", s, err)
		}
	}
	if err := f.svc.DeliverOutbox(ctx, "whatsapp:+27820000001"); err != nil {
		t.Fatal(err)
	}
	if len(f.provider.calls) != 2 {
		t.Fatalf("provider calls %d, want the 2 sendable templates", len(f.provider.calls))
	}

	// An approval withdrawn while the message waited: failed, never sent.
	withdrawn := *rules
	withdrawn.Templates = []config.Template{{Name: "ok", ContentSID: sid(1), Source: config.TemplateFromTwilio, Status: "paused"}, rules.Templates[2]}
	m3, err := f.svc.Send(ctx, conv, engine.Reply{Template: &channels.Template{ContentSID: sid(1)}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.rules.Store(&withdrawn) // ...paused before its send
	if err := f.svc.DeliverOutbox(ctx, "whatsapp:+27820000001"); err != nil {
		t.Fatal(err)
	}
	if len(f.provider.calls) != 2 {
		t.Errorf("provider calls %+v, want no third", f.provider.calls)
	}
	got, err := f.store.Message(ctx, m3.ID)
	if err != nil || got.Status != channels.StatusFailed || got.ErrorCode != "template_not_approved" {
		t.Errorf("the template paused while queued: %+v %v, want failed template_not_approved", got, err)
	}
}

func TestBotButtonsOnWhatsAppAndSMS(t *testing.T) {
	ctx := context.Background()
	f := newBotFixture(t, func(bots.Event) (int, bots.Reply) { return 200, bots.Reply{} })
	content := &fakeContent{}
	withContent(&f.fixture, f.svc.Rules(), content)
	wa, err := f.svc.Receive(ctx, inbound("SMw", "whatsapp:+27820000002", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	sms, err := f.svc.Receive(ctx, inbound("SMs", "+27820000003", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	four := []engine.BotAction{{Type: "buttons", Body: "Pick", Buttons: []string{"a", "b", "c", "d"}}}
	if err := f.svc.BotActions(ctx, "helper", wa.ConversationID, four); !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), "1 to 3 buttons") {
		t.Errorf("4 buttons on WhatsApp: %v, want ErrInvalid naming the limit", err)
	}
	long := []engine.BotAction{{Type: "buttons", Body: "Pick", Buttons: []string{"a label far too long for it"}}}
	if err := f.svc.BotActions(ctx, "helper", wa.ConversationID, long); !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), "20 characters") {
		t.Errorf("a 27-character button on WhatsApp: %v, want ErrInvalid naming the limit", err)
	}
	if err := f.svc.BotActions(ctx, "helper", sms.ConversationID, four); err != nil {
		t.Errorf("4 buttons on SMS: %v", err)
	}
	two := []engine.BotAction{{Type: "buttons", Body: "Pick", Buttons: []string{"a", "b"}}}
	for range 2 {
		if err := f.svc.BotActions(ctx, "helper", wa.ConversationID, two); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []channels.Address{"whatsapp:+27820000002", "sms:+27820000003"} {
		if err := f.svc.DeliverOutbox(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, c := range f.provider.calls {
		if c.Template != nil {
			got = append(got, string(c.To)+" "+c.Template.ContentSID+" body="+c.Body)
		} else {
			got = append(got, string(c.To)+" "+strings.ReplaceAll(c.Body, "\n", "/"))
		}
	}
	want := []string{
		"whatsapp:+27820000002 " + fmt.Sprintf("HX%032d", 1) + " body=",
		"whatsapp:+27820000002 " + fmt.Sprintf("HX%032d", 1) + " body=",
		"sms:+27820000003 Pick/1. a/2. b/3. c/4. d",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sends:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(content.creates) != 1 || content.creates[0] != "Pick|a,b" {
		t.Errorf("content created %q, want one for the set", content.creates)
	}
}

// Sends of one new set racing create its content once.
func TestQuickReplyCreatedOnceUnderRace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	content := &fakeContent{}
	withContent(&f, configtest.Rules(t), content)
	q := &engine.QuickReply{Body: "Pick", Buttons: []string{"a", "b"}}
	var wg sync.WaitGroup
	sids := make([]string, 8)
	for i := range sids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sid, err := f.svc.quickReplyContent(ctx, q, "Pick\n1. a\n2. b")
			if err != nil {
				t.Error(err)
			}
			sids[i] = sid
		}()
	}
	wg.Wait()
	if len(content.creates) != 1 {
		t.Errorf("%d creations for one set sent 8 times at once, want 1", len(content.creates))
	}
	for _, s := range sids {
		if s != sids[0] {
			t.Errorf("sends got different SIDs: %q", sids)
			break
		}
	}
}
