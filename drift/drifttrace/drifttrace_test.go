package drifttrace_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/drift/drifttrace"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

type oneCommit struct{}

func (oneCommit) Resolve(context.Context, resolver.Request) (resolver.Result, error) {
	return resolver.Result{SHA: strings.Repeat("b", 40), Version: "v1.1.0"}, nil
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value.String()
	}
	return out
}

// traced is one install of github://acme/theme at tag:latest in a memstore,
// with a Sweeper whose Observer records its spans in rec.
type traced struct {
	store storage.Store
	key   tracking.UpstreamKey
	tr    *drifttrace.Tracer
	sw    *drift.Sweeper
	rec   *tracetest.SpanRecorder
}

func newTraced(t *testing.T) traced {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tr := drifttrace.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	store := memstore.New()
	src, err := tracking.ParseSource("github://acme/theme")
	require.NoError(t, err)
	ref, err := tracking.ParseRef("tag:latest")
	require.NoError(t, err)
	_, err = store.UpsertInstall(t.Context(), tracking.Install{WorkspaceID: "ws-1", PluginName: "theme", Source: src, Ref: ref,
		InstalledSHA: strings.Repeat("a", 40), InstalledVersion: "v1.0.0", UpdatedAt: time.Now()})
	require.NoError(t, err)
	sw, err := drift.NewSweeper(store, oneCommit{}, &drift.SweeperConfig{Observer: tr})
	require.NoError(t, err)
	return traced{store: store, key: tracking.UpstreamKey{Source: src, Ref: ref}, tr: tr, sw: sw, rec: rec}
}

// ended is the spans ended so far, by name.
func (x traced) ended() map[string]sdktrace.ReadOnlySpan {
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range x.rec.Ended() {
		byName[s.Name()] = s
	}
	return byName
}

func TestSpansOfASweepAndAnApply(t *testing.T) {
	ctx := t.Context()
	x := newTraced(t)
	store, tr := x.store, x.tr
	_, err := x.sw.RunOnce(ctx)
	require.NoError(t, err)

	installer := drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil })
	restarter := drift.RestarterFunc(func(context.Context, string) error { return errors.New("exit 1") })
	up, err := drift.NewUpdater(store, installer, restarter, &drift.UpdaterConfig{Observer: tr})
	require.NoError(t, err)
	us, err := store.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 1})
	require.NoError(t, err)
	_, err = up.Apply(ctx, us[0].ID, "ops")
	require.ErrorIs(t, err, drift.ErrRestartFailed)

	byName := x.ended()
	for _, name := range []string{"plugindrift.sweep", "plugindrift.resolve", "plugindrift.reconcile", "plugindrift.apply", "plugindrift.install", "plugindrift.record", "plugindrift.restart"} {
		require.Contains(t, byName, name)
	}
	parent := func(child, of string) {
		t.Helper()
		assert.Equal(t, byName[of].SpanContext().SpanID(), byName[child].Parent().SpanID(), "%s is a child of %s", child, of)
		assert.Equal(t, byName[of].SpanContext().TraceID(), byName[child].SpanContext().TraceID())
	}
	parent("plugindrift.resolve", "plugindrift.sweep")
	parent("plugindrift.reconcile", "plugindrift.resolve")
	parent("plugindrift.install", "plugindrift.apply")
	parent("plugindrift.record", "plugindrift.apply")
	parent("plugindrift.restart", "plugindrift.apply")

	res := attrs(byName["plugindrift.resolve"])
	assert.Equal(t, "github://acme/theme", res[drifttrace.AttrSource])
	assert.Equal(t, "tag:latest", res[drifttrace.AttrRef])
	assert.Equal(t, "resolved", res[drifttrace.AttrResult])
	assert.Equal(t, "v1.1.0", res[drifttrace.AttrVersion])
	assert.Equal(t, "1", attrs(byName["plugindrift.reconcile"])[drifttrace.AttrQueued])

	apply := attrs(byName["plugindrift.apply"])
	assert.Equal(t, "restart_failed", apply[drifttrace.AttrOutcome])
	assert.Equal(t, "new-version", apply[drifttrace.AttrKind])
	assert.Equal(t, strings.Repeat("b", 40), apply[drifttrace.AttrToSHA])
	assert.Equal(t, codes.Error, byName["plugindrift.restart"].Status().Code)
	assert.Equal(t, codes.Unset, byName["plugindrift.install"].Status().Code)
}

func TestSpansOfACheck(t *testing.T) {
	x := newTraced(t)
	_, err := x.sw.Check(t.Context(), x.key)
	require.NoError(t, err)

	byName := x.ended()
	require.Contains(t, byName, "plugindrift.check")
	require.Contains(t, byName, "plugindrift.resolve")
	assert.NotContains(t, byName, "plugindrift.sweep")
	assert.Equal(t, byName["plugindrift.check"].SpanContext().SpanID(), byName["plugindrift.resolve"].Parent().SpanID(), "the resolve is the check's")
	assert.Equal(t, "1", attrs(byName["plugindrift.check"])[drifttrace.AttrQueued])
}
