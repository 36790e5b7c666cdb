package main

import (
	"context"
	"slices"
	"strings"
	"testing"
)

const (
	checkService = "MG0123456789abcdef0123456789abcdef"
	checkHook    = bbPublicURL + "/webhooks/twilio/messages"
)

// twilioCheck runs `parley twilio check args...` in process against fake.
func twilioCheck(t *testing.T, fake *fakeTwilio, env map[string]string, args ...string) (code int, out string) {
	t.Helper()
	vars := map[string]string{
		"TWILIO_ACCOUNT_SID": fake.accountSID, "TWILIO_AUTH_TOKEN": fake.authToken,
		"PARLEY_TWILIO_API_URL": fake.URL(), "PARLEY_PUBLIC_URL": bbPublicURL,
		"PARLEY_SMS_FROM": bbSMSFrom, "PARLEY_WHATSAPP_FROM": bbWhatsAppFrom,
		"PARLEY_TWILIO_MESSAGING_SERVICE_SID": checkService,
	}
	for k, v := range env {
		vars[k] = v
	}
	var stdout, stderr syncBuffer
	code = run(context.Background(), append([]string{"twilio", "check"}, args...), envOf(vars), &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

func newCheckFake(t *testing.T) *fakeTwilio {
	return newFakeTwilio(t, "AC"+randomHex(16), randAlnum(32), bbWhatsAppFrom, bbSMSFrom, bbPublicURL+"/webhooks/twilio/status")
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestTwilioCheckRightWiring(t *testing.T) {
	fake := newCheckFake(t)
	// Twilio's connection-override fragment is not part of the URL.
	fake.wire(bbSMSFrom, checkHook+"#rc=3&rp=all", "POST")
	fake.wire("whatsapp:+27820000099", "https://elsewhere.example/hook", "POST") // another sender, on page 1
	fake.wire(bbWhatsAppFrom, checkHook, "POST")                                 // ours, on page 2
	fake.wire(checkService, checkHook, "POST")
	code, out := twilioCheck(t, fake, nil)
	if code != 0 {
		t.Fatalf("check of right wiring: exit %d\n%s", code, out)
	}
	wantLines(t, out,
		"ok     credentials: account "+fake.accountSID+" (Fake account) is active",
		"ok     phone number "+bbSMSFrom+": incoming messages go to POST "+checkHook,
		"ok     WhatsApp sender "+bbWhatsAppFrom+": incoming messages go to POST "+checkHook,
		"ok     Messaging Service Parley service: incoming messages go to POST "+checkHook,
		"Twilio is wired to Parley.")
	if strings.Contains(out, "warn") {
		t.Errorf("a warning for an https public URL:\n%s", out)
	}
	if u := fake.wiringUpdates(); len(u) != 0 {
		t.Errorf("check without --fix changed %v", u)
	}
}

func TestTwilioCheckWrongWiringAndFix(t *testing.T) {
	fake := newCheckFake(t)
	number := fake.wire(bbSMSFrom, "https://old.example/sms", "GET")
	sender := fake.wire(bbWhatsAppFrom, "", "")
	service := fake.wire(checkService, checkHook, "GET")

	code, out := twilioCheck(t, fake, nil)
	if code != 1 {
		t.Fatalf("check of wrong wiring: exit %d, want 1\n%s", code, out)
	}
	wantLines(t, out,
		"WRONG  phone number "+bbSMSFrom+": incoming messages go to GET https://old.example/sms, want POST "+checkHook,
		"WRONG  WhatsApp sender "+bbWhatsAppFrom+": incoming messages go to nowhere (no URL set), want POST "+checkHook,
		"WRONG  Messaging Service Parley service: incoming messages go to GET "+checkHook+", want POST "+checkHook,
		"3 problem(s); run parley twilio check --fix")
	if u := fake.wiringUpdates(); len(u) != 0 {
		t.Fatalf("check without --fix changed %v", u)
	}

	code, out = twilioCheck(t, fake, nil, "--fix")
	if code != 0 {
		t.Fatalf("check --fix: exit %d\n%s", code, out)
	}
	wantLines(t, out,
		"fixed  phone number "+bbSMSFrom+": incoming messages went to GET https://old.example/sms, now to POST "+checkHook,
		"fixed  WhatsApp sender "+bbWhatsAppFrom+": incoming messages went to nowhere (no URL set), now to POST "+checkHook)
	want := []string{number.SID + " POST " + checkHook, sender.SID + " POST " + checkHook, service.SID + " POST " + checkHook}
	if got := fake.wiringUpdates(); !slices.Equal(got, want) {
		t.Errorf("updates through the API:\n got %v\nwant %v", got, want)
	}
	// And a check afterwards finds it all right.
	if code, out = twilioCheck(t, fake, nil); code != 0 {
		t.Errorf("check after --fix: exit %d\n%s", code, out)
	}
}

func TestTwilioCheckBadCredentials(t *testing.T) {
	fake := newCheckFake(t)
	fake.wire(bbSMSFrom, checkHook, "POST")
	code, out := twilioCheck(t, fake, map[string]string{"TWILIO_AUTH_TOKEN": randAlnum(32)})
	if code != 1 {
		t.Fatalf("check with a wrong auth token: exit %d, want 1\n%s", code, out)
	}
	wantLines(t, out, "WRONG  credentials: Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN", "20003")
	if strings.Contains(out, "phone number") {
		t.Errorf("went on after the credentials failed:\n%s", out)
	}
}

func TestTwilioCheckMissingAndSandboxAndHTTP(t *testing.T) {
	fake := newCheckFake(t)
	fake.wire(checkService, "", "")
	fake.wiring.services[0].DefersToNumbers = true
	code, out := twilioCheck(t, fake, map[string]string{"PARLEY_PUBLIC_URL": "http://parley.example.test"})
	if code != 1 {
		t.Fatalf("check with the SMS number missing: exit %d, want 1\n%s", code, out)
	}
	wantLines(t, out,
		"warn   PARLEY_PUBLIC_URL http://parley.example.test is not https",
		"WRONG  phone number "+bbSMSFrom+": not found on this Twilio account",
		"warn   WhatsApp sender "+bbWhatsAppFrom+" is not registered on this account (the WhatsApp sandbox?)",
		"ok     Messaging Service Parley service: hands incoming messages to each number's own webhook",
		"1 problem(s)")
}

func TestTwilioCheckSandboxMode(t *testing.T) {
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"twilio", "check"}, envOf(nil), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no Twilio account configured") {
		t.Errorf("check without an account: exit %d, stderr %q", code, stderr.String())
	}
}
