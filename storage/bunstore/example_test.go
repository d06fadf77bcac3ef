package bunstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func Example() {
	ctx := context.Background()
	store, err := bunstore.Open(ctx, "sqlite://:memory:", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	// A host records what it installed, through a Tracker.
	tracker, err := tracking.NewTracker(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = tracker.RecordInstall(ctx, tracking.InstallRecord{
		WorkspaceID: "acme", PluginName: "billing",
		Source: "github://example/billing", Ref: "tag:latest",
		SHA: "1111111111111111111111111111111111111111", Version: "v1.0.0",
	})
	if err != nil {
		log.Fatal(err)
	}

	// A sweep learned that upstream moved on.
	ups, err := store.ListUpstreams(ctx, storage.ListUpstreamsParams{Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	res, err := store.Reconcile(ctx, storage.ReconcileParams{
		Key: ups[0].Key, SHA: "2222222222222222222222222222222222222222", Version: "v1.1.0",
		Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", res)

	pending, err := store.ListUpdates(ctx, storage.ListUpdatesParams{
		Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 10,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range pending {
		fmt.Println(u.WorkspaceID, u.PluginName, u.FromVersion, "→", u.ToVersion, u.Kind)
	}
	// Output:
	// {Installs:1 Queued:1 Superseded:0}
	// acme billing v1.0.0 → v1.1.0 new-version
}

func ExampleOpen() {
	ctx := context.Background()
	store, err := bunstore.Open(ctx, "sqlite://:memory:", &bunstore.Config{TablePrefix: "myapp_plugindrift_"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	// Migrate on every start: it is idempotent and safe to run from
	// several replicas at once.
	for range 2 {
		if err := store.Migrate(ctx); err != nil {
			log.Fatal(err)
		}
	}
	_, err = store.GetInstall(ctx, "acme", "billing")
	fmt.Println(err)
	// Output:
	// bunstore: get install acme/billing: not found
}
