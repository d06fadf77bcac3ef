package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/resolver/signature"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// TestTrustPolicyFile: -trust-policy reads a JSON policy whose key files
// are relative to it; a malformed, hostile or huge file stops the start
// with an error that says what to fix.
func TestTrustPolicyFile(t *testing.T) {
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "long-enough-secret")
	dir := t.TempDir()
	writeFile(t, dir, "allowed_signers", "release-team ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
	good := writeFile(t, dir, "policy.json", `{"rules": [
		{"repositories": ["github.com/acme"], "mode": "require", "allowed_signers_file": "allowed_signers"},
		{"repositories": ["*"], "mode": "record", "trust_host": true}]}`)
	cfg, err := loadConfig([]string{"-trust-policy", good})
	require.NoError(t, err)
	require.NotNil(t, cfg.trust.policy)
	require.Len(t, cfg.trust.policy.Rules, 2)
	assert.Equal(t, signature.Require, cfg.trust.policy.Rules[0].Mode)
	assert.Contains(t, string(cfg.trust.policy.Rules[0].AllowedSigners), "release-team")
	assert.Equal(t, signature.Record, cfg.trust.policy.Rules[1].Mode)
	assert.True(t, cfg.trust.policy.Rules[1].TrustHost)

	cfg, err = loadConfig(nil)
	require.NoError(t, err)
	assert.Nil(t, cfg.trust.policy, "no flag, no policy")
	v, err := cfg.trust.verifier(nil)
	require.NoError(t, err)
	assert.Nil(t, v, "without a policy the Sweeper gets no Verifier")

	for name, c := range map[string]struct{ content, want string }{
		"not json":      {`rules: []`, "want {"},
		"unknown field": {`{"rules": [{"repositories": ["*"], "mode": "require", "signers": "x"}]}`, "unknown field"},
		"bad mode":      {`{"rules": [{"repositories": ["*"], "mode": "allow"}]}`, `mode must be "record" or "require"`},
		"no rules":      {`{"rules": []}`, "no rules"},
		"trailing":      {`{"rules": [{"repositories": ["*"], "mode": "record"}]} {}`, "nothing after it"},
		"missing key":   {`{"rules": [{"repositories": ["*"], "mode": "require", "openpgp_keys_file": "nope.asc"}]}`, "nope.asc"},
		"huge":          {`{"rules": [], "x": "` + strings.Repeat("a", maxTrustFile) + `"}`, "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "policy.json", c.content)
			_, err := loadConfig([]string{"-trust-policy", path})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}

	// A key the signature package cannot read stops the start, naming the rule.
	bad := writeFile(t, dir, "bad.json", `{"rules": [{"repositories": ["*"], "mode": "require", "allowed_signers_file": "garbage"}]}`)
	writeFile(t, dir, "garbage", "release-team ssh-ed25519 not-base64!\n")
	cfg, err = loadConfig([]string{"-trust-policy", bad})
	require.NoError(t, err)
	git, _, err := cfg.private.resolvers(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	_, err = cfg.trust.verifier(git)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rule 0")
}

// TestRequirePolicyOverTheAPI: with a require policy, the sweep records
// each entry's signature check, the API refuses to apply the unsigned one
// (409 verification_required) and applies the signed one.
func TestRequirePolicyOverTheAPI(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	key := resolvertest.NewSigningKey(t)
	signed := repos.SignedCommit(t, resolvertest.RepoPlugin, "release", "refs/heads/main", key)
	upstream := resolvertest.ServeSmartHTTP(t, repos.Dir())
	dir := t.TempDir()
	writeFile(t, dir, "allowed_signers", "release-team "+key.PublicKey+"\n")
	policy := writeFile(t, dir, "policy.json", `{"rules": [{"repositories": ["*"], "mode": "require", "allowed_signers_file": "allowed_signers"}]}`)
	const token = "s3cret-token"
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", token)
	db := "sqlite://" + filepath.Join(dir, "plugindrift.db")
	cfg, err := loadConfig([]string{"-addr", "127.0.0.1:0", "-db", db, "-plugins-dir", filepath.Join(dir, "plugins"), "-trust-policy", policy})
	require.NoError(t, err)
	a := start(t, cfg)

	store, err := bunstore.Open(t.Context(), db, nil)
	require.NoError(t, err)
	defer store.Close()
	tracker, err := tracking.NewTracker(store, nil)
	require.NoError(t, err)
	from := repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.2.0")
	for plugin, ref := range map[string]string{"signed": "branch:release", "unsigned": "branch:main"} {
		_, err = tracker.RecordInstall(t.Context(), tracking.InstallRecord{
			WorkspaceID: "acme", PluginName: plugin,
			Source: "git+" + upstream + "/" + resolvertest.RepoPlugin + ".git", Ref: ref, SHA: from,
		})
		require.NoError(t, err)
	}
	code, body := a.call("POST", "/admin/sweeps", token)
	require.Equal(t, http.StatusOK, code, "%s", body)

	code, body = a.call("GET", "/admin/plugin-updates?status=pending", token)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var list struct {
		Updates []struct {
			ID           int64  `json:"id"`
			PluginName   string `json:"plugin_name"`
			ToSHA        string `json:"to_sha"`
			Verification struct {
				State    string `json:"state"`
				Signer   string `json:"signer"`
				Required bool   `json:"required"`
				Blocks   bool   `json:"blocks"`
			} `json:"verification"`
		} `json:"updates"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Updates, 2, "%s", body)
	ids := map[string]int64{}
	for _, u := range list.Updates {
		ids[u.PluginName] = u.ID
		assert.True(t, u.Verification.Required, u.PluginName)
		switch u.PluginName {
		case "signed":
			assert.Equal(t, signed, u.ToSHA)
			assert.Equal(t, "verified", u.Verification.State)
			assert.Equal(t, "release-team", u.Verification.Signer)
			assert.False(t, u.Verification.Blocks)
		case "unsigned":
			assert.Equal(t, "unsigned", u.Verification.State)
			assert.True(t, u.Verification.Blocks)
		}
	}

	code, body = a.call("POST", fmt.Sprintf("/admin/plugin-updates/%d/apply", ids["unsigned"]), token)
	require.Equal(t, http.StatusConflict, code, "%s", body)
	assert.Contains(t, string(body), "verification_required")
	code, body = a.call("POST", fmt.Sprintf("/admin/plugin-updates/%d/apply", ids["signed"]), token)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Contains(t, string(body), `"status":"applied"`)
}
