package gateway

import (
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// trustedProxies are the reverse proxies (PARLEY_TRUSTED_PROXIES) whose
// X-Forwarded-For is believed. Without any, a client's address is its
// connection's, and the header, which anyone can send, is ignored.
type trustedProxies []*net.IPNet

// parseProxies reads IPs and CIDR ranges; config has checked them, and an
// entry that does not parse is left out (trusting less, never more).
func parseProxies(list []string) trustedProxies {
	var out trustedProxies
	for _, p := range list {
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil {
				bits := 8 * len(ip.To16())
				if ip.To4() != nil {
					ip, bits = ip.To4(), 32
				}
				out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			}
			continue
		}
		if _, n, err := net.ParseCIDR(p); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (t trustedProxies) trusts(ip net.IP) bool {
	for _, n := range t {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the address a request came from. Behind trusted proxies it is
// the right-most X-Forwarded-For entry that is not one of them: proxies
// append what they saw, so entries to its left are the client's own claims.
func (t trustedProxies) clientIP(c *fiber.Ctx) string {
	remote := c.Context().RemoteIP()
	if !t.trusts(remote) {
		return remote.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip := net.ParseIP(strings.TrimSpace(hops[i]))
		if ip == nil {
			break // a garbled header: trust nothing further left
		}
		if !t.trusts(ip) {
			return ip.String()
		}
	}
	return remote.String()
}
