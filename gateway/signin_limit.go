package gateway

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// The sign-in budget. Every attempt is reserved, atomically, before its
// password is checked, from three counters:
//   - per user name and address: 10 in 15 minutes. A guesser at one address
//     is stopped, and the user at their own address is not;
//   - per address: 50 in 15 minutes, against one address trying many names;
//   - per user name: 100 an hour, a slower ceiling against guessing from
//     many addresses.
//
// The last two do not apply at an address the user signed in from before
// (kept 30 days), so a stranger cannot lock a user out of their usual place.
// Each counter's window starts at its first attempt and is not renewed by
// later ones. A correct password gives its attempt back.

type signInLimits struct {
	pair, address, user       int
	pairWindow, addressWindow time.Duration
	userWindow, knownFor      time.Duration
}

var defaultSignInLimits = signInLimits{
	pair: 10, address: 50, user: 100,
	pairWindow: 15 * time.Minute, addressWindow: 15 * time.Minute, userWindow: time.Hour,
	knownFor: 30 * 24 * time.Hour,
}

type signInLimiter struct {
	rdb    redis.UniversalClient
	prefix string
	limits signInLimits
}

func (l *signInLimiter) keys(user, ip string) []string {
	p := l.prefix + "signin:"
	return []string{p + "pair:" + user + "|" + ip, p + "ip:" + ip, p + "user:" + user, p + "known:" + user}
}

// reserveScript: KEYS pair, address, user counters and the user's known
// addresses; ARGV the address, then limit and window (ms) of each counter.
// Answers 1 when the attempt may go ahead (and counts it), 0 when not.
var reserveScript = redis.NewScript(`
local known = redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1
for i = 1, 3 do
  if i == 1 or not known then
    local n = tonumber(redis.call('GET', KEYS[i]) or '0')
    if n >= tonumber(ARGV[2 * i]) then return 0 end
  end
end
for i = 1, 3 do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1])
  end
end
return 1
`)

func (l *signInLimiter) reserve(ctx context.Context, user, ip string) (bool, error) {
	lim := l.limits
	n, err := reserveScript.Run(ctx, l.rdb, l.keys(user, ip), ip,
		lim.pair, lim.pairWindow.Milliseconds(), lim.address, lim.addressWindow.Milliseconds(),
		lim.user, lim.userWindow.Milliseconds()).Int()
	return n == 1, err
}

// refundScript gives an attempt back to each counter and remembers the
// address as one the user signs in from.
var refundScript = redis.NewScript(`
for i = 1, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
return 1
`)

func (l *signInLimiter) succeeded(ctx context.Context, user, ip string) error {
	return refundScript.Run(ctx, l.rdb, l.keys(user, ip), ip, l.limits.knownFor.Milliseconds()).Err()
}
