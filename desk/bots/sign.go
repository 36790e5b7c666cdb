package bots

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>" on events
// and on callbacks. An event's HMAC is over "<t>.<body>"; a callback's over
// "<t>.POST <path>\n<body>", so that it holds for one bot and one
// conversation only. During a key change-over Parley signs each event once
// per secret (one v1 each) and accepts a callback signed with either.
const SignatureHeader = "X-Parley-Signature"

// SignatureTolerance is how far a signature's time may be from now, either
// way. A receiver that refuses replays needs to remember what it received
// for twice as long.
const SignatureTolerance = 5 * time.Minute

// Sign makes the signature header value for payload (an event's body) at t.
func Sign(secret string, t time.Time, payload []byte) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), mac(secret, t.Unix(), payload))
}

// signAll signs payload at t once per secret, in one header, so that a bot
// in a key change-over can check the event with either key.
func signAll(secrets []string, t time.Time, payload []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t=%d", t.Unix())
	for _, s := range secrets {
		b.WriteString(",v1=" + mac(s, t.Unix(), payload))
	}
	return b.String()
}

// CallbackPath is the path of a bot's callback for a conversation.
func CallbackPath(bot, conv string) string {
	return "/api/v1/bots/" + bot + "/conversations/" + conv + "/actions"
}

// callbackPayload is what a callback's signature covers: method, path and
// body.
func callbackPayload(bot, conv string, body []byte) []byte {
	return append([]byte("POST "+CallbackPath(bot, conv)+"\n"), body...)
}

// SignCallback makes the signature header of a bot's callback at t.
func SignCallback(secret string, t time.Time, bot, conv string, body []byte) string {
	return Sign(secret, t, callbackPayload(bot, conv, body))
}

func mac(secret string, t int64, payload []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", t)
	m.Write(payload)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against payload (an event's body) at
// now: its time must be within SignatureTolerance of now, and one of its v1
// values must match secret. It is what a bot checks on each event.
func Verify(secret, header string, payload []byte, now time.Time) error {
	return verifyAny([]string{secret}, header, payload, now)
}

// VerifyCallback checks the signature header of a callback for bot's
// conversation conv against any of the bot's secrets.
func VerifyCallback(secrets []string, header, bot, conv string, body []byte, now time.Time) error {
	return verifyAny(secrets, header, callbackPayload(bot, conv, body), now)
}

// verifyAny checks a signature header against any of secrets.
func verifyAny(secrets []string, header string, payload []byte, now time.Time) error {
	var ts int64
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts, _ = strconv.ParseInt(v, 10, 64)
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == 0 || len(sigs) == 0 {
		return errors.New("malformed signature header")
	}
	at := time.Unix(ts, 0)
	if now.Sub(at) > SignatureTolerance || at.Sub(now) > SignatureTolerance {
		return errors.New("signature more than five minutes old or in the future")
	}
	for _, secret := range secrets {
		want := mac(secret, ts, payload)
		for _, sig := range sigs {
			if hmac.Equal([]byte(want), []byte(sig)) {
				return nil
			}
		}
	}
	return errors.New("signature does not match")
}
