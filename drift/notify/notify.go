// Package notify holds outgoing sinks for drift.Dispatcher: a webhook
// signed per the Standard Webhooks specification and a Slack incoming
// webhook. Each has a Deliver method to use as drift.Subscriber.Deliver:
//
//	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: "https://hooks.example.com/plugindrift", Secret: secret})
//	…
//	d, err := drift.NewDispatcher(store, []drift.Subscriber{{Name: "webhook", Deliver: hook.Deliver}}, nil)
//
// # Outgoing requests
//
// Both sinks POST with a timeout (10 seconds unless configured), refuse
// redirects (a 3xx answer is a failed delivery: a redirect could carry a
// signed body to another host), and check the URL once, when the sink is
// made, with an allow-list hook. Without a hook only https URLs are
// allowed; a hook replaces that rule entirely (a test may allow its
// http://127.0.0.1 receiver). Any answer but 2xx is a failed delivery,
// retried by the Dispatcher; error text never carries the URL's secret
// parts (Slack's URL is itself a credential, so errors name only its host).
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// DefaultTimeout bounds one outgoing request when a config sets none.
const DefaultTimeout = 10 * time.Second

// errRedirect is what a refused redirect returns from the client.
var errRedirect = errors.New("redirect refused")

// poster sends JSON bodies to one checked URL. It is the one place the
// rules of "Outgoing requests" live.
type poster struct {
	url     *url.URL
	client  *http.Client
	timeout time.Duration
}

// newPoster checks raw with allow (nil: https only) and prepares a client
// that refuses redirects. client may be nil.
func newPoster(pkg, raw string, allow func(*url.URL) error, client *http.Client, timeout time.Duration) (*poster, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("notify: %s URL %s: want an absolute https:// URL", pkg, redact.Quote(raw))
	}
	if allow == nil {
		allow = httpsOnly
	}
	if err := allow(u); err != nil {
		return nil, fmt.Errorf("notify: %s URL to %s not allowed: %w", pkg, u.Host, err)
	}
	if timeout < 0 {
		return nil, fmt.Errorf("notify: %s: negative timeout %s", pkg, timeout)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	c := &http.Client{}
	if client != nil {
		cp := *client
		c = &cp
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
	return &poster{url: u, client: c, timeout: timeout}, nil
}

func httpsOnly(u *url.URL) error {
	if u.Scheme != "https" {
		return errors.New("only https URLs are allowed (set AllowURL to allow others)")
	}
	return nil
}

// post sends body with the given headers; any answer but 2xx is an error.
func (p *poster) post(ctx context.Context, body []byte, header http.Header) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: POST to %s: %v", p.url.Host, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its text repeats the URL
		}
		if errors.Is(err, errRedirect) {
			return fmt.Errorf("notify: POST to %s: the receiver answered with a redirect, which is refused: point the URL at the final address", p.url.Host)
		}
		return fmt.Errorf("notify: POST to %s: %v", p.url.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify: POST to %s: the receiver answered %s", p.url.Host, resp.Status)
	}
	return nil
}
