package tracking_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC)

func newTracker(t *testing.T) (*tracking.Tracker, *memstore.Store) {
	t.Helper()
	s := memstore.New()
	tr, err := tracking.NewTracker(s, &tracking.TrackerConfig{Now: func() time.Time { return now }})
	require.NoError(t, err)
	return tr, s
}

func TestNewTrackerRefusesNonsense(t *testing.T) {
	for name, tc := range map[string]struct {
		store tracking.TrackerStore
		cfg   *tracking.TrackerConfig
	}{
		"nil store":             {nil, nil},
		"nil store with config": {nil, &tracking.TrackerConfig{Now: func() time.Time { return now }}},
	} {
		t.Run(name, func(t *testing.T) {
			tr, err := tracking.NewTracker(tc.store, tc.cfg)
			require.ErrorIs(t, err, tracking.ErrInvalidArgument)
			assert.Nil(t, tr)
			assert.Contains(t, err.Error(), "NewTracker needs a store")
		})
	}
}

// TestTrackerDefaultRing: installs recorded for the first time get
// TrackerConfig.DefaultRing (0, the canary, when unset); a ring outside 0
// to MaxRing is refused when the Tracker is built.
func TestTrackerDefaultRing(t *testing.T) {
	for _, ring := range []int{-1, tracking.MaxRing + 1} {
		tr, err := tracking.NewTracker(memstore.New(), &tracking.TrackerConfig{DefaultRing: ring})
		require.ErrorIs(t, err, tracking.ErrInvalidArgument, "ring %d", ring)
		assert.Nil(t, tr)
		assert.Contains(t, err.Error(), "TrackerConfig.DefaultRing")
	}
	rec := tracking.InstallRecord{WorkspaceID: "ws", PluginName: "p", Source: "github://a/b", Ref: "head", SHA: commit}
	for cfg, want := range map[*tracking.TrackerConfig]int{nil: 0, {DefaultRing: tracking.MaxRing}: tracking.MaxRing} {
		tr, err := tracking.NewTracker(memstore.New(), cfg)
		require.NoError(t, err)
		in, err := tr.RecordInstall(t.Context(), rec)
		require.NoError(t, err)
		assert.Equal(t, want, in.Ring)
	}
}

const commit = "0123456789abcdef0123456789abcdef01234567"

func TestRecordInstallCanonicalises(t *testing.T) {
	tr, s := newTracker(t)
	in, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello",
		Source: "github://acme/hello.git#v1.0.0", Ref: "main",
		SHA: strings.ToUpper(commit), Version: "v1.0.0",
	})
	require.NoError(t, err)
	assert.Equal(t, "github://acme/hello#branch:v1.0.0", in.Source.String())
	assert.Equal(t, "branch:main", in.Ref.String())
	assert.Equal(t, commit, in.InstalledSHA, "SHA lowered")
	assert.Equal(t, now.Truncate(time.Microsecond), in.UpdatedAt)
	assert.True(t, in.Tracked())
	got, err := s.GetInstall(t.Context(), "acme", "hello")
	require.NoError(t, err)
	assert.Equal(t, in, got)
}

func TestRecordInstallRejectsBadInputAndWritesNothing(t *testing.T) {
	good := tracking.InstallRecord{WorkspaceID: "ws", PluginName: "p", Source: "github://a/b", Ref: "tag:latest", SHA: commit}
	for name, c := range map[string]struct {
		mut  func(*tracking.InstallRecord)
		want error
	}{
		"workspace empty":       {func(r *tracking.InstallRecord) { r.WorkspaceID = "" }, tracking.ErrInvalidWorkspaceID},
		"workspace sql":         {func(r *tracking.InstallRecord) { r.WorkspaceID = "ws'; DROP TABLE x;--" }, tracking.ErrInvalidWorkspaceID},
		"plugin path":           {func(r *tracking.InstallRecord) { r.PluginName = "../etc" }, tracking.ErrInvalidPluginName},
		"plugin upper":          {func(r *tracking.InstallRecord) { r.PluginName = "Hello" }, tracking.ErrInvalidPluginName},
		"source ext":            {func(r *tracking.InstallRecord) { r.Source = "ext::sh -c id" }, tracking.ErrInvalidSource},
		"source credentials":    {func(r *tracking.InstallRecord) { r.Source = "git+https://user:tok@h/x.git" }, tracking.ErrInvalidSource},
		"ref option":            {func(r *tracking.InstallRecord) { r.Ref = "--upload-pack=x" }, tracking.ErrInvalidRef},
		"ref dotdot":            {func(r *tracking.InstallRecord) { r.Ref = "branch:a..b" }, tracking.ErrInvalidRef},
		"sha short":             {func(r *tracking.InstallRecord) { r.SHA = "abc" }, tracking.ErrInvalidSHA},
		"sha missing":           {func(r *tracking.InstallRecord) { r.SHA = "" }, tracking.ErrInvalidSHA},
		"version control":       {func(r *tracking.InstallRecord) { r.Version = "v1\n" }, tracking.ErrInvalidRef},
		"local cannot track":    {func(r *tracking.InstallRecord) { r.Source = "local://p"; r.SHA = "" }, tracking.ErrInvalidRef},
		"huge ref":              {func(r *tracking.InstallRecord) { r.Ref = strings.Repeat("a", 10<<10) }, tracking.ErrInvalidRef},
		"unicode slash plugin":  {func(r *tracking.InstallRecord) { r.PluginName = "a\u2215b" }, tracking.ErrInvalidPluginName},
		"nul in workspace":      {func(r *tracking.InstallRecord) { r.WorkspaceID = "w\x00" }, tracking.ErrInvalidWorkspaceID},
		"scp-like source":       {func(r *tracking.InstallRecord) { r.Source = "git@github.com:a/b.git" }, tracking.ErrInvalidSource},
		"file source with host": {func(r *tracking.InstallRecord) { r.Source = "git+file://host/x" }, tracking.ErrInvalidSource},
	} {
		t.Run(name, func(t *testing.T) {
			tr, s := newTracker(t)
			rec := good
			c.mut(&rec)
			_, err := tr.RecordInstall(t.Context(), rec)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.want), "want %v, got %v", c.want, err)
			all, lerr := s.ListInstalls(t.Context(), storage.ListInstallsParams{Limit: 10})
			require.NoError(t, lerr)
			assert.Empty(t, all, "nothing written")
		})
	}
}

func TestRecordInstallLocalWithoutCommit(t *testing.T) {
	tr, _ := newTracker(t)
	in, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: "ws", PluginName: "notes", Source: "notes"})
	require.NoError(t, err)
	assert.Equal(t, "local://notes", in.Source.String())
	assert.False(t, in.Tracked())
}

func TestRecordUninstall(t *testing.T) {
	tr, s := newTracker(t)
	_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: "ws", PluginName: "p", Source: "github://a/b", Ref: "head", SHA: commit})
	require.NoError(t, err)
	require.NoError(t, tr.RecordUninstall(t.Context(), "ws", "p"))
	_, err = s.GetInstall(t.Context(), "ws", "p")
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	assert.ErrorIs(t, tr.RecordUninstall(t.Context(), "ws", "p"), tracking.ErrNotFound)
	assert.ErrorIs(t, tr.RecordUninstall(t.Context(), "ws", "../p"), tracking.ErrInvalidPluginName)
}

func TestInstallValidateHandBuilt(t *testing.T) {
	src, err := tracking.ParseSource("github://acme/p")
	require.NoError(t, err)
	main, err := tracking.BranchRef("main")
	require.NoError(t, err)
	local, err := tracking.ParseSource("local://p")
	require.NoError(t, err)
	good := tracking.Install{WorkspaceID: "ws", PluginName: "p", Source: src, Ref: main, InstalledSHA: commit}
	require.NoError(t, good.Validate())
	for name, c := range map[string]struct {
		mut  func(*tracking.Install)
		want error
	}{
		"zero source":        {func(in *tracking.Install) { in.Source = tracking.Source{} }, tracking.ErrInvalidSource},
		"upper-case sha":     {func(in *tracking.Install) { in.InstalledSHA = strings.ToUpper(commit) }, tracking.ErrInvalidSHA},
		"missing sha":        {func(in *tracking.Install) { in.InstalledSHA = "" }, tracking.ErrInvalidSHA},
		"bad workspace":      {func(in *tracking.Install) { in.WorkspaceID = "" }, tracking.ErrInvalidWorkspaceID},
		"bad plugin":         {func(in *tracking.Install) { in.PluginName = "../p" }, tracking.ErrInvalidPluginName},
		"local tracks a ref": {func(in *tracking.Install) { in.Source = local }, tracking.ErrInvalidRef},
		"version not a name": {func(in *tracking.Install) { in.InstalledVersion = "v1 2" }, tracking.ErrInvalidRef},
		"negative ring":      {func(in *tracking.Install) { in.Ring = -1 }, tracking.ErrInvalidArgument},
		"ring past MaxRing":  {func(in *tracking.Install) { in.Ring = tracking.MaxRing + 1 }, tracking.ErrInvalidArgument},
	} {
		in := good
		c.mut(&in)
		assert.ErrorIs(t, in.Validate(), c.want, name)
	}
	// The zero Ref means none.
	untracked := tracking.Install{WorkspaceID: "ws", PluginName: "p", Source: local}
	assert.NoError(t, untracked.Validate())
}
