package push_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp/push"
	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

var t0 = time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)

var secrets = push.Secrets{GitHub: "gh-secret", GitLab: "gl-token", Gitea: "gt-secret", Generic: "generic-secret"}

// fixture reads a payload of testdata; each is the documented structure of
// the provider's payload, trimmed.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

type rig struct {
	t     *testing.T
	store *memstore.Store
	h     http.Handler
	clock *fakeclock.Clock
	wakes atomic.Int32
}

func newRig(t *testing.T, cfg push.Config) *rig {
	t.Helper()
	r := &rig{t: t, store: memstore.New(), clock: fakeclock.New(t0)}
	if cfg.Store == nil {
		cfg.Store = r.store
	}
	if s := cfg.Secrets; s.GitHub+s.GitLab+s.Gitea+s.Generic == "" && s.Repositories == nil {
		cfg.Secrets = secrets
	}
	cfg.Now = r.clock.Now
	cfg.Wake = func() { r.wakes.Add(1) }
	h, err := push.NewHandler(cfg)
	require.NoError(t, err)
	r.h = h
	return r
}

func (r *rig) key(source, ref string) tracking.UpstreamKey {
	r.t.Helper()
	src, err := tracking.ParseSource(source)
	require.NoError(r.t, err)
	rf, err := tracking.ParseRef(ref)
	require.NoError(r.t, err)
	return tracking.UpstreamKey{Source: src, Ref: rf}
}

// follow records an install of key, one per call.
func (r *rig) follow(keys ...tracking.UpstreamKey) {
	r.t.Helper()
	for i, k := range keys {
		_, err := r.store.UpsertInstall(context.Background(), tracking.Install{
			WorkspaceID: "ws", PluginName: "p" + string(rune('a'+i)), Source: k.Source, Ref: k.Ref,
			InstalledSHA: strings.Repeat("1", 40), UpdatedAt: t0,
		})
		require.NoError(r.t, err)
	}
}

// requested claims every check request: what the push asked to check.
func (r *rig) requested() []tracking.UpstreamKey {
	r.t.Helper()
	rs, err := r.store.ClaimCheckRequests(context.Background(), storage.ClaimCheckRequestsParams{Holder: "test", TTL: time.Hour, Limit: storage.MaxLimit})
	require.NoError(r.t, err)
	var keys []tracking.UpstreamKey
	for _, req := range rs {
		keys = append(keys, req.Key)
	}
	return keys
}

func (r *rig) post(headers map[string]string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/hooks/plugindrift", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	return rec
}

func hexHMAC(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// The providers' own headers, signed as each provider signs.
func github(event, delivery string, body []byte, secret string) map[string]string {
	return map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": "sha256=" + hexHMAC(body, secret), "User-Agent": "GitHub-Hookshot/abc"}
}

func gitlab(event, uuid, token string) map[string]string {
	return map[string]string{"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": uuid, "X-Gitlab-Token": token, "X-Gitlab-Instance": "https://gitlab.example.com"}
}

// gitea sends GitHub's headers too, with the same delivery id.
func gitea(event, delivery string, body []byte, secret string) map[string]string {
	sig := hexHMAC(body, secret)
	return map[string]string{"X-Gitea-Event": event, "X-Gitea-Delivery": delivery, "X-Gitea-Signature": sig,
		"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": "sha256=" + sig, "X-Gogs-Event": event}
}

func forgejo(event, delivery string, body []byte, secret string) map[string]string {
	sig := hexHMAC(body, secret)
	return map[string]string{"X-Forgejo-Event": event, "X-Forgejo-Delivery": delivery, "X-Forgejo-Signature": sig,
		"X-Gitea-Event": event, "X-Gitea-Delivery": delivery, "X-Gitea-Signature": sig}
}

func generic(body []byte, secret, delivery string) map[string]string {
	return map[string]string{push.GenericSignatureHeader: push.Signature(body, secret), push.GenericDeliveryHeader: delivery}
}

func TestProviderPushesRequestChecksOfExactlyTheAffectedUpstreams(t *testing.T) {
	type upstream struct{ source, ref string }
	ghMain := upstream{"github://acme/widget", "branch:main"}
	ghHead := upstream{"git+https://github.com/acme/widget.git", "head"}
	ghDev := upstream{"git+ssh://git@github.com/acme/widget", "branch:dev"}
	ghLatest := upstream{"github://acme/widget", "tag:latest"}
	ghV1 := upstream{"github://acme/widget", "semver:^1"}
	ghV2 := upstream{"github://acme/widget", "semver:^2"}
	ghExact := upstream{"github://acme/widget", "tag:v1.3.0"}
	ghOther := upstream{"github://acme/gadget", "branch:main"}
	glMain := upstream{"git+https://gitlab.example.com/acme/tools/widget.git", "branch:main"}
	glLatest := upstream{"git+ssh://git@gitlab.example.com/acme/tools/widget.git", "tag:latest"}
	gtMain := upstream{"git+http://gitea.local:3000/acme/widget.git", "branch:main"}
	gtV2 := upstream{"git+ssh://git@gitea.local:2222/acme/widget.git", "semver:^2"}
	gtExact := upstream{"git+http://gitea.local:3000/acme/widget.git", "tag:v1.3.0"}
	all := []upstream{ghMain, ghHead, ghDev, ghLatest, ghV1, ghV2, ghExact, ghOther, glMain, glLatest, gtMain, gtV2, gtExact}

	for _, tt := range []struct {
		name    string
		body    string
		headers func(body []byte) map[string]string
		want    []upstream
	}{
		{"github push to main", "github-push.json", func(b []byte) map[string]string { return github("push", "d-1", b, "gh-secret") }, []upstream{ghMain, ghHead}},
		{"github tag created", "github-create-tag.json", func(b []byte) map[string]string { return github("create", "d-2", b, "gh-secret") }, []upstream{ghLatest, ghV1, ghExact}},
		{"github release", "github-release.json", func(b []byte) map[string]string { return github("release", "d-3", b, "gh-secret") }, []upstream{ghLatest, ghV2}},
		{"github branch deleted", "github-delete-branch.json", func(b []byte) map[string]string { return github("delete", "d-4", b, "gh-secret") }, nil},
		{"gitlab push", "gitlab-push.json", func([]byte) map[string]string { return gitlab("Push Hook", "u-1", "gl-token") }, []upstream{glMain}},
		{"gitlab tag push", "gitlab-tag-push.json", func([]byte) map[string]string { return gitlab("Tag Push Hook", "u-2", "gl-token") }, []upstream{glLatest}},
		{"gitea push", "gitea-push.json", func(b []byte) map[string]string { return gitea("push", "g-1", b, "gt-secret") }, []upstream{gtMain}},
		{"gitea tag created", "gitea-create-tag.json", func(b []byte) map[string]string { return gitea("create", "g-2", b, "gt-secret") }, []upstream{gtExact}},
		{"forgejo release", "gitea-release.json", func(b []byte) map[string]string { return forgejo("release", "f-1", b, "gt-secret") }, []upstream{gtV2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, push.Config{})
			var keys []tracking.UpstreamKey
			for _, u := range all {
				keys = append(keys, r.key(u.source, u.ref))
			}
			r.follow(keys...)
			body := fixture(t, tt.body)
			rec := r.post(tt.headers(body), body)

			var want []tracking.UpstreamKey
			for _, u := range tt.want {
				want = append(want, r.key(u.source, u.ref))
			}
			if len(want) == 0 {
				assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				assert.JSONEq(t, `{"status":"no upstreams"}`, rec.Body.String())
				assert.Zero(t, r.wakes.Load())
			} else {
				assert.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
				assert.Equal(t, int32(1), r.wakes.Load(), "the worker is woken once")
			}
			assert.ElementsMatch(t, want, r.requested())
			for _, k := range keys {
				u, err := r.store.GetUpstream(context.Background(), k)
				require.NoError(t, err)
				assert.Equal(t, contains(want, k), !u.LastPushAt.IsZero(), "LastPushAt of %s", k)
			}
		})
	}
}

func contains(keys []tracking.UpstreamKey, k tracking.UpstreamKey) bool {
	for _, have := range keys {
		if have == k {
			return true
		}
	}
	return false
}

func TestGenericFormChecksTheNamedRefOrEveryRef(t *testing.T) {
	r := newRig(t, push.Config{})
	main, latest := r.key("git+file:///srv/git/widget", "branch:main"), r.key("git+file:///srv/git/widget", "tag:latest")
	r.follow(main, latest)

	body := []byte(`{"repository":"file:///srv/git/widget.git","ref":"refs/heads/main"}`)
	rec := r.post(generic(body, "generic-secret", ""), body)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"status":"queued","upstreams":1}`, rec.Body.String())
	assert.Equal(t, []tracking.UpstreamKey{main}, r.requested())

	body = []byte(`{"repository":"/srv/git/widget"}`)
	rec = r.post(generic(body, "generic-secret", ""), body)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.ElementsMatch(t, []tracking.UpstreamKey{latest}, r.requested(), "main's request is still claimed; latest is new")
}

// refused posts a request that must be answered with status and change
// nothing: no check requested, no push recorded, nobody woken.
func refused(t *testing.T, r *rig, status int, headers map[string]string, body []byte, watched tracking.UpstreamKey) *httptest.ResponseRecorder {
	t.Helper()
	rec := r.post(headers, body)
	require.Equal(t, status, rec.Code, rec.Body.String())
	assert.Empty(t, r.requested(), "nothing requested")
	u, err := r.store.GetUpstream(context.Background(), watched)
	require.NoError(t, err)
	assert.True(t, u.LastPushAt.IsZero(), "no push recorded")
	assert.Zero(t, r.wakes.Load(), "nobody woken")
	return rec
}

func TestBadSignaturesChangeNothingAndSayOnlySignature(t *testing.T) {
	r := newRig(t, push.Config{Secrets: push.Secrets{GitHub: "gh-secret", GitLab: "gl-token", Generic: "generic-secret"}})
	main := r.key("github://acme/widget", "branch:main")
	r.follow(main, r.key("git+https://gitlab.example.com/acme/tools/widget", "branch:main"))
	body := fixture(t, "github-push.json")
	glBody := fixture(t, "gitlab-push.json")
	tampered := bytes.Replace(body, []byte("refs/heads/main"), []byte("refs/heads/dev!"), 1)

	noSig := github("push", "d", body, "gh-secret")
	delete(noSig, "X-Hub-Signature-256")
	sha1Only := github("push", "d", body, "gh-secret")
	delete(sha1Only, "X-Hub-Signature-256")
	sha1Only["X-Hub-Signature"] = "sha1=" + strings.Repeat("0", 40)
	noPrefix := github("push", "d", body, "gh-secret")
	noPrefix["X-Hub-Signature-256"] = hexHMAC(body, "gh-secret")
	notHex := github("push", "d", body, "gh-secret")
	notHex["X-Hub-Signature-256"] = "sha256=zz"

	for name, c := range map[string]struct {
		headers map[string]string
		body    []byte
	}{
		"github: no signature":           {noSig, body},
		"github: sha1 only":              {sha1Only, body},
		"github: wrong secret":           {github("push", "d", body, "other"), body},
		"github: tampered body":          {github("push", "d", body, "gh-secret"), tampered},
		"github: no sha256= prefix":      {noPrefix, body},
		"github: not hex":                {notHex, body},
		"github: ping, wrong secret":     {github("ping", "d", body, "other"), body},
		"github: unknown, wrong secret":  {github("watch", "d", body, "other"), body},
		"gitlab: wrong token":            {gitlab("Push Hook", "u", "nope"), glBody},
		"gitlab: no token":               {map[string]string{"X-Gitlab-Event": "Push Hook"}, glBody},
		"gitea: no secret configured":    {gitea("push", "g", body, ""), body},
		"generic: signed as github":      {github("push", "d", body, "generic-secret"), body},
		"generic: unsigned":              {nil, []byte(`{"repository":"https://github.com/acme/widget"}`)},
		"github secret used for generic": {generic([]byte(`{"repository":"https://github.com/acme/widget"}`), "gh-secret", ""), []byte(`{"repository":"https://github.com/acme/widget"}`)},
	} {
		t.Run(name, func(t *testing.T) {
			rec := refused(t, r, http.StatusUnauthorized, c.headers, c.body, main)
			assert.JSONEq(t, `{"error":{"code":"unauthorized","message":"signature"}}`, rec.Body.String())
		})
	}
}

func TestRepositorySecretReplacesTheProviders(t *testing.T) {
	r := newRig(t, push.Config{Secrets: push.Secrets{GitHub: "gh-secret", Repositories: map[string]string{"git@github.com:acme/widget.git": "widget-secret"}}})
	main := r.key("github://acme/widget", "branch:main")
	r.follow(main)
	body := fixture(t, "github-push.json")
	refused(t, r, http.StatusUnauthorized, github("push", "d-1", body, "gh-secret"), body, main)
	rec := r.post(github("push", "d-1", body, "widget-secret"), body)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.Equal(t, []tracking.UpstreamKey{main}, r.requested())
}

func TestReplayedDeliveryIsNotProcessedTwice(t *testing.T) {
	for name, sign := range map[string]func(body []byte, id string) map[string]string{
		"github":  func(b []byte, id string) map[string]string { return github("push", id, b, "gh-secret") },
		"gitea":   func(b []byte, id string) map[string]string { return gitea("push", id, b, "gt-secret") },
		"generic": func(b []byte, id string) map[string]string { return generic(b, "generic-secret", id) },
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, push.Config{ReplayWindow: time.Hour})
			main := r.key("github://acme/widget", "branch:main")
			r.follow(main)
			body := fixture(t, "github-push.json")
			if name == "generic" {
				body = []byte(`{"repository":"https://github.com/acme/widget","ref":"refs/heads/main"}`)
			}
			rec := r.post(sign(body, "delivery-1"), body)
			require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
			claimed, err := r.store.ClaimCheckRequests(context.Background(), storage.ClaimCheckRequestsParams{Holder: "w", TTL: time.Hour, Limit: 10})
			require.NoError(t, err)
			require.Len(t, claimed, 1)

			r.clock.Advance(time.Minute)
			rec = r.post(sign(body, "delivery-1"), body)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.JSONEq(t, `{"status":"replayed"}`, rec.Body.String())
			assert.Equal(t, int32(1), r.wakes.Load(), "a replay wakes nobody")
			again, err := r.store.CompleteCheckRequest(context.Background(), storage.CompleteCheckRequestParams{Key: main, Holder: "w", Generation: claimed[0].Generation})
			require.NoError(t, err)
			assert.False(t, again, "the replay asked for no second check")
			assert.Empty(t, r.requested(), "the replay asked for no second check")
			u, err := r.store.GetUpstream(context.Background(), main)
			require.NoError(t, err)
			assert.Equal(t, t0, u.LastPushAt, "the replay is not a push")

			rec = r.post(sign(body, "delivery-2"), body)
			require.Equal(t, http.StatusAccepted, rec.Code, "another delivery is processed")
			r.requested()
			r.clock.Advance(time.Hour)
			rec = r.post(sign(body, "delivery-1"), body)
			require.Equal(t, http.StatusAccepted, rec.Code, "after the replay window a delivery id is forgotten")
		})
	}
}

func TestGitLabReplayByEventUUID(t *testing.T) {
	r := newRig(t, push.Config{})
	main := r.key("git+https://gitlab.example.com/acme/tools/widget", "branch:main")
	r.follow(main)
	body := fixture(t, "gitlab-push.json")
	require.Equal(t, http.StatusAccepted, r.post(gitlab("Push Hook", "uuid-1", "gl-token"), body).Code)
	require.Len(t, r.requested(), 1)
	rec := r.post(gitlab("Push Hook", "uuid-1", "gl-token"), body)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"replayed"}`, rec.Body.String())
}

func TestOversizedBodiesUnknownReposAndOtherRequestsChangeNothing(t *testing.T) {
	r := newRig(t, push.Config{MaxBodyBytes: 4096})
	main := r.key("github://acme/widget", "branch:main")
	r.follow(main)
	body := fixture(t, "github-push.json")

	big := append(bytes.Clone(body[:len(body)-2]), []byte(`, "padding": "`+strings.Repeat("x", 4096)+`"}`)...)
	rec := refused(t, r, http.StatusRequestEntityTooLarge, github("push", "d-big", big, "gh-secret"), big, main)
	assert.Contains(t, rec.Body.String(), "payload_too_large")

	unknown := bytes.ReplaceAll(body, []byte("acme/widget"), []byte("acme/unknown"))
	rec = refused(t, r, http.StatusOK, github("push", "d-u", unknown, "gh-secret"), unknown, main)
	assert.JSONEq(t, `{"status":"no upstreams"}`, rec.Body.String())

	rec = refused(t, r, http.StatusOK, github("ping", "d-p", fixture(t, "github-ping.json"), "gh-secret"), fixture(t, "github-ping.json"), main)
	assert.JSONEq(t, `{"status":"pong"}`, rec.Body.String())
	rec = refused(t, r, http.StatusOK, github("star", "d-s", body, "gh-secret"), body, main)
	assert.JSONEq(t, `{"status":"ignored"}`, rec.Body.String())
	rec = refused(t, r, http.StatusOK, gitlab("Pipeline Hook", "u", "gl-token"), []byte(`{"object_kind":"pipeline"}`), main)
	assert.JSONEq(t, `{"status":"ignored"}`, rec.Body.String())

	notJSON := []byte(`{"ref": "refs/heads/main", "repository": `)
	rec = refused(t, r, http.StatusBadRequest, github("push", "d-j", notJSON, "gh-secret"), notJSON, main)
	assert.Contains(t, rec.Body.String(), "bad_request")

	req := httptest.NewRequest(http.MethodGet, "/hooks/plugindrift", nil)
	get := httptest.NewRecorder()
	r.h.ServeHTTP(get, req)
	assert.Equal(t, http.StatusMethodNotAllowed, get.Code)
	assert.Equal(t, http.MethodPost, get.Header().Get("Allow"))
	assert.Empty(t, r.requested())
}

// failingStore fails RecordPush, as a database that went away would.
type failingStore struct{ *memstore.Store }

func (failingStore) RecordPush(context.Context, storage.RecordPushParams) (storage.RecordPushResult, error) {
	return storage.RecordPushResult{}, errors.New("connection refused")
}

func TestStoreFailureIsNot2xx(t *testing.T) {
	st := memstore.New()
	r := newRig(t, push.Config{Store: failingStore{st}})
	r.store = st
	main := r.key("github://acme/widget", "branch:main")
	r.follow(main)
	body := fixture(t, "github-push.json")
	rec := refused(t, r, http.StatusServiceUnavailable, github("push", "d", body, "gh-secret"), body, main)
	assert.NotContains(t, rec.Body.String(), "connection refused", "no internal error text")
}

func TestNewHandlerRefusesUnusableConfig(t *testing.T) {
	for name, cfg := range map[string]push.Config{
		"no store":           {Secrets: secrets},
		"no secret":          {Store: memstore.New()},
		"bad repository":     {Store: memstore.New(), Secrets: push.Secrets{Repositories: map[string]string{"not a url": "s"}}},
		"empty repo secret":  {Store: memstore.New(), Secrets: push.Secrets{Repositories: map[string]string{"https://h/a/b": ""}}},
		"negative body size": {Store: memstore.New(), Secrets: secrets, MaxBodyBytes: -1},
	} {
		_, err := push.NewHandler(cfg)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, name)
	}
}
