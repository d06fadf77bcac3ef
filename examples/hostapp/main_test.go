package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestConfigNeedsAdminToken(t *testing.T) {
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "")
	_, err := loadConfig(nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PLUGINDRIFT_ADMIN_TOKEN")

	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "long-enough-secret")
	t.Setenv("PLUGINDRIFT_SCHEDULE", "@every 5m")
	cfg, err := loadConfig([]string{"-addr", "127.0.0.1:9999"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", cfg.addr, "flags win")
	assert.Equal(t, "@every 5m", cfg.schedule, "environment fills the rest")
}

func TestBearer(t *testing.T) {
	auth := bearer("s3cret-token")
	for header, want := range map[string]error{
		"":                    adminhttp.ErrUnauthenticated,
		"Basic czNjcmV0":      adminhttp.ErrUnauthenticated,
		"Bearer wrong":        adminhttp.ErrForbidden,
		"Bearer s3cret-token": nil,
	} {
		r, _ := http.NewRequest("GET", "/admin/", nil)
		r.Header.Set("Authorization", header)
		actor, err := auth(r, adminhttp.OpRead)
		if want == nil {
			require.NoError(t, err)
			assert.Equal(t, "admin-token", actor)
			continue
		}
		assert.ErrorIs(t, err, want, header)
	}
}

// app is a running hostapp.
type app struct {
	t    *testing.T
	base string
	stop func() error
}

// start runs the application with cfg until stop is called or the test
// ends.
func start(t *testing.T, cfg config) *app {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), func(a net.Addr) { addrs <- a }) }()
	a := &app{t: t}
	select {
	case addr := <-addrs:
		a.base = "http://" + addr.String()
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	stopped := false
	a.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("run did not stop within 30s of its context ending")
		}
	}
	t.Cleanup(func() { assert.NoError(t, a.stop()) })
	return a
}

// call sends an empty request with the bearer token (none when token is
// empty) and returns the status and body.
func (a *app) call(method, path, token string) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.base+path, nil)
	require.NoError(a.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return resp.StatusCode, body
}

// testConfig is a configuration for a test run: a free port, a store and
// a plugins directory of the test's own, the admin token "s3cret-token".
func testConfig(t *testing.T) config {
	return config{
		addr: "127.0.0.1:0", db: "sqlite://" + filepath.Join(t.TempDir(), "host.db"),
		schedule: "@hourly", adminToken: "s3cret-token", pluginsDir: t.TempDir(), applyTimeout: time.Minute,
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	cfg := testConfig(t)
	a := start(t, cfg)
	status := func(path, token string) int {
		code, _ := a.call("GET", path, token)
		return code
	}
	assert.Equal(t, http.StatusOK, status("/healthz", ""))
	assert.Equal(t, http.StatusUnauthorized, status("/admin/plugin-updates", ""))
	assert.Equal(t, http.StatusForbidden, status("/admin/plugin-updates", "wrong"))
	assert.Equal(t, http.StatusOK, status("/admin/plugin-updates?status=pending", "s3cret-token"))
	require.NoError(t, a.stop())
}

// TestApplyWithDefaultFlags is a first run as the README tells it: the
// default flags, so the store and the plugins directory are relative to
// the working directory. An install is recorded, a sweep queues its
// update, and applying it over the API puts the new commit's files in
// plugins/<workspace>/<plugin>.
func TestApplyWithDefaultFlags(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	upstream := resolvertest.ServeSmartHTTP(t, repos.Dir())
	work := t.TempDir()
	t.Chdir(work)
	for _, name := range []string{"PLUGINDRIFT_ADDR", "PLUGINDRIFT_DB", "PLUGINDRIFT_SCHEDULE", "PLUGINDRIFT_PLUGINS_DIR", "GITHUB_TOKEN"} {
		t.Setenv(name, "") // restored when the test ends
		require.NoError(t, os.Unsetenv(name))
	}
	const token = "s3cret-token"
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", token)
	// Only the port is not the default: 8080 may be taken on this machine.
	cfg, err := loadConfig([]string{"-addr", "127.0.0.1:0"})
	require.NoError(t, err)
	require.Equal(t, "plugins", cfg.pluginsDir, "the default plugins directory is relative")
	require.Equal(t, "sqlite://plugindrift.db", cfg.db, "the default store is relative")
	a := start(t, cfg)

	// The host installed v1.2.0 and follows main, which has moved on.
	store, err := bunstore.Open(t.Context(), cfg.db, nil)
	require.NoError(t, err)
	defer store.Close()
	from := repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.2.0")
	to := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	require.NotEqual(t, from, to)
	tracker, err := tracking.NewTracker(store, nil)
	require.NoError(t, err)
	_, err = tracker.RecordInstall(t.Context(), tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello",
		Source: "git+" + upstream + "/" + resolvertest.RepoPlugin + ".git", Ref: "branch:main", SHA: from,
	})
	require.NoError(t, err)

	code, body := a.call("POST", "/admin/sweeps", token)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var sweep struct {
		Report struct {
			Queued int `json:"queued"`
			Failed int `json:"failed"`
		} `json:"report"`
	}
	require.NoError(t, json.Unmarshal(body, &sweep))
	require.Equal(t, 0, sweep.Report.Failed, "%s", body)
	require.Equal(t, 1, sweep.Report.Queued, "%s", body)

	code, body = a.call("GET", "/admin/plugin-updates?status=pending&workspace_id=acme", token)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var pending struct {
		Updates []struct {
			ID    int64  `json:"id"`
			ToSHA string `json:"to_sha"`
		} `json:"updates"`
	}
	require.NoError(t, json.Unmarshal(body, &pending))
	require.Len(t, pending.Updates, 1, "%s", body)
	require.Equal(t, to, pending.Updates[0].ToSHA)

	code, body = a.call("POST", fmt.Sprintf("/admin/plugin-updates/%d/apply", pending.Updates[0].ID), token)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var applied struct {
		Update struct {
			Status    string `json:"status"`
			ToSHA     string `json:"to_sha"`
			LastError string `json:"last_error"`
		} `json:"update"`
	}
	require.NoError(t, json.Unmarshal(body, &applied))
	assert.Equal(t, "applied", applied.Update.Status)
	assert.Equal(t, to, applied.Update.ToSHA)

	// Relative to the working directory, as the flag says.
	onDisk := readTree(t, filepath.Join(work, "plugins", "acme", "hello"))
	assert.Equal(t, upstreamTree(t, repos.Path(resolvertest.RepoPlugin), to), onDisk)
	assert.Contains(t, onDisk, "CHANGELOG.md", "the fixture's files are there")
}

// readTree returns the regular files under dir by slash-separated path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, fs.WalkDir(os.DirFS(dir), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
		files[path] = string(b)
		return err
	}))
	return files
}

// upstreamTree returns the files of commit sha in the bare repository
// gitDir, as git show prints them.
func upstreamTree(t *testing.T, gitDir, sha string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for name := range strings.SplitSeq(strings.TrimSuffix(gitOutput(t, gitDir, "ls-tree", "-r", "-z", "--name-only", sha), "\x00"), "\x00") {
		files[name] = gitOutput(t, gitDir, "show", sha+":"+name)
	}
	return files
}

func gitOutput(t *testing.T, gitDir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + gitDir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}
