package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/drift/notify"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

var (
	key    = []byte("0123456789abcdef0123456789abcdef")
	secret = "whsec_" + base64.StdEncoding.EncodeToString(key)
	now    = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
)

// verifyingReceiver checks each request's Standard Webhooks signature with
// its own key, as a receiver would, and counts deliveries per webhook-id.
type verifyingReceiver struct {
	key []byte
	mu  sync.Mutex
	ids map[string]int
	got []map[string]any
}

func (v *verifyingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	if id == "" || !hmac.Equal([]byte(sig), []byte(want)) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ids == nil {
		v.ids = map[string]int{}
	}
	v.ids[id]++
	v.got = append(v.got, env)
	w.WriteHeader(http.StatusNoContent)
}

func (v *verifyingReceiver) counts() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]int{}
	for k, n := range v.ids {
		out[k] = n
	}
	return out
}

func newWebhook(t *testing.T, srv *httptest.Server, cfg notify.WebhookConfig) *notify.Webhook {
	t.Helper()
	cfg.URL = srv.URL
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	cfg.Client = srv.Client()
	cfg.Now = func() time.Time { return now }
	w, err := notify.NewWebhook(cfg)
	require.NoError(t, err)
	return w
}

// queued returns a store with one queued entry of ref, and its events.
func queued(t *testing.T, ref string) (storage.Store, []tracking.Event) {
	t.Helper()
	s := memstore.New()
	src, err := tracking.ParseSource("github://acme/theme")
	require.NoError(t, err)
	r, err := tracking.ParseRef(ref)
	require.NoError(t, err)
	_, err = s.UpsertInstall(t.Context(), tracking.Install{WorkspaceID: "ws-1", PluginName: "theme", Source: src, Ref: r,
		InstalledSHA: strings.Repeat("a", 40), InstalledVersion: "v1.0.0", UpdatedAt: now})
	require.NoError(t, err)
	_, err = s.Reconcile(t.Context(), storage.ReconcileParams{Key: tracking.UpstreamKey{Source: src, Ref: r}, SHA: strings.Repeat("b", 40), Version: "v1.1.0", Now: now})
	require.NoError(t, err)
	evs, err := s.ListEvents(t.Context(), storage.ListEventsParams{Limit: 10})
	require.NoError(t, err)
	return s, evs
}

func TestWebhookSignsAndKeepsTheEventID(t *testing.T) {
	rcv := &verifyingReceiver{key: key}
	srv := httptest.NewTLSServer(rcv)
	defer srv.Close()
	s, evs := queued(t, "tag:latest")
	hook := newWebhook(t, srv, notify.WebhookConfig{})
	d, err := drift.NewDispatcher(s, []drift.Subscriber{{Name: "webhook", Deliver: hook.Deliver}}, nil)
	require.NoError(t, err)
	rep, err := d.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, drift.DispatchReport{Delivered: 1}, rep, "the receiver verified the signature")

	// A redelivery (after a crash) carries the same webhook-id.
	require.NoError(t, hook.Deliver(t.Context(), evs[0]))
	id := "evt_" + strconv.FormatInt(evs[0].ID, 10)
	assert.Equal(t, map[string]int{id: 2}, rcv.counts())
	assert.Equal(t, id, notify.MessageID(evs[0]))

	env := rcv.got[0]
	assert.Equal(t, "update.queued", env["type"])
	data := env["data"].(map[string]any)
	assert.EqualValues(t, evs[0].ID, data["id"])
	assert.Equal(t, "ws-1", data["workspace_id"])
	assert.Equal(t, "v1.1.0", data["payload"].(map[string]any)["to_version"])
}

func TestWebhookWrongSecretIsRefused(t *testing.T) {
	rcv := &verifyingReceiver{key: []byte("another key of thirty-two bytes!")}
	srv := httptest.NewTLSServer(rcv)
	defer srv.Close()
	_, evs := queued(t, "tag:latest")
	err := newWebhook(t, srv, notify.WebhookConfig{}).Deliver(t.Context(), evs[0])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assert.Empty(t, rcv.counts())
}

func TestWebhookRefusesRedirects(t *testing.T) {
	target := &verifyingReceiver{key: key}
	elsewhere := httptest.NewTLSServer(target)
	defer elsewhere.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	_, evs := queued(t, "tag:latest")
	err := newWebhook(t, srv, notify.WebhookConfig{}).Deliver(t.Context(), evs[0])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirect")
	assert.Empty(t, target.counts(), "the signed body never reached the redirect's target")
}

func TestWebhookTimesOut(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers while the client waits
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	_, evs := queued(t, "tag:latest")
	err := newWebhook(t, srv, notify.WebhookConfig{Timeout: 50 * time.Millisecond}).Deliver(t.Context(), evs[0])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deadline exceeded")
}

func TestURLAllowList(t *testing.T) {
	plain := httptest.NewServer(&verifyingReceiver{key: key})
	defer plain.Close()
	_, err := notify.NewWebhook(notify.WebhookConfig{URL: plain.URL, Secret: secret})
	require.Error(t, err, "nil AllowURL allows only https")
	assert.Contains(t, err.Error(), "only https")

	loopback := func(u *url.URL) error {
		if u.Hostname() != "127.0.0.1" {
			return errors.New("not loopback")
		}
		return nil
	}
	_, err = notify.NewWebhook(notify.WebhookConfig{URL: plain.URL, Secret: secret, AllowURL: loopback})
	require.NoError(t, err, "a hook replaces the https rule")
	_, err = notify.NewWebhook(notify.WebhookConfig{URL: "https://hooks.example.com/x", Secret: secret, AllowURL: loopback})
	assert.ErrorContains(t, err, "not loopback")
	_, err = notify.NewSlack(notify.SlackConfig{WebhookURL: "http://hooks.slack.com/services/T/B/secretpart"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secretpart", "the Slack URL is a credential")

	for _, bad := range []string{"", "secret", "whsec_", "whsec_!!!", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		_, err := notify.NewWebhook(notify.WebhookConfig{URL: "https://hooks.example.com/x", Secret: bad})
		assert.ErrorContains(t, err, "whsec_", "%q", bad)
	}
}

// slackReceiver records the messages it gets.
type slackReceiver struct {
	mu    sync.Mutex
	texts []string
}

func (s *slackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct{ Text string }
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || msg.Text == "" {
		http.Error(w, "no text", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.texts = append(s.texts, msg.Text)
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

func TestSlackSaysWhatMovedAndAlarmsStandOut(t *testing.T) {
	rcv := &slackReceiver{}
	srv := httptest.NewTLSServer(rcv)
	defer srv.Close()
	slack, err := notify.NewSlack(notify.SlackConfig{WebhookURL: srv.URL + "/services/T/B/X", AdminURL: "https://ops.example.com/admin/", Client: srv.Client()})
	require.NoError(t, err)

	for _, c := range []struct {
		ref       string
		wantPosts int
		want      []string
	}{
		{"tag:latest", 1, []string{":arrow_up: *Update queued*", "*theme* in workspace *ws-1*", "v1.0.0 (`aaaaaaa`) → v1.1.0 (`bbbbbbb`)", "kind new-version",
			"<https://ops.example.com/admin/?workspace=ws-1|Open the admin page>"}},
		// The alarm is posted once, not also as a queued update.
		{"tag:v1.0.0", 1, []string{":rotating_light: *Integrity alarm: tag moved*", "kind tag-moved", "github://acme/theme @ tag:v1.0.0"}},
	} {
		rcv.mu.Lock()
		rcv.texts = nil
		rcv.mu.Unlock()
		s, evs := queued(t, c.ref)
		d, err := drift.NewDispatcher(s, []drift.Subscriber{{Name: "slack", Deliver: slack.Deliver}}, nil)
		require.NoError(t, err)
		rep, err := d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, len(evs), rep.Delivered, c.ref)
		rcv.mu.Lock()
		texts := rcv.texts
		rcv.mu.Unlock()
		require.Len(t, texts, c.wantPosts, c.ref)
		for _, w := range c.want {
			assert.Contains(t, texts[0], w, c.ref)
		}
	}
}

// TestSlackHistoryRewrittenAndRollback: a history-rewritten entry is
// posted once, as its alarm, standing out like tag-moved; a rollback says
// what went back to what.
func TestSlackHistoryRewrittenAndRollback(t *testing.T) {
	slack, err := notify.NewSlack(notify.SlackConfig{WebhookURL: "https://hooks.slack.com/services/T/B/X"})
	require.NoError(t, err)
	src, _ := tracking.ParseSource("github://acme/theme")
	ref, _ := tracking.ParseRef("branch:main")
	u := tracking.Update{ID: 7, WorkspaceID: "ws-1", PluginName: "theme", Source: src, Ref: ref,
		FromSHA: strings.Repeat("a", 40), ToSHA: strings.Repeat("b", 40), Kind: tracking.KindHistoryRewritten, Status: tracking.StatusPending}
	evs := tracking.UpdateEvents(tracking.EventUpdateQueued, u, now)
	require.Len(t, evs, 2)
	_, ok := slack.Message(evs[0])
	assert.False(t, ok, "the queued twin of the alarm is not posted")
	msg, ok := slack.Message(evs[1])
	require.True(t, ok)
	assert.True(t, strings.HasPrefix(msg, ":rotating_light: *Integrity alarm: history rewritten*"), msg)
	assert.Contains(t, msg, "kind history-rewritten")

	rb := tracking.Update{ID: 8, WorkspaceID: "ws-1", PluginName: "theme", Source: src, Ref: ref,
		FromSHA: strings.Repeat("b", 40), ToSHA: strings.Repeat("a", 40), Kind: tracking.KindRollback, Status: tracking.StatusApplying}
	evs = tracking.UpdateEvents(tracking.EventUpdateRolledBack, rb, now)
	require.Len(t, evs, 1)
	msg, ok = slack.Message(evs[0])
	require.True(t, ok)
	assert.Equal(t, ":rewind: *Rolled back*, and the commit rolled back from is held: *theme* in workspace *ws-1* (github://acme/theme @ branch:main): `bbbbbbb` → `aaaaaaa`, kind rollback", msg)
}

func TestSlackUpstreamHealth(t *testing.T) {
	slack, err := notify.NewSlack(notify.SlackConfig{WebhookURL: "https://hooks.slack.com/services/T/B/X"})
	require.NoError(t, err)
	src, _ := tracking.ParseSource("github://acme/theme")
	ref, _ := tracking.ParseRef("branch:main")
	up := tracking.Upstream{Key: tracking.UpstreamKey{Source: src, Ref: ref}, ConsecutiveFailures: 3, LastError: "ls-remote: <timeout> & more"}
	msg, ok := slack.Message(tracking.UpstreamEvent(tracking.EventUpstreamFailing, up, now))
	require.True(t, ok)
	assert.Equal(t, ":warning: *Upstream failing*: github://acme/theme @ branch:main has failed 3 times in a row: ls-remote: &lt;timeout&gt; &amp; more", msg)
}
