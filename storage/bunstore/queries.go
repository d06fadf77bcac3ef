package bunstore

import (
	"strconv"
	"strings"

	"github.com/uptrace/bun/dialect"

	"github.com/plugindrift/plugindrift/tracking"
)

// Statements use "$n" placeholders, which both pgx and modernc.org/sqlite
// bind natively: values never pass through SQL formatting (text is stored
// byte for byte), and Postgres reuses each statement's plan from pgx's
// statement cache.

const (
	installCols  = "workspace_id, plugin_name, source_raw, tracked_ref, installed_sha, installed_version, installed_at, updated_at, ring"
	upstreamCols = "id, source_raw, tracked_ref, last_sha, last_version, validator, last_checked_at, last_error, consecutive_failures, last_push_at, " + verifyColList
	updateCols   = "id, workspace_id, plugin_name, source_raw, tracked_ref, from_sha, to_sha, from_version, to_version, kind, status, detected_at, last_seen_at, decided_at, decided_by, reason, attempts, last_error, restart_error, claimed_until, " + verifyColList + ", override_reason"

	// openStatus is written exactly as in the partial unique index, so
	// SQLite's planner can use that index.
	openStatus = "status IN ('pending', 'applying')"
)

// queries holds the Store's SQL with table names and dialect differences
// resolved once.
type queries struct {
	// Installs.
	getInstall, installKey, installKeyForUpdate, upsertInstall, deleteInstall string
	supersedeReinstalled, supersedeUninstalled                                string
	// Upstreams.
	ensureUpstream, lockUpstream, getUpstream, listUpstreams, recordFailure, upstreamFailures string
	listFailingUpstreams                                                                      string
	// Reconcile.
	upsertUpstream, reconcileStats, reconcileSupersede, reconcileTouch, reconcileQueue string
	// Updates.
	getUpdate, countOpenUpdates, countFailingUpstreams, getClaimToken, claimUpdate, extendClaim, completeUpdate, completeInstall, releaseClaim, setRestartError, dismissUpdate, restoreUpdate string
	// Leases.
	acquireLease, releaseLease string
	// Integrity and rollout.
	integrity integrityQueries
	// Push webhooks (push.go).
	push pushQueries
}

func newQueries(t tables, d dialect.Name) queries {
	r := strings.NewReplacer(
		"{db_now}", dbNow(d),
		"{installs}", t.installs,
		"{upstreams}", t.upstreams,
		"{updates}", t.updates,
		"{leases}", t.leases,
		"{holds}", t.holds,
		"{open}", openStatus,
		// An upstream row written before its repository was: see push.go.
		"{fill_repository}", "repository = CASE WHEN "+t.upstreams+".repository = '' THEN excluded.repository ELSE "+t.upstreams+".repository END",
		"{queued_kind}", queuedKind(d),
		"{not_held}", strings.ReplaceAll(notHeld, "{holds}", t.holds),
		// Not an applying entry with a live claim, by the server's clock.
		// (A Replacer does not rescan what it wrote: dbNow goes in here.)
		"{claim_expired}", "(status = 'pending' OR claimed_until IS NULL OR claimed_until <= "+dbNow(d)+")",
		"'{up-to-date}'", lit(tracking.ReasonUpToDate),
		"'{newer-upstream}'", lit(tracking.ReasonNewerUpstream),
		"'{reinstalled}'", lit(tracking.ReasonReinstalled),
		"'{uninstalled}'", lit(tracking.ReasonUninstalled),
		"'{rolled-back}'", lit(tracking.ReasonRolledBack),
		"'{rollback}'", lit(string(tracking.KindRollback)),
	)
	forUpdate := forUpdate(d)
	q := queries{
		getInstall:          `SELECT ` + installCols + ` FROM {installs} WHERE workspace_id = $1 AND plugin_name = $2`,
		installKey:          `SELECT source_raw, tracked_ref, tracked, installed_sha, installed_at FROM {installs} WHERE workspace_id = $1 AND plugin_name = $2`,
		installKeyForUpdate: `SELECT source_raw, tracked_ref, tracked, installed_sha, installed_at FROM {installs} WHERE workspace_id = $1 AND plugin_name = $2` + forUpdate,
		// $10 ring: the ring of a new row; an existing row keeps its own
		// (SetInstallRing changes it), which RETURNING reports.
		upsertInstall: `INSERT INTO {installs} (workspace_id, plugin_name, source_raw, tracked_ref, tracked, installed_sha, installed_version, installed_at, updated_at, ring)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (workspace_id, plugin_name) DO UPDATE SET
	source_raw = excluded.source_raw, tracked_ref = excluded.tracked_ref, tracked = excluded.tracked,
	installed_sha = excluded.installed_sha, installed_version = excluded.installed_version,
	installed_at = excluded.installed_at, updated_at = excluded.updated_at
RETURNING ring`,
		deleteInstall: `DELETE FROM {installs} WHERE workspace_id = $1 AND plugin_name = $2`,
		supersedeReinstalled: `UPDATE {updates} SET status = 'superseded',
	reason = CASE WHEN to_sha = $3 THEN '{up-to-date}' ELSE '{reinstalled}' END,
	decided_at = $4, claimed_until = NULL
WHERE workspace_id = $1 AND plugin_name = $2 AND {open}
RETURNING ` + updateCols,
		supersedeUninstalled: `UPDATE {updates} SET status = 'superseded', reason = '{uninstalled}', decided_at = $3, claimed_until = NULL
WHERE workspace_id = $1 AND plugin_name = $2 AND {open}
RETURNING ` + updateCols,

		// Every statement that creates an upstream row writes its
		// repository ($3 here; see repositoryOf), so no new row needs
		// the backfill of ListRepositoryUpstreams.
		ensureUpstream: `INSERT INTO {upstreams} (source_raw, tracked_ref, repository) VALUES ($1, $2, $3) ON CONFLICT (source_raw, tracked_ref) DO NOTHING`,
		lockUpstream:   `SELECT id FROM {upstreams} WHERE source_raw = $1 AND tracked_ref = $2` + forUpdate,
		getUpstream:    `SELECT ` + upstreamCols + ` FROM {upstreams} WHERE source_raw = $1 AND tracked_ref = $2`,
		listUpstreams: `SELECT ` + upstreamCols + ` FROM {upstreams} AS u
WHERE u.id > $1 AND EXISTS (
	SELECT 1 FROM {installs} AS i WHERE i.source_raw = u.source_raw AND i.tracked_ref = u.tracked_ref AND i.tracked)
ORDER BY u.id LIMIT $2`,
		// The term "consecutive_failures > 0" is written as in the
		// partial index upstreams_failing (failing.go), so both planners
		// read only the failing rows.
		listFailingUpstreams: `SELECT ` + upstreamCols + ` FROM {upstreams} AS u
WHERE u.consecutive_failures > 0 AND u.id > $1 AND EXISTS (
	SELECT 1 FROM {installs} AS i WHERE i.source_raw = u.source_raw AND i.tracked_ref = u.tracked_ref AND i.tracked)
ORDER BY u.id LIMIT $2`,
		// $5 repository.
		recordFailure: `INSERT INTO {upstreams} (source_raw, tracked_ref, last_error, consecutive_failures, last_checked_at, repository)
VALUES ($1, $2, $3, 1, $4, $5)
ON CONFLICT (source_raw, tracked_ref) DO UPDATE SET
	last_error = excluded.last_error, {fill_repository},
	consecutive_failures = {upstreams}.consecutive_failures + 1,
	last_checked_at = excluded.last_checked_at
RETURNING ` + upstreamCols,
		// The failure count before a Reconcile resets it, for the
		// upstream.recovered event.
		upstreamFailures: `SELECT consecutive_failures FROM {upstreams} WHERE source_raw = $1 AND tracked_ref = $2` + forUpdate,

		// Reconcile: $1 source, $2 ref, $3 upstream SHA, $4 now (µs).
		// $5 version, $6 validator, $7… verification (verificationArgs),
		// then the repository.
		upsertUpstream: `INSERT INTO {upstreams} (source_raw, tracked_ref, last_sha, last_version, validator, last_checked_at, last_error, consecutive_failures, ` + verifyColList + `, repository)
VALUES ($1, $2, $3, $5, $6, $4, '', 0, ` + verifyParams(7) + `, $` + strconv.Itoa(7+len(verificationArgs(tracking.Verification{}))) + `)
ON CONFLICT (source_raw, tracked_ref) DO UPDATE SET
	{fill_repository}, last_sha = excluded.last_sha, last_version = excluded.last_version, validator = excluded.validator,
	last_checked_at = excluded.last_checked_at, last_error = '', consecutive_failures = 0,
	` + verifySet(func(_ int, col string) string { return "excluded." + col }),
		// reconcileStats counts what each queue statement would change, so
		// that only the needed ones run: the steady state (nothing moved)
		// costs this one read, two index range scans.
		reconcileStats: reconcileStatsSQL,
		// The open entries of an upstream's installs are found by the key
		// they carry (index updates_open_upstream), not by joining
		// installs: an open entry always has its install's current key and
		// from_sha = its installed SHA, because UpsertInstall supersedes
		// open entries when either changes. Plans stay index lookups
		// however stale the planner's statistics are.
		reconcileSupersede: `UPDATE {updates} SET status = 'superseded',
	reason = CASE WHEN from_sha = $3 THEN '{up-to-date}' ELSE '{newer-upstream}' END,
	decided_at = $4, claimed_until = NULL
WHERE source_raw = $1 AND tracked_ref = $2 AND {open} AND {claim_expired}
	AND (from_sha = $3 OR to_sha <> $3)
RETURNING ` + updateCols,
		// $5… verification (verificationArgs): an open entry to the
		// upstream commit takes the latest check of it, so a changed
		// policy shows at once.
		reconcileTouch: `UPDATE {updates} SET last_seen_at = $4, ` + verifySet(func(i int, _ string) string { return "$" + strconv.Itoa(5+i) }) + `
WHERE source_raw = $1 AND tracked_ref = $2 AND {open} AND {claim_expired}
	AND from_sha <> $3 AND to_sha = $3`,
		// $5 version, $6 kind, $7 rewritten commits (see
		// rewrittenList), $8 version key (see notHeld), $9… verification
		// (verificationArgs). Two concurrent calls may both find no open
		// entry; the partial unique index lets only one insert, and ON
		// CONFLICT DO NOTHING makes the other skip that row.
		reconcileQueue: `INSERT INTO {updates} (workspace_id, plugin_name, source_raw, tracked_ref, from_sha, to_sha, from_version, to_version, kind, status, detected_at, last_seen_at, ` + verifyColList + `)
SELECT i.workspace_id, i.plugin_name, i.source_raw, i.tracked_ref, i.installed_sha, CAST($3 AS TEXT), i.installed_version, CAST($5 AS TEXT),
	{queued_kind}, 'pending', CAST($4 AS BIGINT), CAST($4 AS BIGINT), ` + verifyParams(9) + `
FROM {installs} AS i
WHERE i.source_raw = $1 AND i.tracked_ref = $2 AND i.installed_sha <> $3
	AND NOT EXISTS (SELECT 1 FROM {updates} AS o
		WHERE o.source_raw = $1 AND o.tracked_ref = $2 AND o.{open}
			AND o.workspace_id = i.workspace_id AND o.plugin_name = i.plugin_name)
	AND NOT EXISTS (SELECT 1 FROM {updates} AS d
		WHERE d.status = 'dismissed' AND d.to_sha = $3
			AND d.workspace_id = i.workspace_id AND d.plugin_name = i.plugin_name AND d.from_sha = i.installed_sha)
	AND {not_held}
ORDER BY i.workspace_id, i.plugin_name
ON CONFLICT DO NOTHING
RETURNING ` + updateCols,

		getUpdate: `SELECT ` + updateCols + ` FROM {updates} WHERE id = $1`,
		// At most one open entry per install: bounded by the installs,
		// not by the history.
		countOpenUpdates: `SELECT status, kind, COUNT(*) FROM {updates} WHERE {open} GROUP BY status, kind`,
		countFailingUpstreams: `SELECT COUNT(*) FROM {upstreams} AS u WHERE u.consecutive_failures > 0 AND EXISTS (
	SELECT 1 FROM {installs} AS i WHERE i.source_raw = u.source_raw AND i.tracked_ref = u.tracked_ref AND i.tracked)`,
		getClaimToken: `SELECT claim_token FROM {updates} WHERE id = $1`,
		// $2 TTL (µs), added to the server's clock, $3 token. The token
		// fences the holder's later writes: each names it in its WHERE
		// clause.
		claimUpdate: `UPDATE {updates} SET status = 'applying', claimed_until = {db_now} + $2, claim_token = $3
WHERE id = $1 AND (status = 'pending' OR (status = 'applying' AND (claimed_until IS NULL OR claimed_until <= {db_now})))
RETURNING ` + updateCols,
		// $3 TTL (µs), added to the server's clock.
		extendClaim: `UPDATE {updates} SET claimed_until = {db_now} + $3
WHERE id = $1 AND status = 'applying' AND claim_token = $2
RETURNING ` + updateCols,
		// $6 override.
		completeUpdate: `UPDATE {updates} SET status = 'applied', decided_at = $2, decided_by = $3, restart_error = $5, override_reason = $6, claimed_until = NULL
WHERE id = $1 AND status = 'applying' AND claim_token = $4
RETURNING ` + updateCols,
		completeInstall: `UPDATE {installs} SET installed_sha = $3, installed_version = $4, installed_at = $5, updated_at = $5
WHERE workspace_id = $1 AND plugin_name = $2`,
		releaseClaim: `UPDATE {updates} SET status = 'pending', attempts = attempts + 1, last_error = $2, claimed_until = NULL
WHERE id = $1 AND status = 'applying' AND claim_token = $3
RETURNING ` + updateCols,
		setRestartError: `UPDATE {updates} SET restart_error = $2 WHERE id = $1 AND status = 'applied' RETURNING ` + updateCols,
		dismissUpdate: `UPDATE {updates} SET status = 'dismissed', decided_at = $2, decided_by = $3, reason = $4
WHERE id = $1 AND status = 'pending'
RETURNING ` + updateCols,

		// $3 TTL (µs), added to the server's clock. RETURNING yields a row
		// when the lease was inserted, renewed or taken over, none when
		// another holder's is live.
		acquireLease: `INSERT INTO {leases} (name, holder, expires_at) VALUES ($1, $2, {db_now} + $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE {leases}.holder = excluded.holder OR {leases}.expires_at <= {db_now}
RETURNING holder`,
		releaseLease: `DELETE FROM {leases} WHERE name = $1 AND holder = $2`,
	}
	q.restoreUpdate = restoreUpdateSQL
	q.integrity = newIntegrityQueries(r, forUpdate)
	q.push = newPushQueries(t, d, r)
	for _, p := range []*string{
		&q.getInstall, &q.installKey, &q.installKeyForUpdate, &q.upsertInstall, &q.deleteInstall,
		&q.supersedeReinstalled, &q.supersedeUninstalled,
		&q.ensureUpstream, &q.lockUpstream, &q.getUpstream, &q.listUpstreams, &q.listFailingUpstreams, &q.recordFailure, &q.upstreamFailures,
		&q.upsertUpstream, &q.reconcileStats, &q.reconcileSupersede, &q.reconcileTouch, &q.reconcileQueue,
		&q.getUpdate, &q.countOpenUpdates, &q.countFailingUpstreams, &q.getClaimToken, &q.claimUpdate, &q.extendClaim, &q.completeUpdate, &q.completeInstall, &q.releaseClaim, &q.setRestartError, &q.dismissUpdate, &q.restoreUpdate,
		&q.acquireLease, &q.releaseLease,
	} {
		*p = r.Replace(*p)
	}
	return q
}

// dbNow is the database server's clock in µs since the epoch: lease and
// claim expiry are judged by it, never by a caller's clock.
func dbNow(d dialect.Name) string {
	if d == dialect.SQLite {
		return "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
	}
	return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
}

// reconcileStatsSQL: $1 source, $2 ref, $3 upstream SHA (live claims are
// judged by the server's clock).
// Columns: installs; installs behind ($3); open entries to supersede; open
// entries to touch; live claims of installs behind; the upstream's failure
// count (a failing upstream's success writes an event). Installs behind that
// keep no open entry get a new one: behind - touch - live (less those
// dismissed, which the queue statement skips).
const reconcileStatsSQL = `SELECT
	(SELECT COUNT(*) FROM {installs} WHERE source_raw = $1 AND tracked_ref = $2),
	(SELECT COUNT(*) FROM {installs} WHERE source_raw = $1 AND tracked_ref = $2 AND installed_sha <> $3),
	COALESCE(SUM(CASE WHEN {claim_expired} AND (from_sha = $3 OR to_sha <> $3) THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN {claim_expired} AND from_sha <> $3 AND to_sha = $3 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN {claim_expired} THEN 0 WHEN from_sha <> $3 THEN 1 ELSE 0 END), 0),
	(SELECT COALESCE(MAX(consecutive_failures), 0) FROM {upstreams} WHERE source_raw = $1 AND tracked_ref = $2)
FROM {updates}
WHERE source_raw = $1 AND tracked_ref = $2 AND {open}`

// lit quotes a constant as an SQL string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
