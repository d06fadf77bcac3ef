package storage

import (
	"context"
	"time"

	"github.com/plugindrift/plugindrift/tracking"
)

// Store is the driver contract. Implementations must be safe for concurrent
// use, by several goroutines and by several processes sharing one database.
//
// Every method takes its notion of "now" from its parameters and never reads
// the clock, so callers (and tests) control time.
//
// Times are stored in UTC with microsecond precision and returned so.
//
// Inputs of type tracking.Source and tracking.Ref are valid by
// construction (the portable type guarantees this: they are made only by
// tracking's parsers and constructors), so implementations never re-parse
// or re-validate them; they check the plain strings (workspace ids, plugin
// names, SHAs) and the rules between fields that tracking.Install.Validate
// and RequireTracked hold.
//
// Errors: methods return errors for which errors.Is matches the tracking
// sentinels named in each method's comment; any other failure (a closed
// database, a lost connection) is returned wrapped, with the backend's name
// as prefix.
type Store interface {
	// UpsertInstall records that in.WorkspaceID has in.PluginName installed.
	// in.UpdatedAt is "now". An install that fails in.Validate() must be
	// refused with its error, writing nothing. It creates the row or replaces source, ref, SHA and version
	// of the existing one; InstalledAt becomes in.UpdatedAt when the row is
	// created or its SHA changes, and is kept otherwise. When the install is
	// Tracked it makes sure an upstream row exists for its key.
	//
	// In the same transaction, when the SHA, source or ref changed, every
	// open entry of that (workspace, plugin) becomes superseded: with reason
	// tracking.ReasonUpToDate when its ToSHA equals the new SHA, else
	// tracking.ReasonReinstalled. (The design supersedes entries whose
	// ToSHA is "no longer ahead"; ls-remote gives no commit graph, so any
	// change of the installed commit retires the entry, and the next sweep
	// queues a fresh one from the new commit if upstream is still ahead.)
	// in.Ring is the ring of a row it creates; an existing row keeps its
	// ring (SetInstallRing changes it). It returns the stored install.
	UpsertInstall(ctx context.Context, in tracking.Install) (tracking.Install, error)

	// DeleteInstall removes an install and, in the same transaction,
	// supersedes its open entries with reason tracking.ReasonUninstalled
	// (DecidedAt = at). It must return tracking.ErrNotFound when there is no
	// such install.
	DeleteInstall(ctx context.Context, workspaceID, pluginName string, at time.Time) error

	// GetInstall returns one install or tracking.ErrNotFound.
	GetInstall(ctx context.Context, workspaceID, pluginName string) (tracking.Install, error)

	// ListInstalls returns installs ordered by (workspace, plugin), strictly
	// after the cursor in p, at most p.Limit of them.
	ListInstalls(ctx context.Context, p ListInstallsParams) ([]tracking.Install, error)

	// ListUpstreams returns the upstreams that at least one Tracked install
	// follows, ordered by ID, with ID > p.AfterID, at most p.Limit of them;
	// with p.Failing, only those whose ConsecutiveFailures > 0. Callers
	// page through all upstreams without loading installs.
	ListUpstreams(ctx context.Context, p ListUpstreamsParams) ([]tracking.Upstream, error)

	// GetUpstream returns the upstream row for a key or tracking.ErrNotFound.
	GetUpstream(ctx context.Context, key tracking.UpstreamKey) (tracking.Upstream, error)

	// Reconcile records that upstream p.Key currently resolves to p.SHA and
	// applies the queue rules to every install that follows p.Key, in one
	// transaction and a constant number of set-based statements:
	//
	//  1. installs at p.SHA: their open entries become superseded
	//     (tracking.ReasonUpToDate);
	//  2. installs at S ≠ p.SHA:
	//     - an open entry with ToSHA == p.SHA gets LastSeenAt = p.Now;
	//     - an open entry with another ToSHA becomes superseded
	//       (tracking.ReasonNewerUpstream) and a new pending entry S→p.SHA
	//       is queued;
	//     - a dismissed entry S→p.SHA for the same (workspace, plugin)
	//       means nothing is queued;
	//     - otherwise a pending entry S→p.SHA is queued with Kind
	//       tracking.KindHistoryRewritten when S is in p.Rewritten, else
	//       p.Key.Ref.DriftKind(),
	//       FromVersion = the install's version, ToVersion = p.Version,
	//       DetectedAt = LastSeenAt = p.Now.
	//
	// An applying entry whose claim is still live (ClaimedUntil later than
	// the store's clock, as for ClaimUpdate; never judged by p.Now) is
	// left alone by these rules: it is not taken away from the caller that
	// is installing it, and nothing new is queued beside it. (The design
	// lets applying entries be superseded; doing so under a live claim
	// would leave an install that happened unrecorded. Once the claim
	// expires, the rules apply to it like to a pending entry.)
	//
	// New entries carry p.Verification, and an open entry with ToSHA ==
	// p.SHA takes it with its LastSeenAt.
	//
	// p.Now dates what Reconcile writes.
	//
	// The upstream row gets LastSHA, LastVersion, Validator, Verification,
	// LastCheckedAt = p.Now, and its error and failure count are cleared. Concurrent
	// Reconcile calls for the same key must never produce two open entries
	// for one (workspace, plugin).
	Reconcile(ctx context.Context, p ReconcileParams) (ReconcileResult, error)

	// RecordUpstreamFailure notes a failed resolution of key: LastError =
	// message, ConsecutiveFailures+1, LastCheckedAt = at. The queue is not
	// touched. It creates the upstream row when missing. A key that fails
	// RequireTracked must be refused with its error.
	RecordUpstreamFailure(ctx context.Context, key tracking.UpstreamKey, message string, at time.Time) error

	// GetUpdate returns one queue entry or tracking.ErrNotFound.
	GetUpdate(ctx context.Context, id int64) (tracking.Update, error)

	// ListUpdates returns queue entries matching p, ordered by ID (ascending,
	// or descending when p.Newest), strictly after p.AfterID in that order
	// (0: from the start), at most p.Limit of them. Because IDs only grow,
	// paging with AfterID never repeats or skips an entry when entries are
	// added between pages.
	ListUpdates(ctx context.Context, p ListUpdatesParams) ([]tracking.Update, error)

	// CountOpenUpdates counts the open entries (pending and applying),
	// grouped by status and kind, in no particular order; groups with no
	// entry are left out. Open entries number at most one per install,
	// so this stays cheap however long the history grows: it is what
	// dashboards and metrics poll.
	CountOpenUpdates(ctx context.Context) ([]UpdateCount, error)

	// CountFailingUpstreams counts the upstreams that at least one Tracked
	// install follows and whose last resolution failed
	// (ConsecutiveFailures > 0): what a dashboard shows without paging
	// through every upstream.
	CountFailingUpstreams(ctx context.Context) (int, error)

	// ClaimUpdate takes the apply claim on entry p.ID for the caller that
	// names it p.Token, for p.TTL:
	//   - pending, or applying with ClaimedUntil <= the store's now (an
	//     expired claim: its holder crashed): the entry becomes applying
	//     with ClaimedUntil = the store's now + p.TTL under p.Token, and is
	//     returned;
	//   - applying with a live claim: it returns the entry and
	//     tracking.ErrBusy;
	//   - applied: it returns the entry unchanged and no error;
	//   - dismissed or superseded: it returns the entry and
	//     tracking.ErrConflict;
	//   - missing: tracking.ErrNotFound.
	// The check and the change are one atomic step: of many concurrent
	// callers, exactly one gets the claim. Params that fail p.Validate()
	// must be refused with its error.
	//
	// # Clock
	//
	// Claim expiry is judged by the store's clock (the database server's),
	// as lease expiry is, never by a caller's: callers pass a TTL, not an
	// instant, so replicas whose clocks disagree still never take over
	// each other's live claims.
	//
	// # Fencing
	//
	// The token fences every later write of the holder: ExtendClaim,
	// CompleteApply and ReleaseClaim name it and change the entry only
	// while it is applying under that same token. Once the claim was taken
	// over (it expired and another caller claimed it) or the entry left
	// applying (superseded, or finished by someone else), they must change
	// nothing and return tracking.ErrClaimLost, so that a late result of an
	// expired holder never lands on another holder's claim. A claim that
	// expired but that nobody took over is still its holder's.
	ClaimUpdate(ctx context.Context, p ClaimUpdateParams) (tracking.Update, error)

	// ExtendClaim moves the claim's expiry to the store's now + p.TTL
	// while its holder is still installing. It returns the entry, or
	// tracking.ErrClaimLost (see Fencing under ClaimUpdate), or
	// tracking.ErrNotFound. Params that fail p.Validate() must be refused
	// with its error.
	ExtendClaim(ctx context.Context, p ExtendClaimParams) (tracking.Update, error)

	// CompleteApply finishes a claimed entry, in one transaction: the
	// install row of the entry's (workspace, plugin) gets InstalledSHA =
	// ToSHA, InstalledVersion = ToVersion, InstalledAt = UpdatedAt = p.At;
	// the entry becomes applied with DecidedAt = p.At, DecidedBy = p.Actor,
	// RestartError = p.RestartError, Override = p.Override and no claim. When the entry is not applying under
	// p.Token it changes nothing and returns tracking.ErrClaimLost, except
	// that an entry already applied under p.Token (a retry after a lost
	// answer) is returned unchanged with no error; a missing entry is
	// tracking.ErrNotFound. p must pass p.Validate(), or its error is
	// returned and nothing changes.
	CompleteApply(ctx context.Context, p CompleteApplyParams) (tracking.Update, error)

	// ReleaseClaim puts an entry applying under p.Token back to pending
	// after a failed install: Attempts+1, LastError = p.Message, no claim.
	// Otherwise it changes nothing and returns tracking.ErrClaimLost (or
	// tracking.ErrNotFound).
	ReleaseClaim(ctx context.Context, p ReleaseClaimParams) (tracking.Update, error)

	// SetRestartError records the outcome of the restart after an applied
	// entry: message "" clears it. It must return tracking.ErrConflict when
	// the entry is not applied.
	SetRestartError(ctx context.Context, id int64, message string) (tracking.Update, error)

	// DismissUpdate moves a pending entry to dismissed (DecidedAt = p.At,
	// DecidedBy = p.Actor, Reason = p.Reason, stored byte for byte). A
	// dismissed entry is returned unchanged with no error; any other status
	// returns the entry and tracking.ErrConflict; a missing one
	// tracking.ErrNotFound.
	DismissUpdate(ctx context.Context, p DismissUpdateParams) (tracking.Update, error)

	// AcquireLease takes or renews the named lease for p.Holder for p.TTL.
	// It returns true when the holder now holds it (it was free, expired, or
	// already held by the holder), false when another holder's lease is
	// live. Expiry is judged by the store's own clock (the database server's
	// on SQL backends), never the caller's, so replicas whose clocks
	// disagree still never hold one lease together. Params that fail
	// p.Validate() must be refused with its error.
	AcquireLease(ctx context.Context, p LeaseParams) (bool, error)

	// ReleaseLease gives up the lease when holder holds it; otherwise it does
	// nothing.
	ReleaseLease(ctx context.Context, name, holder string) error

	// Restoring dismissed entries (the operator's triage page).

	// RestoreUpdate moves a dismissed entry back to pending (no DecidedAt,
	// DecidedBy or Reason; LastSeenAt = p.At), in one atomic step, only
	// while its change is still current (RestoreCurrent: the install is
	// still at FromSHA with the entry's source and ref, and the upstream
	// was last resolved to ToSHA), no other entry is open for its
	// (workspace, plugin) and no active hold of the install covers ToSHA
	// (HoldCovers, as for Reconcile: a rolled-back commit comes back only
	// once its hold is released); otherwise it changes nothing and returns
	// the entry and tracking.ErrConflict. A pending entry is returned
	// unchanged with no error; any other status returns the entry and
	// tracking.ErrConflict; a missing one tracking.ErrNotFound. Params
	// that fail p.Validate() must be refused with its error.
	RestoreUpdate(ctx context.Context, p RestoreUpdateParams) (tracking.Update, error)

	// Push webhooks: finding the upstreams of a pushed repository and the
	// durable check requests a push leaves for the drift engine.

	// ListRepositoryUpstreams returns the upstreams whose source's
	// Repository() is p.Repository and that at least one Tracked install
	// follows, ordered by ID, with ID > p.AfterID, at most p.Limit of
	// them. SQL backends find them through an index on the repository
	// identity, never by scanning installs. Params that fail p.Validate()
	// must be refused with its error.
	ListRepositoryUpstreams(ctx context.Context, p ListRepositoryUpstreamsParams) ([]tracking.Upstream, error)

	// RecordPush records a received push in one transaction. When
	// p.DeliveryID is set and recorded with an expiry after p.At, it
	// changes nothing and returns Replayed. Otherwise it records the
	// delivery id (expiring at p.DeliveryExpires) and, for each key, sets
	// LastPushAt = p.At on the key's upstream row (when there is one) and
	// asks for a check: it creates a check request (RequestedAt = p.At,
	// Generation 1) when the key has none, and otherwise adds 1 to the
	// request's Generation, keeping RequestedAt and any claim: one request
	// per upstream, however many pushes arrive. It also forgets delivery
	// ids that expired by p.At. Params that fail p.Validate() must be
	// refused with its error, writing nothing.
	RecordPush(ctx context.Context, p RecordPushParams) (RecordPushResult, error)

	// ClaimCheckRequests claims up to p.Limit check requests that no
	// holder claims or whose claim expired, oldest RequestedAt first: each
	// is claimed by p.Holder for p.TTL and returned with its Generation.
	// Expiry is judged by the store's own clock, as for leases. Of
	// concurrent callers, each request goes to exactly one. Params that
	// fail p.Validate() must be refused with its error.
	ClaimCheckRequests(ctx context.Context, p ClaimCheckRequestsParams) ([]CheckRequest, error)

	// CompleteCheckRequest ends p.Holder's claim on the request for p.Key
	// after a check: it deletes the request when its Generation is still
	// p.Generation, and otherwise (pushes arrived during the check, or
	// p.Generation is 0, which hands a request back unchecked) leaves it
	// unclaimed with its Generation, to be claimed again once
	// p.RecheckAfter has passed by the store's clock, and reports again =
	// true. A claim that expired but that nobody took over is still its
	// holder's. When another holder claimed the request, or it is gone,
	// it changes nothing and returns tracking.ErrClaimLost. Params that
	// fail p.Validate() must be refused with its error.
	CompleteCheckRequest(ctx context.Context, p CompleteCheckRequestParams) (again bool, err error)

	// Events: the outbox and its delivery (issue 12; types in events.go).
	//
	// Every method above that changes the queue or an upstream's health
	// writes the events tracking.UpdateEvents and tracking.UpstreamEvent
	// build for the change, in the same transaction as the change:
	// Reconcile (update.queued, alarm.tag_moved beside a queued tag-moved
	// entry, update.superseded, upstream.recovered), UpsertInstall and
	// DeleteInstall (update.superseded), CompleteApply (update.applied),
	// ReleaseClaim (update.apply_failed), SetRestartError with a
	// non-empty message (update.restart_failed), DismissUpdate
	// (update.dismissed, only when it dismisses), RecordUpstreamFailure
	// (upstream.failing when the count reaches
	// tracking.FailingThreshold). A call that changes nothing writes
	// nothing. An event's At is the time the change names (p.Now, p.At;
	// for update.restart_failed, which SetRestartError dates by no
	// parameter, the entry's DecidedAt). A completion recorded with a
	// RestartError is update.applied only: that error says a restart is
	// still owed (drift.RestartPending), not that one failed.
	//
	// Event IDs grow in commit order: an event that becomes visible
	// later never has a smaller ID than one already visible (on Postgres,
	// where IDs are allocated before commit, the writers of events
	// serialise on a transaction-level lock from their first event to
	// their commit). That is what makes a cursor over IDs skip nothing.

	// ListEvents returns events with ID > p.AfterID, ordered by ID, at
	// most p.Limit of them.
	ListEvents(ctx context.Context, p ListEventsParams) ([]tracking.Event, error)

	// EnsureSubscription returns the delivery state of the named
	// subscriber, creating it (at the start of the retained events) when
	// missing. Names that fail ValidateSubscriberName are refused with its
	// error.
	EnsureSubscription(ctx context.Context, name string) (Subscription, error)

	// ListSubscriptions returns every subscriber's state, ordered by name,
	// with Pending and Dead counted.
	ListSubscriptions(ctx context.Context) ([]Subscription, error)

	// RecordDelivery records the outcome of delivering event p.EventID to
	// p.Subscriber (see DeliveryOutcome for what each does) and returns
	// the subscriber's state. The subscriber's cursor only moves forward:
	// an outcome for an event at or before it changes nothing, unless the
	// event is dead for that subscriber and an operator asked to retry it
	// (RetryDeadEvent). A missing subscriber is tracking.ErrNotFound;
	// params that fail p.Validate() are refused with its error.
	RecordDelivery(ctx context.Context, p RecordDeliveryParams) (Subscription, error)

	// ListDeadEvents returns the events dead for p.Subscriber, ordered by
	// event ID, with ID > p.AfterID, at most p.Limit of them.
	ListDeadEvents(ctx context.Context, p ListDeadEventsParams) ([]DeadEvent, error)

	// RetryDeadEvent asks for one more delivery of a dead event: the
	// subscriber's deliverer tries it again (ListDeadEvents with
	// Retrying). It returns the dead event, or tracking.ErrNotFound when
	// the event is not dead for that subscriber.
	RetryDeadEvent(ctx context.Context, subscriber string, eventID int64) (DeadEvent, error)

	// PruneEvents deletes events older than p.Before that every subscriber
	// is past (delivered or dead) and that are not dead for anyone, and
	// returns how many it deleted.
	PruneEvents(ctx context.Context, p PruneEventsParams) (int, error)
	// Integrity and rollout (see integrity.go).
	//
	// Their events follow the rule of the events block above: Reconcile
	// writes alarm.history_rewritten beside a queued history-rewritten
	// entry (as alarm.tag_moved beside tag-moved); QueueRollback writes
	// update.rolled_back for the rollback entry it creates and
	// update.superseded for each open entry it retires, in its
	// transaction (the rollback entry's update.applied or
	// update.apply_failed follows from CompleteApply or ReleaseClaim).
	// ReleaseHold and SetInstallRing change no entry and write no event.

	// InstalledSHAs returns the distinct InstalledSHA values of the
	// installs that follow key, in ascending order, at most MaxLimit of
	// them: what the sweeper asks a resolver about when a branch moved,
	// to tell which installs it was force-pushed away from. It is one
	// index range scan. An unknown key has none.
	InstalledSHAs(ctx context.Context, key tracking.UpstreamKey) ([]string, error)

	// QueueRollback starts a rollback of install (p.WorkspaceID,
	// p.PluginName) to p.ToSHA, in one transaction: its open entries
	// become superseded (tracking.ReasonRolledBack); a new entry
	// installed SHA→p.ToSHA of kind tracking.KindRollback is created
	// already applying under p.Token for p.TTL by the store's clock
	// (DetectedAt = LastSeenAt = p.At), so that the caller goes on as
	// after ClaimUpdate;
	// and a hold on the installed commit (and version) is created with
	// CreatedBy = p.Actor and Reason = p.Reason, or the active hold of
	// that commit is kept. It returns the entry and the hold.
	//
	// It must return tracking.ErrNotFound when there is no such install,
	// tracking.ErrConflict (changing nothing) when p.ToSHA is the
	// installed commit, and tracking.ErrBusy when an open entry of the
	// install is applying under a live claim (judged by the store's
	// clock, as for ClaimUpdate). Params that fail p.Validate() must be
	// refused with its error.
	//
	// Reconcile queues no entry S→U for an install with an active hold
	// whose SHA is U or, when ReconcileParams.ReconcileVersionKey() is
	// set, whose version's HoldVersionKey is not below it.
	QueueRollback(ctx context.Context, p QueueRollbackParams) (tracking.Update, tracking.Hold, error)

	// ListHolds returns holds matching p, ordered by ID, with ID >
	// p.AfterID, at most p.Limit of them.
	ListHolds(ctx context.Context, p ListHoldsParams) ([]tracking.Hold, error)

	// ReleaseHold releases hold p.ID (ReleasedAt = p.At, ReleasedBy =
	// p.Actor); a released hold is returned unchanged with no error; a
	// missing one is tracking.ErrNotFound.
	ReleaseHold(ctx context.Context, p ReleaseHoldParams) (tracking.Hold, error)

	// SetInstallRing moves an install to rollout ring ring and returns it.
	// It must return tracking.ErrNotFound when there is no such install
	// and refuse a ring that fails tracking.ValidateRing with its error,
	// changing nothing.
	SetInstallRing(ctx context.Context, workspaceID, pluginName string, ring int) (tracking.Install, error)

	// RingEvidence says how commit p.SHA fared among the installs now in
	// ring p.Ring: when an entry (not a rollback) first installed it there,
	// how many rollbacks away from it were asked for there, and how many
	// of its applied entries there carry a restart error. The Updater's
	// ring gate decides from it.
	RingEvidence(ctx context.Context, p RingEvidenceParams) (RingEvidence, error)

	// Sweep reports (see sweeps.go): the last sweeps, kept so that every
	// replica answers what the last sweep did, whichever ran it.

	// RecordSweep stores r with a new ID, larger than every ID before it,
	// and returns it as stored. In the same transaction it deletes all but
	// the SweepsKept newest records. A record that fails r.Validate() must
	// be refused with its error, writing nothing.
	RecordSweep(ctx context.Context, r SweepRecord) (SweepRecord, error)

	// ListSweeps returns records newest first (by descending ID), with
	// ID < p.BeforeID when it is set, at most p.Limit of them: Limit 1
	// gives the latest sweep, or none.
	ListSweeps(ctx context.Context, p ListSweepsParams) ([]SweepRecord, error)
}

// ListInstallsParams selects installs.
type ListInstallsParams struct {
	// WorkspaceID, when set, keeps only that workspace's installs.
	WorkspaceID string
	// WorkspacePrefix, when set, keeps installs whose workspace id begins
	// with it; PluginName, when set, those of that plugin.
	WorkspacePrefix string
	PluginName      string
	// AfterWorkspaceID and AfterPluginName form the keyset cursor: results
	// start strictly after that (workspace, plugin). Empty: from the start.
	AfterWorkspaceID string
	AfterPluginName  string
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// ListUpstreamsParams pages through upstreams.
type ListUpstreamsParams struct {
	AfterID int64
	// Failing keeps only upstreams whose ConsecutiveFailures > 0; paging
	// by ID is as without it.
	Failing bool
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// ListUpdatesParams selects queue entries.
type ListUpdatesParams struct {
	// Statuses keeps only entries in one of these statuses (empty: all).
	Statuses []tracking.UpdateStatus
	// WorkspaceID and PluginName, when set, filter on equality.
	WorkspaceID string
	PluginName  string
	// WorkspacePrefix, when set, keeps entries whose workspace id begins
	// with it (a valid workspace id prefix: ASCII letters, digits and
	// ._:@-).
	WorkspacePrefix string
	// Kinds keeps only entries of one of these kinds (empty: all).
	Kinds []tracking.UpdateKind
	// Source, when valid, keeps only entries of that source.
	Source tracking.Source
	// AfterID is the keyset cursor (0: from the start).
	AfterID int64
	// Newest orders by descending ID (newest first).
	Newest bool
	// ByDecision orders by DecidedAt, newest first (then by descending
	// ID), for the history: every status in Statuses must then be
	// terminal, and Newest is ignored. The cursor is (AfterDecidedAt,
	// AfterID): results start strictly after it in that order; a zero
	// AfterID starts from the newest decision.
	ByDecision     bool
	AfterDecidedAt time.Time
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// UpdateCount is one group of CountOpenUpdates.
type UpdateCount struct {
	Status tracking.UpdateStatus
	Kind   tracking.UpdateKind
	Count  int
}

// MaxLimit is the largest page any List method returns.
const MaxLimit = 1000

// ReconcileParams carries one resolution of one upstream.
type ReconcileParams struct {
	Key       tracking.UpstreamKey
	SHA       string
	Version   string
	Validator string
	Now       time.Time
	// Rewritten lists installed commits that SHA does not descend from
	// (a force-push): entries queued from them are
	// tracking.KindHistoryRewritten. Empty when unknown or not checked.
	Rewritten []string
	// Verification is the signature check of SHA: new entries carry it,
	// open entries to SHA take it (a changed policy shows at once), and the
	// upstream row keeps it. The zero value is not-checked.
	Verification tracking.Verification
}

// ReconcileResult counts what one Reconcile did.
type ReconcileResult struct {
	// Installs is how many installs follow the upstream.
	Installs int
	// Queued is how many new pending entries were created.
	Queued int
	// Superseded is how many open entries were superseded.
	Superseded int
}

// ClaimUpdateParams asks for the apply claim on one entry.
type ClaimUpdateParams struct {
	ID int64
	// Token names the claim; the holder passes it to every later write.
	// It must be unique per claim (drift uses 128 random bits).
	Token string
	// TTL is how long the claim lasts from now, by the store's clock.
	// Must be positive and at most MaxClaimTTL.
	TTL time.Duration
}

// ExtendClaimParams renews a claim.
type ExtendClaimParams struct {
	ID    int64
	Token string
	// TTL is how long the claim lasts from now, by the store's clock, as
	// in ClaimUpdateParams.
	TTL time.Duration
}

// CompleteApplyParams finishes a claimed entry.
type CompleteApplyParams struct {
	ID    int64
	Token string
	Actor string
	At    time.Time
	// RestartError is recorded with the completion, in the same
	// transaction: the Updater records that a restart is still owed, so
	// that a crash before the restart leaves it to be retried.
	RestartError string
	// Override, when set, is recorded as the entry's Override: the
	// operator applied it although its Verification blocks it.
	Override string
}

// ReleaseClaimParams hands back a claim after a failed install.
type ReleaseClaimParams struct {
	ID      int64
	Token   string
	Message string
	At      time.Time
}

// DismissUpdateParams dismisses one entry.
type DismissUpdateParams struct {
	ID     int64
	Actor  string
	Reason string
	At     time.Time
}

// LeaseParams takes or renews a lease.
type LeaseParams struct {
	Name   string
	Holder string
	// TTL is how long the lease lasts from now, by the store's clock.
	TTL time.Duration
}
