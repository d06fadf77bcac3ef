package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// t0 has sub-second precision on purpose: stores must keep microseconds.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

// env is one test's store plus the fixtures most cases share.
type env struct {
	t     *testing.T
	ctx   context.Context
	store storage.Store

	mu     sync.Mutex
	claims int
	tokens map[int64]string // the last claim token handed to each entry
}

func newEnv(t *testing.T, s storage.Store) *env {
	return &env{t: t, ctx: t.Context(), store: s, tokens: map[int64]string{}}
}

// sha returns a distinct, valid commit id for n.
func sha(n int) string { return fmt.Sprintf("%040x", n) }

func (e *env) source(s string) tracking.Source {
	e.t.Helper()
	src, err := tracking.ParseSource(s)
	require.NoError(e.t, err)
	return src
}

func (e *env) ref(s string) tracking.Ref {
	e.t.Helper()
	r, err := tracking.ParseRef(s)
	require.NoError(e.t, err)
	return r
}

func (e *env) key(source, ref string) tracking.UpstreamKey {
	return tracking.UpstreamKey{Source: e.source(source), Ref: e.ref(ref)}
}

// install records workspace/plugin at commit on the upstream key.
func (e *env) install(workspace, plugin string, key tracking.UpstreamKey, commit, version string, at time.Time) tracking.Install {
	e.t.Helper()
	in, err := e.store.UpsertInstall(e.ctx, tracking.Install{
		WorkspaceID: workspace, PluginName: plugin,
		Source: key.Source, Ref: key.Ref,
		InstalledSHA: commit, InstalledVersion: version,
		UpdatedAt: at,
	})
	require.NoError(e.t, err)
	return in
}

func (e *env) reconcile(key tracking.UpstreamKey, commit, version string, at time.Time) storage.ReconcileResult {
	e.t.Helper()
	res, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: commit, Version: version, Validator: "v-" + commit[:8], Now: at})
	require.NoError(e.t, err)
	return res
}

func (e *env) updates(p storage.ListUpdatesParams) []tracking.Update {
	e.t.Helper()
	if p.Limit == 0 {
		p.Limit = storage.MaxLimit
	}
	us, err := e.store.ListUpdates(e.ctx, p)
	require.NoError(e.t, err)
	return us
}

// only returns the single entry of workspace/plugin, failing otherwise.
func (e *env) only(workspace, plugin string) tracking.Update {
	e.t.Helper()
	us := e.updates(storage.ListUpdatesParams{WorkspaceID: workspace, PluginName: plugin})
	require.Len(e.t, us, 1, "entries of %s/%s", workspace, plugin)
	return us[0]
}

// open returns the open entries of workspace/plugin.
func (e *env) open(workspace, plugin string) []tracking.Update {
	e.t.Helper()
	return e.updates(storage.ListUpdatesParams{WorkspaceID: workspace, PluginName: plugin,
		Statuses: []tracking.UpdateStatus{tracking.StatusPending, tracking.StatusApplying}})
}

func (e *env) get(id int64) tracking.Update {
	e.t.Helper()
	u, err := e.store.GetUpdate(e.ctx, id)
	require.NoError(e.t, err)
	return u
}

// claim asks for the claim on id for ttl under a new token, which
// e.token(id) returns from then on when the claim was granted.
func (e *env) claim(id int64, ttl time.Duration) (tracking.Update, error) {
	e.mu.Lock()
	e.claims++
	token := fmt.Sprintf("claim-%d", e.claims)
	e.mu.Unlock()
	u, err := e.store.ClaimUpdate(e.ctx, storage.ClaimUpdateParams{ID: id, Token: token, TTL: ttl})
	if err == nil && u.Status == tracking.StatusApplying {
		e.mu.Lock()
		e.tokens[id] = token
		e.mu.Unlock()
	}
	return u, err
}

// token is the token of the last claim granted on id ("none" if none).
func (e *env) token(id int64) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.tokens[id]; ok {
		return t
	}
	return "none"
}

func (e *env) upstream(key tracking.UpstreamKey) tracking.Upstream {
	e.t.Helper()
	u, err := e.store.GetUpstream(e.ctx, key)
	require.NoError(e.t, err)
	return u
}

// Sources and refs most cases use.
const (
	srcA = "git+https://git.example.com/acme/a.git"
	srcB = "github://acme/b"
)
