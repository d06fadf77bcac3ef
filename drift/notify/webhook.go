package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/tracking"
)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL receives the POSTs. Required.
	URL string
	// Secret signs them: "whsec_" followed by the base64 of 24 to 64
	// random bytes, as the Standard Webhooks specification writes it.
	// Required.
	Secret string
	// Timeout bounds one request. Defaults to DefaultTimeout.
	Timeout time.Duration
	// Client sends the requests (a copy of it, which refuses redirects).
	// Defaults to a new http.Client.
	Client *http.Client
	// AllowURL checks URL when the Webhook is made. Defaults to nil:
	// https only (see the package documentation).
	AllowURL func(*url.URL) error
	// Now dates the signature. Defaults to time.Now.
	Now func() time.Time
}

// Webhook POSTs events signed per the Standard Webhooks specification
// (https://www.standardwebhooks.com): headers webhook-id (the event's
// stable id, "evt_<id>", the same on every redelivery), webhook-timestamp
// (Unix seconds of the attempt) and webhook-signature ("v1,<base64
// HMAC-SHA256 of id.timestamp.body>"). The body is
//
//	{"type": "update.queued", "timestamp": "<event time, RFC 3339>", "data": <the tracking.Event>}
//
// Receivers verify the signature with the same secret and drop duplicates
// by webhook-id.
type Webhook struct {
	p      *poster
	secret []byte
	now    func() time.Time
}

// NewWebhook checks cfg and returns a Webhook.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	secret, err := decodeSecret(cfg.Secret)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("webhook", cfg.URL, cfg.AllowURL, cfg.Client, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Webhook{p: p, secret: secret, now: now}, nil
}

func decodeSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	key, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("notify: webhook secret: want \"whsec_\" followed by the base64 of 24 to 64 random bytes (e.g. from: openssl rand -base64 32)")
	}
	return key, nil
}

// webhookBody is the Standard Webhooks envelope.
type webhookBody struct {
	Type      tracking.EventType `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Data      tracking.Event     `json:"data"`
}

// MessageID is the webhook-id of an event: stable across redeliveries.
func MessageID(ev tracking.Event) string { return "evt_" + strconv.FormatInt(ev.ID, 10) }

// Deliver POSTs ev; use it as drift.Subscriber.Deliver.
func (w *Webhook) Deliver(ctx context.Context, ev tracking.Event) error {
	body, err := json.Marshal(webhookBody{Type: ev.Type, Timestamp: ev.At, Data: ev})
	if err != nil {
		return fmt.Errorf("notify: webhook: encode event %d: %w", ev.ID, err)
	}
	id, ts := MessageID(ev), strconv.FormatInt(w.now().Unix(), 10)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+sign(w.secret, id, ts, body))
	return w.p.post(ctx, body, h)
}

// sign is the Standard Webhooks signature: base64 of HMAC-SHA256 over
// "id.timestamp.body".
func sign(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
