package main

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp/push"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestWebhookConfig(t *testing.T) {
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "long-enough-secret")
	t.Setenv(envWebhookGitHub, "")
	t.Setenv(envWebhookGeneric, "")
	cfg, err := loadConfig(nil)
	require.NoError(t, err)
	assert.False(t, cfg.webhooks.on(), "off without a secret")
	assert.Equal(t, "/hooks/plugindrift", cfg.webhooks.route)

	t.Setenv(envWebhookGitHub, "gh-secret")
	cfg, err = loadConfig([]string{"-push-route", "/github"})
	require.NoError(t, err)
	assert.True(t, cfg.webhooks.on())
	assert.Equal(t, "gh-secret", cfg.webhooks.secrets.GitHub)
	for _, route := range []string{"/admin/hooks", "hooks"} {
		_, err = loadConfig([]string{"-push-route", route})
		assert.ErrorContains(t, err, "-push-route", route)
	}
}

// TestWebhookQueuesTheUpdate runs the application with a webhook secret:
// a signed push to the route gets the moved upstream checked and its
// update queued without a sweep.
func TestWebhookQueuesTheUpdate(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	upstream := resolvertest.ServeSmartHTTP(t, repos.Dir())
	cfg := testConfig(t)
	cfg.schedule = "@yearly"
	cfg.webhooks = webhookConfig{route: "/hooks/plugindrift", poll: time.Hour, secrets: push.Secrets{Generic: "webhook-secret"}}
	a := start(t, cfg)
	store, err := bunstore.Open(t.Context(), cfg.db, nil)
	require.NoError(t, err)
	defer store.Close()
	tracker, err := tracking.NewTracker(store, nil)
	require.NoError(t, err)
	source := "git+" + upstream + "/" + resolvertest.RepoPlugin + ".git"
	_, err = tracker.RecordInstall(t.Context(), tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello", Source: source, Ref: "branch:main",
		SHA: repos.SHA(resolvertest.RepoPlugin, "refs/heads/main"),
	})
	require.NoError(t, err)
	moved := repos.Commit(t, resolvertest.RepoPlugin, "main")

	body := []byte(`{"repository":"` + upstream + `/plugin.git","ref":"refs/heads/main"}`)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.base+"/hooks/plugindrift", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(push.GenericSignatureHeader, push.Signature(body, "webhook-secret"))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// The check runs in the application's worker: polled, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		us, err := store.ListUpdates(t.Context(), storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 10})
		require.NoError(t, err)
		if len(us) == 1 {
			assert.Equal(t, moved, us[0].ToSHA)
			break
		}
		require.True(t, time.Now().Before(deadline), "the push was not checked")
		time.Sleep(20 * time.Millisecond)
	}
}
