package main

import (
	"io"
	"net/http"
	"testing"
)

// sandboxOnRealRedis turns the black-box process's Twilio account off, so it
// runs in sandbox mode on the test's real Redis.
var sandboxOnRealRedis = []string{"TWILIO_ACCOUNT_SID=", "TWILIO_AUTH_TOKEN=", "PARLEY_TWILIO_API_URL="}

// The phone simulator writes as any number with no sign-in: with a real
// Redis it is served only when PARLEY_DEV_PHONE asks for it.
func TestBlackboxDevPhoneOnlyWhenAskedFor(t *testing.T) {
	phoneStatus := func(p *parley) int {
		t.Helper()
		resp, err := p.http.Get(p.base + "/dev/phone")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	off := startParleyWith(t, parleyOptions{env: sandboxOnRealRedis})
	if got := phoneStatus(off); got != http.StatusNotFound {
		t.Fatalf("sandbox on a real Redis without PARLEY_DEV_PHONE: /dev/phone answered %d, want 404", got)
	}
	on := startParleyWith(t, parleyOptions{env: append(sandboxOnRealRedis, "PARLEY_DEV_PHONE=1")})
	if got := phoneStatus(on); got != http.StatusOK {
		t.Fatalf("sandbox on a real Redis with PARLEY_DEV_PHONE=1: /dev/phone answered %d, want 200", got)
	}
}
