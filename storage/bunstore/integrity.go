package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// integrityQueries holds the SQL of holds, rings and force-push checks.
type integrityQueries struct {
	installedSHAs                                    string
	rollbackInstall, rollbackOpen, rollbackSupersede string
	rollbackQueue, activeHold, insertHold            string
	getHold, releaseHold                             string
	setRing, ringEvidence                            string
}

const holdCols = "id, workspace_id, plugin_name, sha, version, created_at, created_by, reason, released_at, released_by"

// notHeld is the condition of the reconcile queue statement that skips
// installs an active hold covers: the upstream commit ($3) is the held
// one or, for version refs, its version key ($8, "" otherwise) is not
// above the held version's.
const notHeld = `NOT EXISTS (SELECT 1 FROM {holds} AS h
		WHERE h.released_at IS NULL AND h.sha = $3
			AND h.workspace_id = i.workspace_id AND h.plugin_name = i.plugin_name)
	AND NOT EXISTS (SELECT 1 FROM {holds} AS v
		WHERE v.released_at IS NULL AND v.version_key <> '' AND v.version_key >= CAST($8 AS TEXT) AND CAST($8 AS TEXT) <> ''
			AND v.workspace_id = i.workspace_id AND v.plugin_name = i.plugin_name)`

// addIntegrityMigrations adds the schema of holds.
func addIntegrityMigrations(ms *migrate.Migrations, t tables) {
	ms.Add(migrate.Migration{
		Name:    "20261202000401",
		Comment: "plugindrift_holds",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			text, serial := `TEXT COLLATE "C"`, "BIGSERIAL PRIMARY KEY"
			if db.Dialect().Name() == dialect.SQLite {
				text, serial = "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"
			}
			return execDDL(ctx, db, []string{
				fmt.Sprintf(`CREATE TABLE %[1]s (
	id           %[3]s,
	workspace_id %[2]s NOT NULL,
	plugin_name  %[2]s NOT NULL,
	sha          TEXT NOT NULL,
	version      TEXT NOT NULL DEFAULT '',
	version_key  %[2]s NOT NULL DEFAULT '',
	created_at   BIGINT,
	created_by   TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	released_at  BIGINT,
	released_by  TEXT NOT NULL DEFAULT ''
)`, t.holds, text, serial),
				// Reconcile looks active holds up by the upstream's commit and
				// by its version key, then by install: both lookups start
				// from a value of the statement, so they stay index searches.
				fmt.Sprintf(`CREATE INDEX %[1]s_sha ON %[1]s (sha, workspace_id, plugin_name) WHERE released_at IS NULL`, t.holds),
				fmt.Sprintf(`CREATE INDEX %[1]s_version ON %[1]s (version_key, workspace_id, plugin_name) WHERE released_at IS NULL AND version_key <> ''`, t.holds),
				// ListHolds by install.
				fmt.Sprintf(`CREATE INDEX %[1]s_install ON %[1]s (workspace_id, plugin_name, id)`, t.holds),
			})
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{"DROP TABLE IF EXISTS " + t.holds})
		}),
	})
	ms.Add(migrate.Migration{
		Name:    "20261202000402",
		Comment: "plugindrift_install_ring",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{
				fmt.Sprintf(`ALTER TABLE %s ADD COLUMN ring INTEGER NOT NULL DEFAULT 0`, t.installs),
				// RingEvidence starts from the commit an entry installed or
				// rolled back from.
				fmt.Sprintf(`CREATE INDEX %[1]s_to_sha ON %[1]s (to_sha) WHERE status = 'applied'`, t.updates),
				fmt.Sprintf(`CREATE INDEX %[1]s_rollback_from ON %[1]s (from_sha) WHERE kind = %[2]s`, t.updates, lit(string(tracking.KindRollback))),
			})
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{
				fmt.Sprintf(`DROP INDEX IF EXISTS %s_rollback_from`, t.updates),
				fmt.Sprintf(`DROP INDEX IF EXISTS %s_to_sha`, t.updates),
				fmt.Sprintf(`ALTER TABLE %s DROP COLUMN ring`, t.installs),
			})
		}),
	})
}

func newIntegrityQueries(r *strings.Replacer, forUpdate string) integrityQueries {
	q := integrityQueries{
		rollbackInstall: `SELECT source_raw, tracked_ref, installed_sha, installed_version FROM {installs} WHERE workspace_id = $1 AND plugin_name = $2` + forUpdate,
		// live: applying under a claim the server's clock has not expired.
		rollbackOpen: `SELECT id, NOT {claim_expired} AS live FROM {updates} WHERE workspace_id = $1 AND plugin_name = $2 AND {open}`,
		rollbackSupersede: `UPDATE {updates} SET status = 'superseded', reason = '{rolled-back}', decided_at = $3, claimed_until = NULL
WHERE workspace_id = $1 AND plugin_name = $2 AND {open}
RETURNING ` + updateCols,
		rollbackQueue: `INSERT INTO {updates} (workspace_id, plugin_name, source_raw, tracked_ref, from_sha, to_sha, from_version, to_version, kind, status, detected_at, last_seen_at, claimed_until, claim_token)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '{rollback}', 'applying', $9, $9, {db_now} + $10, $11)
RETURNING ` + updateCols,
		activeHold: `SELECT ` + holdCols + ` FROM {holds} WHERE sha = $3 AND workspace_id = $1 AND plugin_name = $2 AND released_at IS NULL ORDER BY id LIMIT 1`,
		insertHold: `INSERT INTO {holds} (workspace_id, plugin_name, sha, version, version_key, created_at, created_by, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING ` + holdCols,
		getHold:     `SELECT ` + holdCols + ` FROM {holds} WHERE id = $1`,
		releaseHold: `UPDATE {holds} SET released_at = $2, released_by = $3 WHERE id = $1 AND released_at IS NULL RETURNING ` + holdCols,
	}
	q.setRing = `UPDATE {installs} SET ring = $3 WHERE workspace_id = $1 AND plugin_name = $2 RETURNING ` + installCols
	// $1 commit, $2 ring. Each count starts from an index on the commit.
	join := ` AS u JOIN {installs} AS i ON i.workspace_id = u.workspace_id AND i.plugin_name = u.plugin_name WHERE i.ring = $2 AND `
	q.ringEvidence = `SELECT
	(SELECT MIN(u.decided_at) FROM {updates}` + join + `u.to_sha = $1 AND u.status = 'applied' AND u.kind <> '{rollback}'),
	(SELECT COUNT(*) FROM {updates}` + join + `u.from_sha = $1 AND u.kind = '{rollback}'),
	(SELECT COUNT(*) FROM {updates}` + join + `u.to_sha = $1 AND u.status = 'applied' AND u.kind <> '{rollback}' AND u.restart_error <> '')`
	for _, p := range []*string{&q.setRing, &q.ringEvidence, &q.rollbackInstall, &q.rollbackOpen, &q.rollbackSupersede, &q.rollbackQueue, &q.activeHold, &q.insertHold, &q.getHold, &q.releaseHold} {
		*p = r.Replace(*p)
	}
	q.installedSHAs = r.Replace(
		// A range scan of the (source_raw, tracked_ref, installed_sha) index,
		// whatever the number of installs.
		`SELECT DISTINCT installed_sha FROM {installs}
WHERE source_raw = $1 AND tracked_ref = $2
ORDER BY installed_sha LIMIT ` + strconv.Itoa(storage.MaxLimit))
	return q
}

// queuedKind is the kind column of an entry the reconcile queue statement
// writes: history-rewritten when the install's commit is in $7 (see
// rewrittenList), else $6, the ref's kind. SHAs are hex, so a comma-framed
// list finds exactly whole ids.
func queuedKind(d dialect.Name) string {
	find := "strpos($7, ',' || i.installed_sha || ',')"
	if d == dialect.SQLite {
		find = "instr($7, ',' || i.installed_sha || ',')"
	}
	return "CASE WHEN " + find + " > 0 THEN " + lit(string(tracking.KindHistoryRewritten)) + " ELSE CAST($6 AS TEXT) END"
}

// rewrittenList frames ReconcileParams.Rewritten for queuedKind:
// ",sha1,sha2," ("," when empty, which matches no commit).
func rewrittenList(shas []string) string {
	return "," + strings.Join(shas, ",") + ","
}

// InstalledSHAs implements storage.Store.
func (s *Store) InstalledSHAs(ctx context.Context, key tracking.UpstreamKey) ([]string, error) {
	return queryAll(ctx, s, "installed commits of "+key.String(), func(row scanner) (string, error) {
		var sha string
		err := row.Scan(&sha)
		return sha, err
	}, s.q.integrity.installedSHAs, key.Source.String(), key.Ref.String())
}

func scanHold(row scanner) (tracking.Hold, error) {
	var h tracking.Hold
	var created, released sql.NullInt64
	err := row.Scan(&h.ID, &h.WorkspaceID, &h.PluginName, &h.SHA, &h.Version, &created, &h.CreatedBy, &h.Reason, &released, &h.ReleasedBy)
	h.CreatedAt, h.ReleasedAt = fromMicros(created), fromMicros(released)
	return h, err
}

// QueueRollback implements storage.Store: one transaction that locks the
// install row (on Postgres; SQLite's write lock covers the rest).
func (s *Store) QueueRollback(ctx context.Context, p storage.QueueRollbackParams) (tracking.Update, tracking.Hold, error) {
	if err := p.Validate(); err != nil {
		return tracking.Update{}, tracking.Hold{}, fmt.Errorf("bunstore: rollback: %w", err)
	}
	op := "rollback " + p.WorkspaceID + "/" + p.PluginName
	q := s.q.integrity
	at := micros(utc(p.At))
	var entry tracking.Update
	var hold tracking.Hold
	err := s.transact(ctx, op, func(tx *sql.Tx) error {
		var source, ref, installed, version string
		if err := tx.QueryRowContext(ctx, q.rollbackInstall, p.WorkspaceID, p.PluginName).Scan(&source, &ref, &installed, &version); err != nil {
			return err
		}
		if installed == p.ToSHA {
			return fmt.Errorf("%s is already installed: %w", p.ToSHA, tracking.ErrConflict)
		}
		var id int64
		var live bool
		var events []tracking.Event
		err := tx.QueryRowContext(ctx, q.rollbackOpen, p.WorkspaceID, p.PluginName).Scan(&id, &live)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case live:
			return fmt.Errorf("update %d is being applied: %w", id, tracking.ErrBusy)
		default:
			us, err := queryUpdates(tx.QueryContext(ctx, q.rollbackSupersede, p.WorkspaceID, p.PluginName, at))
			if err != nil {
				return err
			}
			events = updateEvents(tracking.EventUpdateSuperseded, us, decidedAt)
		}
		if entry, err = scanUpdate(tx.QueryRowContext(ctx, q.rollbackQueue, p.WorkspaceID, p.PluginName, source, ref,
			installed, p.ToSHA, version, p.ToVersion, at, p.TTL.Microseconds(), p.Token)); err != nil {
			return err
		}
		events = append(events, tracking.UpdateEvents(tracking.EventUpdateRolledBack, entry, entry.DetectedAt)...)
		hold, err = scanHold(tx.QueryRowContext(ctx, q.activeHold, p.WorkspaceID, p.PluginName, installed))
		if errors.Is(err, sql.ErrNoRows) {
			hold, err = scanHold(tx.QueryRowContext(ctx, q.insertHold, p.WorkspaceID, p.PluginName, installed, version,
				storage.HoldVersionKey(version), at, p.Actor, p.Reason))
		}
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
	if err != nil {
		return tracking.Update{}, tracking.Hold{}, err
	}
	return entry, hold, nil
}

// ListHolds implements storage.Store.
func (s *Store) ListHolds(ctx context.Context, p storage.ListHoldsParams) ([]tracking.Hold, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list holds: %w", err)
	}
	var w where
	w.add("id > ?", p.AfterID)
	if p.WorkspaceID != "" {
		w.add("workspace_id = ?", p.WorkspaceID)
	}
	if p.PluginName != "" {
		w.add("plugin_name = ?", p.PluginName)
	}
	if p.Active {
		w.add("released_at IS NULL")
	}
	query := "SELECT " + holdCols + " FROM " + s.t.holds + w.String() + " ORDER BY id LIMIT " + w.arg(p.Limit)
	return queryAll(ctx, s, "list holds", scanHold, query, w.args...)
}

// ReleaseHold implements storage.Store.
func (s *Store) ReleaseHold(ctx context.Context, p storage.ReleaseHoldParams) (tracking.Hold, error) {
	op := fmt.Sprintf("release hold %d", p.ID)
	var h tracking.Hold
	err := s.transact(ctx, op, func(tx *sql.Tx) error {
		var err error
		h, err = scanHold(tx.QueryRowContext(ctx, s.q.integrity.releaseHold, p.ID, micros(utc(p.At)), p.Actor))
		if errors.Is(err, sql.ErrNoRows) {
			h, err = scanHold(tx.QueryRowContext(ctx, s.q.integrity.getHold, p.ID)) // released already, or missing
		}
		return err
	})
	return h, err
}

// SetInstallRing implements storage.Store.
func (s *Store) SetInstallRing(ctx context.Context, workspaceID, pluginName string, ring int) (tracking.Install, error) {
	if err := tracking.ValidateRing(ring); err != nil {
		return tracking.Install{}, fmt.Errorf("bunstore: set ring: %w", err)
	}
	op := fmt.Sprintf("set ring of %s/%s", workspaceID, pluginName)
	var in tracking.Install
	err := s.transact(ctx, op, func(tx *sql.Tx) error {
		var err error
		in, err = scanInstall(tx.QueryRowContext(ctx, s.q.integrity.setRing, workspaceID, pluginName, ring))
		return err
	})
	return in, err
}

// RingEvidence implements storage.Store.
func (s *Store) RingEvidence(ctx context.Context, p storage.RingEvidenceParams) (storage.RingEvidence, error) {
	if err := p.Validate(); err != nil {
		return storage.RingEvidence{}, fmt.Errorf("bunstore: ring evidence: %w", err)
	}
	var ev storage.RingEvidence
	var first sql.NullInt64
	if err := s.pool.queryRow(ctx, s.q.integrity.ringEvidence, p.SHA, p.Ring).Scan(&first, &ev.Rollbacks, &ev.FailedRestarts); err != nil {
		return storage.RingEvidence{}, interpretError(ctx, fmt.Sprintf("ring evidence of %s in ring %d", p.SHA, p.Ring), err)
	}
	ev.FirstApplied = fromMicros(first)
	return ev, nil
}
