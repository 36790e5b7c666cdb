package channels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Media that customers send stays at Twilio: the webhook carries its URL.
// On an account with media authentication on (Twilio's recommended
// setting) that URL answers only with the account's credentials, then
// redirects to a short-lived address on a storage host. MediaFetcher
// fetches it with the credentials sent to Twilio's own API host alone (or
// the configured PARLEY_TWILIO_API_URL host), never to where a redirect
// leads, with a bounded size and a timeout.

// twilioAPIHost is the host of Twilio's media URLs.
const twilioAPIHost = "api.twilio.com"

// MediaFetchConfig is what a MediaFetcher needs.
type MediaFetchConfig struct {
	AccountSID string
	AuthToken  string
	// APIURL, when set, replaces the scheme and host of Twilio's media
	// URLs, as for every REST call (a test fake or a proxy); its host then
	// gets the credentials too.
	APIURL string
	// Timeout bounds one fetch or delete, redirects and body included.
	Timeout time.Duration
}

// MediaFetcher fetches and deletes media at Twilio.
type MediaFetcher struct {
	cfg     MediaFetchConfig
	rewrite *url.URL // nil without APIURL
	client  *http.Client
}

// FetchedMedia is one media item as Twilio served it.
type FetchedMedia struct {
	Data        []byte
	ContentType string
	// Name is the file name Twilio gave (Content-Disposition), if any.
	Name string
}

// MediaError is a fetch or delete that did not work. TooLarge is final:
// asking again gets the same answer.
type MediaError struct {
	HTTPStatus int
	TooLarge   bool
	Message    string
}

func (e *MediaError) Error() string {
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("media: http %d: %s", e.HTTPStatus, e.Message)
	}
	return "media: " + e.Message
}

// IsMediaTooLarge reports whether err is a media item over the limit.
func IsMediaTooLarge(err error) bool {
	var me *MediaError
	return errors.As(err, &me) && me.TooLarge
}

// maxRedirects bounds how far a media URL may send the fetch.
const maxRedirects = 5

// NewMediaFetcher returns a fetcher. With no credentials (sandbox mode) it
// fetches without any.
func NewMediaFetcher(cfg MediaFetchConfig) (*MediaFetcher, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	f := &MediaFetcher{cfg: cfg}
	if cfg.APIURL != "" {
		base, err := url.Parse(cfg.APIURL)
		if err != nil || base.Host == "" {
			return nil, fmt.Errorf("twilio api url %q: not an absolute URL", cfg.APIURL)
		}
		f.rewrite = base
	}
	f.client = &http.Client{
		Timeout:   cfg.Timeout,
		Transport: credentialsFor{trusted: f.trusted, user: cfg.AccountSID, pass: cfg.AuthToken, next: http.DefaultTransport},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
				return fmt.Errorf("redirect to a %q URL", req.URL.Scheme)
			}
			return nil
		},
	}
	return f, nil
}

// trusted reports whether a host may receive the account's credentials:
// Twilio's API host, or the configured replacement for it.
func (f *MediaFetcher) trusted(u *url.URL) bool {
	if f.rewrite != nil {
		return u.Host == f.rewrite.Host && u.Scheme == f.rewrite.Scheme
	}
	return u.Scheme == "https" && u.Host == twilioAPIHost
}

// target is the address actually called for a media URL: Twilio's host
// replaced by APIURL's when one is set.
func (f *MediaFetcher) target(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &MediaError{Message: "not an http(s) URL"}
	}
	if f.rewrite != nil && u.Hostname() == twilioAPIHost {
		u.Scheme, u.Host = f.rewrite.Scheme, f.rewrite.Host
	}
	return u, nil
}

// credentialsFor adds Basic auth to requests for trusted hosts only. It is
// the transport, so every hop of a redirect is checked on its own: Go's
// client would otherwise carry a header set on the first request to a
// redirect's host when that is a subdomain of the first.
type credentialsFor struct {
	trusted    func(*url.URL) bool
	user, pass string
	next       http.RoundTripper
}

func (c credentialsFor) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	if c.user != "" && c.trusted(req.URL) {
		req.SetBasicAuth(c.user, c.pass)
	}
	return c.next.RoundTrip(req)
}

// Fetch downloads one media item of at most limit bytes.
func (f *MediaFetcher) Fetch(ctx context.Context, rawURL string, limit int64) (FetchedMedia, error) {
	u, err := f.target(rawURL)
	if err != nil {
		return FetchedMedia{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return FetchedMedia{}, &MediaError{Message: err.Error()}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return FetchedMedia{}, &MediaError{Message: MaskNumbers(err.Error())}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return FetchedMedia{}, &MediaError{HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	}
	if resp.ContentLength > limit {
		return FetchedMedia{}, &MediaError{TooLarge: true, Message: fmt.Sprintf("%d bytes, more than %d", resp.ContentLength, limit)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return FetchedMedia{}, &MediaError{Message: "reading the body: " + err.Error()}
	}
	if int64(len(data)) > limit {
		return FetchedMedia{}, &MediaError{TooLarge: true, Message: fmt.Sprintf("more than %d bytes", limit)}
	}
	out := FetchedMedia{Data: data, ContentType: resp.Header.Get("Content-Type")}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		out.Name = cleanFileName(params["filename"])
	}
	return out, nil
}

// cleanFileName keeps a file name's last element, without control
// characters, at most 200 bytes.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if len(name) > 200 {
		name = name[:200]
	}
	return strings.ToValidUTF8(name, "")
}

// Delete removes a media item from Twilio (the Media resource under its
// message). Only a URL of Twilio's Media resource, on a trusted host, is
// deleted: the credentials go nowhere else.
func (f *MediaFetcher) Delete(ctx context.Context, rawURL string) error {
	u, err := f.target(rawURL)
	if err != nil {
		return err
	}
	if !f.trusted(u) || !isMediaResource(u.Path) {
		return &MediaError{Message: "not a Twilio media resource"}
	}
	if f.cfg.AccountSID == "" {
		return &MediaError{Message: "no Twilio account"}
	}
	if !strings.HasSuffix(u.Path, ".json") {
		u.Path += ".json"
	}
	u.RawQuery = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), nil)
	if err != nil {
		return &MediaError{Message: err.Error()}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return &MediaError{Message: err.Error()}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	// 404: gone already, which is what was asked.
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
		return &MediaError{HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	}
	return nil
}

// isMediaResource matches /2010-04-01/Accounts/AC…/Messages/MM…/Media/ME….
func isMediaResource(p string) bool {
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/"), ".json"), "/")
	return len(parts) == 7 && parts[0] == "2010-04-01" && parts[1] == "Accounts" && strings.HasPrefix(parts[2], "AC") &&
		parts[3] == "Messages" && parts[4] != "" && parts[5] == "Media" && strings.HasPrefix(parts[6], "ME")
}
