package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// # The outbox
//
// Events are rows of "<prefix>events", inserted by the transaction that
// makes the change they report (insertEvents, always its last
// statements). Deliverers read them with a cursor over id, which is sound
// only if no event becomes visible after one with a larger id. SQLite has
// one writer at a time, so ids are visible in order. On Postgres ids come
// from a sequence before commit, and two transactions may commit out of
// id order; so every transaction that writes events first takes one
// transaction-level advisory lock (pg_advisory_xact_lock), held until it
// commits or rolls back: the next writer of events draws its ids only after
// the previous one is visible. Writers of events serialise from their
// first event to their commit, which are their last statements; they hold
// no other lock they could wait for in that window, so the lock cannot
// deadlock.

const (
	eventCols = "id, type, at, workspace_id, plugin_name, update_id, payload"
	deadCols  = "d.subscriber, d.attempts, d.last_error, d.dead_at, d.retrying, e.id, e.type, e.at, e.workspace_id, e.plugin_name, e.update_id, e.payload"
	subCols   = "name, after_id, attempts, last_error, retry_at"
	// eventBatch is how many events one INSERT writes (7 parameters each).
	eventBatch = 100
)

// addEventMigrations registers the outbox's tables.
func addEventMigrations(ms *migrate.Migrations, t tables) {
	ms.Add(migrate.Migration{
		Name:    "20261202000100",
		Comment: "plugindrift_events",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, eventsSchema(t, db.Dialect().Name()))
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{
				"DROP TABLE IF EXISTS " + t.deadEvents,
				"DROP TABLE IF EXISTS " + t.subscriptions,
				"DROP TABLE IF EXISTS " + t.events,
			})
		}),
	})
}

func eventsSchema(t tables, d dialect.Name) []string {
	text, serial := `TEXT COLLATE "C"`, "BIGSERIAL PRIMARY KEY"
	if d == dialect.SQLite {
		text, serial = "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
	return []string{
		fmt.Sprintf(`CREATE TABLE %[1]s (
	id           %[3]s,
	type         TEXT NOT NULL,
	at           BIGINT,
	workspace_id %[2]s NOT NULL DEFAULT '',
	plugin_name  %[2]s NOT NULL DEFAULT '',
	update_id    BIGINT NOT NULL DEFAULT 0,
	payload      TEXT NOT NULL
)`, t.events, text, serial),
		fmt.Sprintf(`CREATE TABLE %[1]s (
	name       %[2]s PRIMARY KEY,
	after_id   BIGINT NOT NULL DEFAULT 0,
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	retry_at   BIGINT
)`, t.subscriptions, text),
		fmt.Sprintf(`CREATE TABLE %[1]s (
	subscriber %[2]s NOT NULL,
	event_id   BIGINT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	dead_at    BIGINT,
	retrying   BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (subscriber, event_id)
)`, t.deadEvents, text),
		// PruneEvents asks, per old event, whether anyone holds it dead.
		fmt.Sprintf(`CREATE INDEX %[1]s_event ON %[1]s (event_id)`, t.deadEvents),
	}
}

// eventQueries holds the outbox's SQL.
type eventQueries struct {
	lock, insertEventsPG                                       string // "" on SQLite
	listEvents, getEvent                                       string
	ensureSub, getSub, listSubs                                string
	subDelivered, subFailed, insertDead, getDead, deadRetryEnd string
	deadDelete, listDead, listDeadRetrying, retryDead, prune   string
}

func newEventQueries(t tables, d dialect.Name) eventQueries {
	r := strings.NewReplacer("{events}", t.events, "{subs}", t.subscriptions, "{dead}", t.deadEvents)
	q := eventQueries{
		listEvents: `SELECT ` + eventCols + ` FROM {events} WHERE id > $1 ORDER BY id LIMIT $2`,
		getEvent:   `SELECT ` + eventCols + ` FROM {events} WHERE id = $1`,
		ensureSub:  `INSERT INTO {subs} (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
		getSub:     `SELECT ` + subCols + ` FROM {subs} WHERE name = $1`,
		listSubs: `SELECT s.name, s.after_id, s.attempts, s.last_error, s.retry_at,
	(SELECT COUNT(*) FROM {events} AS e WHERE e.id > s.after_id),
	(SELECT COUNT(*) FROM {dead} AS d WHERE d.subscriber = s.name)
FROM {subs} AS s ORDER BY s.name`,
		// The cursor only moves forward ($2 > after_id), so a stale
		// deliverer's late outcome changes nothing.
		subDelivered: `UPDATE {subs} SET after_id = $2, attempts = 0, last_error = '', retry_at = NULL WHERE name = $1 AND after_id < $2
RETURNING ` + subCols,
		subFailed: `UPDATE {subs} SET attempts = attempts + 1, last_error = $3, retry_at = $4 WHERE name = $1 AND after_id < $2
RETURNING ` + subCols,
		insertDead: `INSERT INTO {dead} (subscriber, event_id, attempts, last_error, dead_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (subscriber, event_id) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, dead_at = excluded.dead_at, retrying = FALSE`,
		getDead:      `SELECT retrying FROM {dead} WHERE subscriber = $1 AND event_id = $2`,
		deadRetryEnd: `UPDATE {dead} SET attempts = attempts + 1, last_error = $3, dead_at = $4, retrying = FALSE WHERE subscriber = $1 AND event_id = $2`,
		deadDelete:   `DELETE FROM {dead} WHERE subscriber = $1 AND event_id = $2`,
		listDead: `SELECT ` + deadCols + ` FROM {dead} AS d JOIN {events} AS e ON e.id = d.event_id
WHERE d.subscriber = $1 AND d.event_id > $2 ORDER BY d.event_id LIMIT $3`,
		listDeadRetrying: `SELECT ` + deadCols + ` FROM {dead} AS d JOIN {events} AS e ON e.id = d.event_id
WHERE d.subscriber = $1 AND d.event_id > $2 AND d.retrying ORDER BY d.event_id LIMIT $3`,
		retryDead: `UPDATE {dead} SET retrying = TRUE WHERE subscriber = $1 AND event_id = $2`,
		// Old events every subscriber is past, that nobody holds dead.
		prune: `DELETE FROM {events} WHERE at < $1
	AND id <= COALESCE((SELECT MIN(after_id) FROM {subs}), id)
	AND NOT EXISTS (SELECT 1 FROM {dead} AS d WHERE d.event_id = {events}.id)`,
	}
	if d == dialect.PG {
		q.lock = `SELECT pg_advisory_xact_lock($1)`
		q.insertEventsPG = r.Replace(`INSERT INTO {events} (type, at, workspace_id, plugin_name, update_id, payload)
SELECT e.type, e.at, e.ws, e.plugin, e.upd, e.payload
FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS BIGINT[]), CAST($3 AS TEXT[]), CAST($4 AS TEXT[]), CAST($5 AS BIGINT[]), CAST($6 AS TEXT[]))
	WITH ORDINALITY AS e(type, at, ws, plugin, upd, payload, n)
ORDER BY e.n`)
	}
	for _, p := range []*string{
		&q.listEvents, &q.getEvent, &q.ensureSub, &q.getSub, &q.listSubs,
		&q.subDelivered, &q.subFailed, &q.insertDead, &q.getDead, &q.deadRetryEnd,
		&q.deadDelete, &q.listDead, &q.listDeadRetrying, &q.retryDead, &q.prune,
	} {
		*p = r.Replace(*p)
	}
	return q
}

// eventLockKey is the advisory lock of one table prefix's outbox.
func eventLockKey(t tables) int64 {
	h := fnv.New64a()
	h.Write([]byte("plugindrift outbox " + t.events))
	return int64(h.Sum64())
}

// insertEvents writes evs in tx: the last statements of the transaction
// that made the change (see "The outbox" above).
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, evs []tracking.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if s.eq.lock != "" {
		if _, err := tx.ExecContext(ctx, s.eq.lock, eventLockKey(s.t)); err != nil {
			return err
		}
	}
	if s.dialect == dialect.PG {
		// One statement, prepared once, whatever the number of events:
		// the columns travel as arrays, and ids follow their order.
		types, ws, plugins, payloads := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
		ats, updates := make([]int64, len(evs)), make([]int64, len(evs))
		for i, ev := range evs {
			types[i], ats[i], ws[i], plugins[i], updates[i], payloads[i] = string(ev.Type), utc(ev.At).UnixMicro(), ev.WorkspaceID, ev.PluginName, ev.UpdateID, string(ev.Payload)
		}
		st, err := s.pool.stmt(ctx, s.eq.insertEventsPG)
		if err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, st).ExecContext(ctx, types, ats, ws, plugins, updates, payloads)
		return err
	}
	for batch := range slices.Chunk(evs, eventBatch) {
		args := make([]any, 0, 6*len(batch))
		for _, ev := range batch {
			args = append(args, string(ev.Type), micros(utc(ev.At)), ev.WorkspaceID, ev.PluginName, ev.UpdateID, string(ev.Payload))
		}
		query := "INSERT INTO " + s.t.events + " (type, at, workspace_id, plugin_name, update_id, payload) VALUES " + s.valueRows(len(batch), 6)
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// queryUpdates runs a statement that returns entries (RETURNING
// updateCols) in tx.
func queryUpdates(rows *sql.Rows, err error) ([]tracking.Update, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tracking.Update
	for rows.Next() {
		u, err := scanUpdate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// updateEvents is the events of entries us moving by t, each at the time
// at returns for it.
func updateEvents(t tracking.EventType, us []tracking.Update, at func(tracking.Update) time.Time) []tracking.Event {
	var out []tracking.Event
	for _, u := range us {
		out = append(out, tracking.UpdateEvents(t, u, at(u))...)
	}
	return out
}

func scanEvent(row scanner) (tracking.Event, error) {
	var (
		ev      tracking.Event
		typ     string
		at      sql.NullInt64
		payload string
	)
	if err := row.Scan(&ev.ID, &typ, &at, &ev.WorkspaceID, &ev.PluginName, &ev.UpdateID, &payload); err != nil {
		return tracking.Event{}, err
	}
	ev.Type, ev.At, ev.Payload = tracking.EventType(typ), fromMicros(at), []byte(payload)
	return ev, nil
}

func scanSub(row scanner) (storage.Subscription, error) {
	var (
		sub     storage.Subscription
		retryAt sql.NullInt64
	)
	err := row.Scan(&sub.Name, &sub.AfterID, &sub.Attempts, &sub.LastError, &retryAt)
	sub.RetryAt = fromMicros(retryAt)
	return sub, err
}

func scanDead(row scanner) (storage.DeadEvent, error) {
	var (
		d       storage.DeadEvent
		deadAt  sql.NullInt64
		at      sql.NullInt64
		typ     string
		payload string
	)
	if err := row.Scan(&d.Subscriber, &d.Attempts, &d.LastError, &deadAt, &d.Retrying,
		&d.Event.ID, &typ, &at, &d.Event.WorkspaceID, &d.Event.PluginName, &d.Event.UpdateID, &payload); err != nil {
		return storage.DeadEvent{}, err
	}
	d.DeadAt, d.Event.At = fromMicros(deadAt), fromMicros(at)
	d.Event.Type, d.Event.Payload = tracking.EventType(typ), []byte(payload)
	return d, nil
}

// ListEvents implements storage.Store.
func (s *Store) ListEvents(ctx context.Context, p storage.ListEventsParams) ([]tracking.Event, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list events: %w", err)
	}
	return queryAll(ctx, s, "list events", scanEvent, s.eq.listEvents, p.AfterID, p.Limit)
}

// EnsureSubscription implements storage.Store.
func (s *Store) EnsureSubscription(ctx context.Context, name string) (storage.Subscription, error) {
	op := "ensure subscription"
	if err := storage.ValidateSubscriberName(name); err != nil {
		return storage.Subscription{}, fmt.Errorf("bunstore: %s: %w", op, err)
	}
	op += " " + name
	unlock := s.lockWriter()
	_, err := s.pool.exec(ctx, s.eq.ensureSub, name)
	unlock()
	if err != nil {
		return storage.Subscription{}, interpretError(ctx, op, err)
	}
	sub, err := scanSub(s.pool.queryRow(ctx, s.eq.getSub, name))
	if err != nil {
		return storage.Subscription{}, interpretError(ctx, op, err)
	}
	return sub, nil
}

// ListSubscriptions implements storage.Store.
func (s *Store) ListSubscriptions(ctx context.Context) ([]storage.Subscription, error) {
	return queryAll(ctx, s, "list subscriptions", func(row scanner) (storage.Subscription, error) {
		var (
			sub     storage.Subscription
			retryAt sql.NullInt64
		)
		err := row.Scan(&sub.Name, &sub.AfterID, &sub.Attempts, &sub.LastError, &retryAt, &sub.Pending, &sub.Dead)
		sub.RetryAt = fromMicros(retryAt)
		return sub, err
	}, s.eq.listSubs)
}

// RecordDelivery implements storage.Store.
func (s *Store) RecordDelivery(ctx context.Context, p storage.RecordDeliveryParams) (storage.Subscription, error) {
	op := "record delivery"
	if err := p.Validate(); err != nil {
		return storage.Subscription{}, fmt.Errorf("bunstore: %s: %w", op, err)
	}
	op = fmt.Sprintf("record delivery of event %d to %s", p.EventID, p.Subscriber)
	at := micros(utc(p.At))
	var out storage.Subscription
	err := s.transact(ctx, op, func(tx *sql.Tx) error {
		sub, err := scanSub(tx.QueryRowContext(ctx, s.eq.getSub+forUpdate(s.dialect), p.Subscriber))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no such subscriber: %w", tracking.ErrNotFound)
		}
		if err != nil {
			return err
		}
		out = sub
		if p.EventID <= sub.AfterID {
			var retrying bool
			err := tx.QueryRowContext(ctx, s.eq.getDead, p.Subscriber, p.EventID).Scan(&retrying)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && !retrying) {
				return nil // a stale outcome: the cursor is past it
			}
			if err != nil {
				return err
			}
			if p.Outcome == storage.Delivered {
				_, err = tx.ExecContext(ctx, s.eq.deadDelete, p.Subscriber, p.EventID)
			} else {
				_, err = tx.ExecContext(ctx, s.eq.deadRetryEnd, p.Subscriber, p.EventID, p.Message, at)
			}
			return err
		}
		switch p.Outcome {
		case storage.Failed:
			out, err = scanSub(tx.QueryRowContext(ctx, s.eq.subFailed, p.Subscriber, p.EventID, p.Message, micros(utc(p.RetryAt))))
			return err
		case storage.Dead:
			if _, err := tx.ExecContext(ctx, s.eq.insertDead, p.Subscriber, p.EventID, sub.Attempts+1, p.Message, at); err != nil {
				return err
			}
		}
		out, err = scanSub(tx.QueryRowContext(ctx, s.eq.subDelivered, p.Subscriber, p.EventID))
		return err
	})
	if err != nil {
		return storage.Subscription{}, err
	}
	return out, nil
}

// forUpdate is the row lock a read takes before its write: Postgres only;
// SQLite's immediate transactions already hold the single write lock.
func forUpdate(d dialect.Name) string {
	if d == dialect.PG {
		return " FOR UPDATE"
	}
	return ""
}

// ListDeadEvents implements storage.Store.
func (s *Store) ListDeadEvents(ctx context.Context, p storage.ListDeadEventsParams) ([]storage.DeadEvent, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list dead events: %w", err)
	}
	query := s.eq.listDead
	if p.Retrying {
		query = s.eq.listDeadRetrying
	}
	return queryAll(ctx, s, "list dead events of "+p.Subscriber, scanDead, query, p.Subscriber, p.AfterID, p.Limit)
}

// RetryDeadEvent implements storage.Store.
func (s *Store) RetryDeadEvent(ctx context.Context, subscriber string, eventID int64) (storage.DeadEvent, error) {
	op := fmt.Sprintf("retry dead event %d of %s", eventID, subscriber)
	unlock := s.lockWriter()
	n, err := rowsAffected(s.pool.exec(ctx, s.eq.retryDead, subscriber, eventID))
	unlock()
	if err != nil {
		return storage.DeadEvent{}, interpretError(ctx, op, err)
	}
	if n == 0 {
		return storage.DeadEvent{}, fmt.Errorf("bunstore: %s: it is not dead for that subscriber: %w", op, tracking.ErrNotFound)
	}
	ds, err := s.ListDeadEvents(ctx, storage.ListDeadEventsParams{Subscriber: subscriber, AfterID: eventID - 1, Limit: 1})
	if err != nil {
		return storage.DeadEvent{}, err
	}
	if len(ds) == 0 || ds[0].Event.ID != eventID {
		return storage.DeadEvent{}, fmt.Errorf("bunstore: %s: it is no longer dead: %w", op, tracking.ErrNotFound)
	}
	return ds[0], nil
}

// PruneEvents implements storage.Store.
func (s *Store) PruneEvents(ctx context.Context, p storage.PruneEventsParams) (int, error) {
	defer s.lockWriter()()
	n, err := rowsAffected(s.pool.exec(ctx, s.eq.prune, micros(utc(p.Before))))
	if err != nil {
		return 0, interpretError(ctx, "prune events", err)
	}
	return n, nil
}

// decidedAt and detectedAt give updateEvents the time of a transition.
func decidedAt(u tracking.Update) time.Time  { return u.DecidedAt }
func detectedAt(u tracking.Update) time.Time { return u.DetectedAt }
