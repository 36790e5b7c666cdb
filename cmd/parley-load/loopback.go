package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// parley-load talks to this machine only: the target must resolve to
// loopback addresses, every connection it opens is checked again at dial
// time (so a name that resolves differently later cannot send it
// elsewhere), and its fake Twilio listens on loopback only.

var errNotLoopback = errors.New("not a loopback address")

// checkTarget parses a Parley base URL and makes sure its host is, or
// resolves only to, loopback addresses (127.0.0.0/8 or ::1).
func checkTarget(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q: no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: want a base URL without user, query or fragment", raw)
	}
	if err := resolvesToLoopback(ctx, u.Hostname()); err != nil {
		return nil, fmt.Errorf("%q: %w; parley-load only plays Twilio against a Parley on this machine (127.0.0.0/8 or ::1)", raw, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// resolvesToLoopback accepts an IP literal that is loopback, or a name all
// of whose addresses are.
func resolvesToLoopback(ctx context.Context, host string) error {
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is %w", host, errNotLoopback)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("%s does not resolve (%v), so it cannot be checked to be loopback", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s has no addresses", host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("%s resolves to %s, which is %w", host, a.IP, errNotLoopback)
		}
	}
	return nil
}

// checkListen refuses a listen address that is not on loopback: an empty
// host or 0.0.0.0 would offer the fake Twilio to the network.
func checkListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: listen on a loopback address (127.0.0.1 or [::1])", addr)
	}
	return nil
}

// loopbackOnly is a net.Dialer Control function: it refuses to connect to
// any address that is not loopback, whatever a name resolved to.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("dial %s: %w", address, errNotLoopback)
	}
	return nil
}

// newClient is an HTTP client tuned for many small requests to one host:
// keep-alive with up to conns idle connections, loopback dialing only, and
// an overall timeout per request (0 for none, as for an event stream).
func newClient(conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	transport := &http.Transport{
		Proxy:                 nil, // never through a proxy: loopback only
		DialContext:           dialer.DialContext,
		MaxIdleConns:          conns * 2,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: timeout,
		TLSHandshakeTimeout:   5 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect could lead off the machine; Twilio does not follow
		// them for webhooks either.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
