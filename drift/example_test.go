package drift_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// upstream is a stand-in for gitcli or github: v1.1.0 is the newest tag.
type upstream struct{}

func (upstream) Resolve(context.Context, resolver.Request) (resolver.Result, error) {
	sha := "2222222222222222222222222222222222222222"
	return resolver.Result{SHA: sha, Version: "v1.1.0", Revision: resolver.Revision("v1.1.0", sha)}, nil
}

func Example() {
	ctx := context.Background()
	store := memstore.New()

	// The host records what it installed.
	tracker, err := tracking.NewTracker(store, nil)
	if err != nil {
		panic(err)
	}
	_, err = tracker.RecordInstall(ctx, tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello",
		Source: "github://acme/hello-plugin", Ref: "tag:latest",
		SHA: "1111111111111111111111111111111111111111", Version: "v1.0.0",
	})
	if err != nil {
		panic(err)
	}

	// A sweep finds that upstream moved and queues an update.
	sweeper, err := drift.NewSweeper(store, upstream{}, &drift.SweeperConfig{Schedule: "@every 30m"})
	if err != nil {
		panic(err)
	}
	report, err := sweeper.RunOnce(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("upstreams=%d queued=%d\n", report.Upstreams, report.Queued)

	pending, _ := store.ListUpdates(ctx, storage.ListUpdatesParams{
		Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 10,
	})
	u := pending[0]
	fmt.Printf("%s/%s: %s → %s (%s)\n", u.WorkspaceID, u.PluginName, u.FromVersion, u.ToVersion, u.Kind)

	// An operator applies it: the host's Installer gets the reviewed commit.
	installer := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
		fmt.Printf("install %s at %s\n", req.PluginName, req.SHA[:7])
		return nil
	})
	restarter := drift.RestarterFunc(func(ctx context.Context, workspaceID string) error {
		fmt.Printf("restart %s\n", workspaceID)
		return nil
	})
	updater, err := drift.NewUpdater(store, installer, restarter, &drift.UpdaterConfig{ApplyTimeout: 5 * time.Minute})
	if err != nil {
		panic(err)
	}
	applied, err := updater.Apply(ctx, u.ID, "alice")
	if err != nil {
		panic(err)
	}
	fmt.Println(applied.Status, "by", applied.DecidedBy)

	// Output:
	// upstreams=1 queued=1
	// acme/hello: v1.0.0 → v1.1.0 (new-version)
	// install hello at 2222222
	// restart acme
	// applied by alice
}

func ExampleUpdater_Dismiss() {
	ctx := context.Background()
	store := memstore.New()
	tracker, err := tracking.NewTracker(store, nil)
	if err != nil {
		panic(err)
	}
	_, _ = tracker.RecordInstall(ctx, tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello", Source: "github://acme/hello-plugin",
		Ref: "tag:latest", SHA: "1111111111111111111111111111111111111111", Version: "v1.0.0",
	})
	sweeper, _ := drift.NewSweeper(store, upstream{}, nil)
	_, _ = sweeper.RunOnce(ctx)
	updater, err := drift.NewUpdater(store, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }), nil, nil)
	if err != nil {
		panic(err)
	}

	dismissed, err := updater.Dismiss(ctx, 1, "bob", "waiting for v1.2")
	if err != nil {
		panic(err)
	}
	fmt.Println(dismissed.Status, dismissed.Reason)

	// The next sweep does not queue v1.1.0 again.
	report, _ := sweeper.RunOnce(ctx)
	fmt.Println("queued:", report.Queued)

	// Output:
	// dismissed waiting for v1.2
	// queued: 0
}

func ExampleUpdater_AutoApply() {
	ctx := context.Background()
	store := memstore.New()
	tracker, err := tracking.NewTracker(store, nil)
	if err != nil {
		panic(err)
	}
	_, _ = tracker.RecordInstall(ctx, tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello", Source: "github://acme/hello-plugin",
		Ref: "tag:latest", SHA: "1111111111111111111111111111111111111111", Version: "v1.0.0",
	})
	installer := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
		fmt.Printf("install %s %s\n", req.PluginName, req.Version)
		return nil
	})
	// v1.0.0 → v1.1.0 is a minor release: PatchOnly leaves it to an operator.
	updater, err := drift.NewUpdater(store, installer, nil, &drift.UpdaterConfig{AutoApply: drift.PatchOnly})
	if err != nil {
		panic(err)
	}
	sweeper, err := drift.NewSweeper(store, upstream{}, &drift.SweeperConfig{
		// After each sweep, while this replica holds the sweeper lease.
		AfterSweep: func(ctx context.Context, _ drift.Report) {
			n, err := updater.AutoApply(ctx)
			fmt.Println("auto-applied:", n, err)
		},
	})
	if err != nil {
		panic(err)
	}
	report, _ := sweeper.RunOnce(ctx)
	fmt.Println("queued:", report.Queued)

	// Output:
	// auto-applied: 0 <nil>
	// queued: 1
}

// Check looks at chosen upstreams now, between scheduled sweeps: after a
// push webhook, or when an operator asks.
func ExampleSweeper_Check() {
	ctx := context.Background()
	store := memstore.New()
	tracker, err := tracking.NewTracker(store, nil)
	if err != nil {
		panic(err)
	}
	_, err = tracker.RecordInstall(ctx, tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello",
		Source: "github://acme/hello-plugin", Ref: "tag:latest",
		SHA: "1111111111111111111111111111111111111111", Version: "v1.0.0",
	})
	if err != nil {
		panic(err)
	}
	sweeper, err := drift.NewSweeper(store, upstream{}, nil)
	if err != nil {
		panic(err)
	}
	src, _ := tracking.ParseSource("github://acme/hello-plugin")
	ref, _ := tracking.ParseRef("tag:latest")
	report, err := sweeper.Check(ctx, tracking.UpstreamKey{Source: src, Ref: ref})
	if err != nil {
		panic(err)
	}
	fmt.Printf("upstreams=%d resolved=%d queued=%d\n", report.Upstreams, report.Resolved, report.Queued)
	// Output:
	// upstreams=1 resolved=1 queued=1
}

// requireSigned is a stand-in for resolver/signature's Verifier: its
// policy requires a verified signature, and v1.1.0 is not signed.
type requireSigned struct{}

func (requireSigned) Policy(tracking.Source) string { return "release-keys" }

func (requireSigned) Verify(context.Context, tracking.Source, tracking.Ref, resolver.Result) (tracking.Verification, error) {
	return tracking.Verification{State: tracking.VerificationUnsigned, By: "plugindrift", Detail: "commit 2222222 has no signature", Required: true, Policy: "release-keys"}, nil
}

// An entry whose trust policy requires a verified signature that its
// commit lacks is refused by Apply; an operator who reviewed the commit
// applies it anyway with ApplyUnverified, which records who and why.
func ExampleUpdater_ApplyUnverified() {
	ctx := context.Background()
	store := memstore.New()
	tracker, err := tracking.NewTracker(store, nil)
	if err != nil {
		panic(err)
	}
	_, err = tracker.RecordInstall(ctx, tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "hello", Source: "github://acme/hello-plugin",
		Ref: "tag:latest", SHA: "1111111111111111111111111111111111111111", Version: "v1.0.0",
	})
	if err != nil {
		panic(err)
	}
	sweeper, err := drift.NewSweeper(store, upstream{}, &drift.SweeperConfig{Verifier: requireSigned{}})
	if err != nil {
		panic(err)
	}
	if _, err := sweeper.RunOnce(ctx); err != nil {
		panic(err)
	}
	installer := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
		fmt.Printf("install %s %s\n", req.PluginName, req.Version)
		return nil
	})
	updater, err := drift.NewUpdater(store, installer, nil, nil)
	if err != nil {
		panic(err)
	}
	pending, err := store.ListUpdates(ctx, storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 1})
	if err != nil {
		panic(err)
	}
	u := pending[0]
	fmt.Println(u.ToVersion, u.Verification.State, "blocks:", u.Verification.Blocks())

	_, err = updater.Apply(ctx, u.ID, "alice")
	fmt.Println("apply refused:", errors.Is(err, drift.ErrUnverified))

	applied, err := updater.ApplyUnverified(ctx, u.ID, "alice", "diff reviewed; the release key is being rotated")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s by %s: %s\n", applied.Status, applied.DecidedBy, applied.Override)

	// Output:
	// v1.1.0 unsigned blocks: true
	// apply refused: true
	// install hello v1.1.0
	// applied by alice: diff reviewed; the release key is being rotated
}
