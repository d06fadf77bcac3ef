// Package plugindrift knows which commit of which plugin is installed in
// which workspace, follows each install's upstream, and updates it safely.
// This package holds no code; it is the map of the module.
//
// The loop, in the order a host application meets it:
//
//  1. The host records what it installed with tracking.Tracker's
//     RecordInstall: workspace, plugin, source (github://acme/hello), the
//     ref it follows (tag:latest, branch:main) and the commit.
//  2. A drift.Sweeper runs on a schedule, or on request, resolves every
//     distinct upstream once through a resolver.Resolver (gitcli runs
//     git ls-remote; github uses the REST API with conditional requests),
//     and queues an update for every install behind it.
//  3. An operator reviews the queue, in the host's own UI or on the
//     mountable adminhttp page, and applies or dismisses each entry.
//  4. A drift.Updater applies an entry: it installs exactly the reviewed
//     commit through the host's drift.Installer, records it, and restarts
//     the workspace through the host's drift.Restarter.
//
// Everything is kept in a storage.Store: bunstore on SQLite or Postgres,
// or memstore in tests.
//
// # Packages
//
//   - [github.com/plugindrift/plugindrift/tracking]: shared types, the ref
//     and source grammar, sentinel errors, the Tracker.
//   - [github.com/plugindrift/plugindrift/storage]: the Store contract;
//     [github.com/plugindrift/plugindrift/storage/bunstore] (SQLite and
//     Postgres), [github.com/plugindrift/plugindrift/storage/memstore] (in
//     memory) and the conformance suite
//     [github.com/plugindrift/plugindrift/storage/storetest].
//   - [github.com/plugindrift/plugindrift/resolver]: the Resolver contract
//     and Registry; [github.com/plugindrift/plugindrift/resolver/gitcli]
//     (git), [github.com/plugindrift/plugindrift/resolver/github] (GitHub's
//     REST API) and the conformance suite
//     [github.com/plugindrift/plugindrift/resolver/resolvertest].
//   - [github.com/plugindrift/plugindrift/drift]: the Sweeper, the Updater
//     and the apply protocol.
//   - [github.com/plugindrift/plugindrift/adminhttp]: the operator's JSON
//     API and admin page.
//
// Runnable programs live under examples/: quickstart shows the whole loop
// on embedded SQLite and a local git upstream (go run ./examples/quickstart);
// hostapp is a host application with an HTTP server, a sweeper and the
// admin handler.
package plugindrift
