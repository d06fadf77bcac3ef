package bunstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Push webhooks: the upstreams' repository identity and last push, the
// durable check requests and the delivery ids seen.
//
// The repository column holds repositoryOf(source_raw). Every statement
// that creates an upstream row writes it, and one that rewrites the row
// fills it when empty. Only rows older than the column have "" there: the
// migration fills them, and ListRepositoryUpstreams checks once per Store
// that none is left (a replica still running a version from before rows
// carried their repository may have added some since), fills those, and
// then never checks again: no statement of this package writes "" into
// the column, so once no row has it, none will.

// noRepository marks a row whose source has no repository identity; a
// RepoKey always contains "/", so it never matches one.
const noRepository = "-"

// repositoryOf is the repository column of an upstream row of source.
func repositoryOf(src tracking.Source) string {
	if src.Repository().IsValid() {
		return src.Repository().String()
	}
	return noRepository
}

// pushQueries holds the push statements, built once by newQueries.
type pushQueries struct {
	// ListRepositoryUpstreams.
	repositoriesMissing, repositoryUpstreams string
	// RecordPush.
	pruneDeliveries, recordDelivery, markPushed, requestCheck string
	// ClaimCheckRequests and CompleteCheckRequest.
	claimRequests, completeRequest, releaseRequest string
}

func newPushQueries(t tables, d dialect.Name, r *strings.Replacer) pushQueries {
	pt := newPushTables(t)
	// On Postgres, concurrent claimers skip each other's rows; on
	// SQLite the write lock serialises them.
	skipLocked := ""
	if d == dialect.PG {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	q := pushQueries{
		repositoriesMissing: `SELECT EXISTS (SELECT 1 FROM {upstreams} WHERE repository = '')`,
		// A range scan of the repository index: $1 repository, $2
		// cursor, $3 limit.
		repositoryUpstreams: `SELECT ` + upstreamCols + ` FROM {upstreams} AS u
WHERE u.repository = $1 AND u.id > $2 AND EXISTS (
	SELECT 1 FROM {installs} AS i WHERE i.source_raw = u.source_raw AND i.tracked_ref = u.tracked_ref AND i.tracked)
ORDER BY u.id LIMIT $3`,
		pruneDeliveries: `DELETE FROM ` + pt.deliveries + ` WHERE expires_at <= $1`,
		recordDelivery:  `INSERT INTO ` + pt.deliveries + ` (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`,
		markPushed:      `UPDATE {upstreams} SET last_push_at = $3 WHERE source_raw = $1 AND tracked_ref = $2`,
		requestCheck: `INSERT INTO ` + pt.requests + ` (source_raw, tracked_ref, requested_at, generation) VALUES ($1, $2, $3, 1)
ON CONFLICT (source_raw, tracked_ref) DO UPDATE SET generation = ` + pt.requests + `.generation + 1
RETURNING generation`,
		// $1 holder, $2 TTL (µs), $3 limit.
		claimRequests: `UPDATE ` + pt.requests + ` SET holder = $1, claimed_until = {db_now} + $2
WHERE (source_raw, tracked_ref) IN (
	SELECT source_raw, tracked_ref FROM ` + pt.requests + `
	WHERE claimed_until IS NULL OR claimed_until <= {db_now}
	ORDER BY requested_at, source_raw, tracked_ref LIMIT $3` + skipLocked + `)
RETURNING source_raw, tracked_ref, requested_at, generation`,
		// $1 source, $2 ref, $3 holder, $4 generation.
		completeRequest: `DELETE FROM ` + pt.requests + ` WHERE source_raw = $1 AND tracked_ref = $2 AND holder = $3 AND holder <> '' AND generation = $4`,
		// $4 the rest before it may be claimed again (µs; NULL: none).
		releaseRequest: `UPDATE ` + pt.requests + ` SET holder = '', claimed_until = {db_now} + $4
WHERE source_raw = $1 AND tracked_ref = $2 AND holder = $3 AND holder <> ''`,
	}
	for _, p := range []*string{&q.repositoriesMissing, &q.repositoryUpstreams, &q.pruneDeliveries, &q.recordDelivery, &q.markPushed, &q.requestCheck,
		&q.claimRequests, &q.completeRequest, &q.releaseRequest} {
		*p = r.Replace(*p)
	}
	return q
}

// pushTables names the push tables with the Store's prefix.
type pushTables struct{ requests, deliveries string }

func newPushTables(t tables) pushTables {
	return pushTables{requests: t.checkRequests, deliveries: t.pushDeliveries}
}

// addPushMigrations registers the migrations of the push tables.
func addPushMigrations(ms *migrate.Migrations, t tables) {
	pt := newPushTables(t)
	ms.Add(migrate.Migration{
		Name:    "20261202000300",
		Comment: "plugindrift_push",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, s := range pushSchema(t, pt, db.Dialect().Name()) {
					if _, err := tx.Tx.ExecContext(ctx, s); err != nil {
						return err
					}
				}
				return fillRepositories(ctx, tx.Tx, t, -1)
			})
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{
				"DROP TABLE IF EXISTS " + pt.deliveries,
				"DROP TABLE IF EXISTS " + pt.requests,
				"DROP INDEX IF EXISTS " + t.upstreams + "_repository",
				"ALTER TABLE " + t.upstreams + " DROP COLUMN last_push_at",
				"ALTER TABLE " + t.upstreams + " DROP COLUMN repository",
			})
		}),
	})
}

func pushSchema(t tables, pt pushTables, d dialect.Name) []string {
	text := `TEXT COLLATE "C"`
	if d == dialect.SQLite {
		text = "TEXT"
	}
	return []string{
		fmt.Sprintf(`ALTER TABLE %s ADD COLUMN repository %s NOT NULL DEFAULT ''`, t.upstreams, text),
		fmt.Sprintf(`ALTER TABLE %s ADD COLUMN last_push_at BIGINT`, t.upstreams),
		fmt.Sprintf(`CREATE INDEX %[1]s_repository ON %[1]s (repository, id)`, t.upstreams),
		// One request per upstream: pushes while one is open add to its
		// generation. holder is '' when nobody claims it; claimed_until
		// is the claim's expiry, or the end of the rest of a request
		// handed back for another check (NULL: claimable).
		fmt.Sprintf(`CREATE TABLE %[1]s (
	source_raw    %[2]s NOT NULL,
	tracked_ref   %[2]s NOT NULL,
	requested_at  BIGINT NOT NULL,
	generation    BIGINT NOT NULL,
	holder        TEXT NOT NULL DEFAULT '',
	claimed_until BIGINT,
	PRIMARY KEY (source_raw, tracked_ref)
)`, pt.requests, text),
		fmt.Sprintf(`CREATE INDEX %[1]s_requested ON %[1]s (requested_at)`, pt.requests),
		fmt.Sprintf(`CREATE TABLE %[1]s (
	id         %[2]s PRIMARY KEY,
	expires_at BIGINT NOT NULL
)`, pt.deliveries, text),
		fmt.Sprintf(`CREATE INDEX %[1]s_expires ON %[1]s (expires_at)`, pt.deliveries),
	}
}

// fillBatch is how many rows one round of fillRepositories reads.
const fillBatch = 500

// fillRepositories sets the repository column of rows that have none,
// at most limit of them (-1: all).
func fillRepositories(ctx context.Context, tx *sql.Tx, t tables, limit int) error {
	for limit != 0 {
		n := fillBatch
		if limit > 0 {
			n = min(n, limit)
		}
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT id, source_raw FROM %s WHERE repository = '' ORDER BY id LIMIT %d`, t.upstreams, n))
		if err != nil {
			return err
		}
		type row struct {
			id   int64
			repo string
		}
		var todo []row
		for rows.Next() {
			var (
				r      row
				source string
			)
			if err := rows.Scan(&r.id, &source); err != nil {
				_ = rows.Close()
				return err
			}
			r.repo = noRepository
			if src, err := tracking.ParseSource(source); err == nil {
				r.repo = repositoryOf(src)
			}
			todo = append(todo, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(todo) > 0 {
			// One statement per batch. "repository = ''" again: a
			// concurrent filler that committed first leaves nothing to do.
			values := make([]string, len(todo))
			args := make([]any, 0, 2*len(todo))
			for i, r := range todo {
				values[i] = fmt.Sprintf("(CAST($%d AS BIGINT), CAST($%d AS TEXT))", 2*i+1, 2*i+2)
				args = append(args, r.id, r.repo)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`WITH v(id, repo) AS (VALUES %[2]s)
UPDATE %[1]s SET repository = (SELECT v.repo FROM v WHERE v.id = %[1]s.id)
WHERE id IN (SELECT v.id FROM v) AND repository = ''`,
				t.upstreams, strings.Join(values, ", ")), args...); err != nil {
				return err
			}
		}
		if len(todo) < n {
			return nil
		}
		if limit > 0 {
			limit -= len(todo)
		}
	}
	return nil
}

// ListRepositoryUpstreams implements storage.Store. Until it has seen
// every upstream row carry its repository, it first fills the rows that
// have none (see the top of this file).
func (s *Store) ListRepositoryUpstreams(ctx context.Context, p storage.ListRepositoryUpstreamsParams) ([]tracking.Upstream, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list repository upstreams: %w", err)
	}
	op := "list upstreams of repository " + redact.Quote(p.Repository.String())
	if !s.filled.Load() {
		var missing bool
		if err := s.pool.queryRow(ctx, s.q.push.repositoriesMissing).Scan(&missing); err != nil {
			return nil, interpretError(ctx, op, err)
		}
		if missing {
			if err := s.transact(ctx, op+": fill identities", func(tx *sql.Tx) error { return fillRepositories(ctx, tx, s.t, -1) }); err != nil {
				return nil, err
			}
		}
		s.filled.Store(true)
	}
	return queryAll(ctx, s, op, scanUpstream, s.q.push.repositoryUpstreams, p.Repository.String(), p.AfterID, p.Limit)
}

// RecordPush implements storage.Store. Keys are written in key order, the
// order every transaction that takes upstream rows uses.
func (s *Store) RecordPush(ctx context.Context, p storage.RecordPushParams) (storage.RecordPushResult, error) {
	if err := p.Validate(); err != nil {
		return storage.RecordPushResult{}, fmt.Errorf("bunstore: record push: %w", err)
	}
	keys := slices.Clone(p.Keys)
	slices.SortFunc(keys, func(a, b tracking.UpstreamKey) int {
		return cmp.Or(cmp.Compare(a.Source.String(), b.Source.String()), cmp.Compare(a.Ref.String(), b.Ref.String()))
	})
	at := micros(utc(p.At))
	var res storage.RecordPushResult
	err := s.transact(ctx, "record push", func(tx *sql.Tx) error {
		res = storage.RecordPushResult{}
		if _, err := tx.ExecContext(ctx, s.q.push.pruneDeliveries, at); err != nil {
			return err
		}
		if p.DeliveryID != "" {
			var id string
			err := tx.QueryRowContext(ctx, s.q.push.recordDelivery, p.DeliveryID, micros(utc(p.DeliveryExpires))).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				res.Replayed = true
				return nil
			}
			if err != nil {
				return err
			}
		}
		for _, k := range keys {
			source, ref := k.Source.String(), k.Ref.String()
			if _, err := tx.ExecContext(ctx, s.q.push.markPushed, source, ref, at); err != nil {
				return err
			}
			var gen int64
			if err := tx.QueryRowContext(ctx, s.q.push.requestCheck, source, ref, at).Scan(&gen); err != nil {
				return err
			}
			if gen == 1 {
				res.Requested++
			}
		}
		return nil
	})
	if err != nil {
		return storage.RecordPushResult{}, err
	}
	return res, nil
}

// ClaimCheckRequests implements storage.Store. On Postgres, concurrent
// claimers skip each other's rows (FOR UPDATE SKIP LOCKED); on SQLite the
// write lock serialises them.
func (s *Store) ClaimCheckRequests(ctx context.Context, p storage.ClaimCheckRequestsParams) ([]storage.CheckRequest, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: claim check requests: %w", err)
	}
	unlock := s.lockWriter()
	out, err := queryAll(ctx, s, "claim check requests", scanCheckRequest, s.q.push.claimRequests, p.Holder, p.TTL.Microseconds(), p.Limit)
	unlock()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b storage.CheckRequest) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.Key.Source.String(), b.Key.Source.String()), cmp.Compare(a.Key.Ref.String(), b.Key.Ref.String()))
	})
	return out, nil
}

func scanCheckRequest(row scanner) (storage.CheckRequest, error) {
	var (
		r           storage.CheckRequest
		source, ref string
		at          sql.NullInt64
	)
	if err := row.Scan(&source, &ref, &at, &r.Generation); err != nil {
		return storage.CheckRequest{}, err
	}
	key, err := parseKey("check_requests row", source, ref)
	if err != nil {
		return storage.CheckRequest{}, err
	}
	r.Key, r.RequestedAt = key, fromMicros(at)
	return r, nil
}

// CompleteCheckRequest implements storage.Store: a conditional DELETE,
// and when the generation moved, a conditional release; both name the
// holder, which fences them.
func (s *Store) CompleteCheckRequest(ctx context.Context, p storage.CompleteCheckRequestParams) (bool, error) {
	if err := p.Validate(); err != nil {
		return false, fmt.Errorf("bunstore: complete check request: %w", err)
	}
	source, ref := p.Key.Source.String(), p.Key.Ref.String()
	op := "complete check of " + p.Key.String()
	defer s.lockWriter()()
	res, err := s.pool.exec(ctx, s.q.push.completeRequest, source, ref, p.Holder, p.Generation)
	if n, err := affected(res, err); err != nil || n == 1 {
		return false, interpretError(ctx, op, err)
	}
	var rest any // NULL: claimable at once
	if p.RecheckAfter > 0 {
		rest = p.RecheckAfter.Microseconds()
	}
	res, err = s.pool.exec(ctx, s.q.push.releaseRequest, source, ref, p.Holder, rest)
	n, err := affected(res, err)
	if err != nil {
		return false, interpretError(ctx, op, err)
	}
	if n == 0 {
		return false, fmt.Errorf("bunstore: %s: not claimed by %s: %w", op, redact.Quote(p.Holder), tracking.ErrClaimLost)
	}
	return true, nil
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
