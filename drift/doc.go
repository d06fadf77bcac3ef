// Package drift is the engine of plugindrift: the [Sweeper] finds out when
// upstream has moved and queues updates; the [Updater] applies or dismisses
// them through the host's [Installer] and [Restarter].
//
// # Invariants
//
// One open entry per install: at most one entry per (workspace, plugin) is
// pending or applying at any time. The store enforces it (a unique index
// on the SQL backends), so it holds across goroutines, processes and
// replicas, not only inside one Sweeper.
//
// The reviewed commit is what gets installed: Apply hands the Installer the
// entry's ToSHA, the exact commit the operator saw, and never re-resolves
// the ref. If upstream moved again in the meantime, the sweep supersedes
// the entry and queues a new one for review instead.
//
// One sweeper at a time: a sweep first takes the lease named
// [SweeperLeaseName] in the store, renews it while it runs and gives it up
// when done. Whether a lease has expired is judged by the store's clock
// (the database server's), never by a replica's own, so replicas whose
// clocks disagree still never sweep together. A replica that finds the
// lease held by another skips its sweep and reports it as skipped. If
// renewal fails (the lease was lost), the sweep stops.
//
// # The apply claim
//
// No two installs of one entry overlap, and every install that ran is
// accounted for: its outcome is recorded on the entry, or, when that is
// refused because its claim was lost, logged as an error.
//
// Apply first claims the entry (pending → applying, with an expiry of
// now + ApplyTimeout) in one atomic store operation, under a token of its
// own, so of many concurrent callers exactly one installs; the others get
// [tracking.ErrBusy]. As with the lease, "now" is the store's clock, never
// a replica's: the Updater hands the store a TTL, not an instant, and the
// store alone judges whether a claim has expired (for Apply, for a
// sweep's Reconcile and for a rollback), so a replica whose clock runs
// ahead cannot take over a live claim and start a second install. While the Installer runs, the claim is renewed every
// ApplyTimeout/3. The Installer's context ends after ApplyTimeout, but an
// Installer that overstays it keeps the claim until it returns (with a
// warning in the log), so nobody else can start a second install beside
// it. A claim expires only when its holder stopped renewing it: the
// process died or lost the store.
//
// Claims are fenced: every write of the holder (renewal, completion,
// failure) names its token, and the store refuses it with
// [tracking.ErrClaimLost] once the claim was taken over or the entry left
// applying. A late result of an expired holder is logged and never lands
// on another holder's claim; a renewal that finds the claim lost cancels
// the install.
//
// If the process dies after installing but before recording it, the
// claim expires (by the store's clock), a later Apply claims the entry again and installs the
// same commit (Installers must be idempotent for one commit), and the
// entry ends applied once. Recording the install and marking the entry
// applied happen in one store transaction.
//
// # Scheduling
//
// [Sweeper.Start] runs sweeps on a robfig/cron standard spec ("@hourly",
// "*/15 * * * *", "@every 30m"); [Sweeper.RunOnce] runs one now under the
// caller's context, and [Sweeper.Trigger] runs one under the Sweeper's own
// lifetime, for requests (such as an HTTP "sweep now") whose caller may go
// away. A sweep requested while one is running joins it instead of
// starting a second one.
//
// Every sweep that ran (took the lease; skipped ones did nothing) is
// recorded in the store at its end, after its lease is given up, under a
// bounded context of its own, and the store keeps the newest
// [storage.SweepsKept]; a record that fails is logged, and the sweep is
// done anyway. [Sweeper.LatestSweep] says how the latest sweep of any
// replica went, from those records: so behind a load balancer, the
// replica that answers "how did the sweep go?" need not be the one that
// swept. [Sweeper.Latest] knows this process's sweeps only.
//
// A stopped sweep starts no new work; a store write that started
// completes or rolls back as a unit under its own bounded context, and the
// report counts exactly what was committed. With k upstreams that hang, a
// sweep takes at most about ceil(k/Concurrency) × ResolveTimeout longer.
//
// [Sweeper.Check] resolves and reconciles chosen upstreams now, with the
// sweep's rules, one replica at a time per upstream: for pushes and for an
// operator's "check now". The schedule stays the safety net.
//
// # Signatures
//
// With [SweeperConfig.Verifier] set (package resolver/signature provides
// one), every sweep and [Sweeper.Check] asks it which trust policy applies
// to each upstream's source and, under that policy, judges the commit the
// resolution selected (and, for tag refs, the annotated tag): verified,
// with its signer; unsigned; untrusted-signer; bad-signature. The verdict
// is stored on the upstream and carried by its entries
// ([tracking.Update.Verification]); a source no policy names is
// not-checked. The check runs only when something changed: a new commit,
// or a policy of another name. An upstream that did not move keeps its
// verdict, so an unchanged sweep costs no extra request. A check that
// cannot run fails the upstream as a failed resolution does, and nothing
// is queued without its verdict.
//
// A policy says record (show the verdict) or require. Under require, an
// entry that is not verified ([tracking.Verification.Blocks]) is refused
// by [Updater.Apply] with [ErrUnverified], which changes nothing, and is
// never taken by [Updater.AutoApply]. An operator who reviewed the commit
// applies it with [Updater.ApplyUnverified] and a reason; the reason and
// the operator are recorded on the applied entry (Override, DecidedBy)
// and in its update.applied event. [Updater.Explain] says which of these
// holds for an install.
package drift
