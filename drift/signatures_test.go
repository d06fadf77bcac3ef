package drift_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/resolver/signature"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// countingVerifier counts the signature checks the Sweeper asks for.
type countingVerifier struct {
	*signature.Verifier
	calls atomic.Int32
}

func (c *countingVerifier) Verify(ctx context.Context, src tracking.Source, ref tracking.Ref, res resolver.Result) (tracking.Verification, error) {
	c.calls.Add(1)
	return c.Verifier.Verify(ctx, src, ref, res)
}

// tamper writes a copy of commit sha of repo with its message changed and
// its signature kept, and points branch at it: a commit altered after it
// was signed.
func tamper(t *testing.T, repos *resolvertest.Repos, repo, sha, branch string) string {
	t.Helper()
	raw := repos.RawObject(t, repo, "commit", sha)
	altered := bytes.Replace(raw, []byte("signed on "), []byte("signed off "), 1)
	require.NotEqual(t, raw, altered)
	cmd := exec.Command("git", "-C", repos.Path(repo), "hash-object", "-t", "commit", "-w", "--stdin")
	cmd.Stdin = bytes.NewReader(altered)
	out, err := cmd.Output()
	require.NoError(t, err)
	forged := strings.TrimSpace(string(out))
	require.NoError(t, exec.Command("git", "-C", repos.Path(repo), "update-ref", "refs/heads/"+branch, forged).Run())
	return forged
}

// TestSweepJudgesRealSignaturesAndRequireBlocks is the whole path of a
// signature check, with real signed commits and tags made by git and
// ssh-keygen, over file:// and smart HTTP, on every store: the sweep
// records verified, unsigned, untrusted-signer and bad-signature on the
// entries; a require policy makes Apply refuse the unverified ones and
// auto-apply leave them; an operator's override applies one and is
// recorded; an unchanged sweep checks nothing again.
func TestSweepJudgesRealSignaturesAndRequireBlocks(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	trusted, stranger := resolvertest.NewSigningKey(t), resolvertest.NewSigningKey(t)
	const repo = resolvertest.RepoPlugin
	base := repos.SHA(repo, "refs/heads/main")
	signed := repos.SignedCommit(t, repo, "trusted", "refs/heads/main", trusted)
	strange := repos.SignedCommit(t, repo, "stranger", "refs/heads/main", stranger)
	forged := tamper(t, repos, repo, repos.SignedCommit(t, repo, "tampered", "refs/heads/main", trusted), "tampered")
	unsigned := repos.SHA(repo, "refs/heads/dev")
	// A release whose commit is unsigned but whose tag is signed.
	tagged := repos.SignedTag(t, repo, "v99.0.0", "dev", trusted)
	require.Equal(t, unsigned, tagged)

	policy := signature.Policy{Rules: []signature.Rule{{
		Repositories:   []string{"*"},
		Mode:           signature.Require,
		AllowedSigners: []byte("release-team " + trusted.PublicKey + "\n"),
	}}}
	follows := map[string]struct{ ref, want string }{
		"p-trusted":  {"branch:trusted", signed},
		"p-stranger": {"branch:stranger", strange},
		"p-tampered": {"branch:tampered", forged},
		"p-unsigned": {"branch:dev", unsigned},
		"p-release":  {"tag:latest", tagged},
	}
	wantState := map[string]tracking.VerificationState{
		"p-trusted":  tracking.VerificationVerified,
		"p-stranger": tracking.VerificationUntrustedSigner,
		"p-tampered": tracking.VerificationBadSignature,
		"p-unsigned": tracking.VerificationUnsigned,
		"p-release":  tracking.VerificationVerified,
	}
	transports := map[string]string{
		"file": "git+file://" + repos.Dir(),
		"http": "git+" + resolvertest.ServeSmartHTTP(t, repos.Dir()),
	}
	for tname, root := range transports {
		t.Run(tname, func(t *testing.T) {
			eachStore(t, func(t *testing.T, s storage.Store) {
				clock := fakeclock.New(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
				git, err := gitcli.New(&gitcli.Config{AllowFile: true})
				require.NoError(t, err)
				reg, err := resolver.NewRegistry(map[tracking.SourceScheme]resolver.Resolver{tracking.SchemeGit: git})
				require.NoError(t, err)
				v, err := signature.New(reg, policy)
				require.NoError(t, err)
				counting := &countingVerifier{Verifier: v}

				tracker, err := tracking.NewTracker(s, &tracking.TrackerConfig{Now: clock.Now})
				require.NoError(t, err)
				for plugin, f := range follows {
					_, err := tracker.RecordInstall(t.Context(), tracking.InstallRecord{
						WorkspaceID: "ws", PluginName: plugin, Source: root + "/" + repo + ".git", Ref: f.ref, SHA: base,
					})
					require.NoError(t, err)
				}
				sw, err := drift.NewSweeper(s, reg, &drift.SweeperConfig{Verifier: counting, Now: clock.Now})
				require.NoError(t, err)
				rep, err := sw.RunOnce(t.Context())
				require.NoError(t, err)
				require.Empty(t, rep.Errors)
				require.Equal(t, len(follows), rep.Queued)

				entries := map[string]tracking.Update{}
				page, err := s.ListUpdates(t.Context(), storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 100})
				require.NoError(t, err)
				for _, e := range page {
					entries[e.PluginName] = e
				}
				require.Len(t, entries, len(follows))
				for plugin, want := range wantState {
					e := entries[plugin]
					assert.Equal(t, follows[plugin].want, e.ToSHA, plugin)
					assert.Equal(t, want, e.Verification.State, "%s: %s", plugin, e.Verification.Detail)
					assert.True(t, e.Verification.Required, plugin)
					assert.Equal(t, v.Policy(e.Source), e.Verification.Policy, plugin)
				}
				assert.Equal(t, "release-team", entries["p-trusted"].Verification.Signer)
				assert.Contains(t, entries["p-release"].Verification.Detail, "tag v99.0.0", "the signed tag decided")
				assert.True(t, strings.HasPrefix(entries["p-stranger"].Verification.Signer, "SHA256:"), entries["p-stranger"].Verification.Signer)

				// An unchanged sweep checks nothing again.
				calls := counting.calls.Load()
				clock.Advance(time.Hour)
				_, err = sw.RunOnce(t.Context())
				require.NoError(t, err)
				assert.Equal(t, calls, counting.calls.Load(), "an unchanged sweep costs no signature check")

				var installed []string
				up, err := drift.NewUpdater(s, drift.InstallerFunc(func(_ context.Context, req drift.InstallRequest) error {
					installed = append(installed, req.PluginName)
					return nil
				}), nil, &drift.UpdaterConfig{Now: clock.Now, AutoApply: func(tracking.Update) bool { return true }})
				require.NoError(t, err)

				// Apply refuses what is not verified, and changes nothing.
				for _, plugin := range []string{"p-stranger", "p-tampered", "p-unsigned"} {
					_, err := up.Apply(t.Context(), entries[plugin].ID, "alice")
					require.ErrorIs(t, err, drift.ErrUnverified, plugin)
					got, err := s.GetUpdate(t.Context(), entries[plugin].ID)
					require.NoError(t, err)
					assert.Equal(t, tracking.StatusPending, got.Status, plugin)
					assert.Zero(t, got.Attempts, plugin)
				}
				assert.Empty(t, installed)

				// Auto-apply takes only the verified entries.
				n, err := up.AutoApply(t.Context())
				require.NoError(t, err)
				assert.Equal(t, 2, n)
				assert.ElementsMatch(t, []string{"p-trusted", "p-release"}, installed)

				// An operator overrides one, and it is recorded.
				done, err := up.ApplyUnverified(t.Context(), entries["p-unsigned"].ID, "alice", "vendored hotfix, reviewed in PR 12")
				require.NoError(t, err)
				assert.Equal(t, tracking.StatusApplied, done.Status)
				assert.Equal(t, "vendored hotfix, reviewed in PR 12", done.Override)
				assert.Equal(t, "alice", done.DecidedBy)
				got, err := s.GetUpdate(t.Context(), done.ID)
				require.NoError(t, err)
				assert.Equal(t, "vendored hotfix, reviewed in PR 12", got.Override, "the override is stored")
			})
		})
	}
}
