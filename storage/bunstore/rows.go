package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// querier reads a row either on the pool, through statements prepared
// once (stmtCache), or inside a transaction (inTx).
type querier interface {
	queryRow(ctx context.Context, query string, args ...any) scanner
}

type scanner interface{ Scan(dest ...any) error }

// errRow is a row whose query could not even be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// inTx runs statements in a transaction, unprepared.
type inTx struct{ tx *sql.Tx }

func (t inTx) queryRow(ctx context.Context, query string, args ...any) scanner {
	return t.tx.QueryRowContext(ctx, query, args...)
}

// errRetry asks transact to run the whole transaction again: a row it read
// before taking its locks changed meanwhile.
var errRetry = errors.New("bunstore: retry transaction")

// transact runs fn in a transaction, committing when it returns nil, and
// translates the error. On SQLite the transaction begins IMMEDIATE (see
// Open), so it holds the write lock from the start.
func (s *Store) transact(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if errors.Is(err, errRetry) && attempt < 10 {
			continue
		}
		return interpretError(ctx, op, err)
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer s.lockWriter()()
	tx, err := s.sqldb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// lockWriter takes the Store's writer mutex on SQLite and returns its
// unlock. Every write takes it, transactions (tryTx) and single
// statements alike, so that this process's writers queue here rather
// than in SQLite's busy handler. It must not be taken twice: nothing
// that holds it calls transact or another method that takes it.
func (s *Store) lockWriter() (unlock func()) {
	if s.dialect != dialect.SQLite {
		return func() {}
	}
	s.writer.Lock()
	return s.writer.Unlock
}

// Times are stored as microseconds since the Unix epoch, NULL for the zero
// time.

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// parseKey parses the source and ref columns of a row, once: the values
// are valid by construction from then on. A column that does not parse was
// not written by this package, so the error says the database is corrupted
// and names the row.
func parseKey(row, source, ref string) (tracking.UpstreamKey, error) {
	src, err := tracking.ParseSource(source)
	if err != nil {
		return tracking.UpstreamKey{}, fmt.Errorf("corrupted database: %s: stored source %s does not parse (restore the row from a backup or delete it): %v", row, redact.Quote(source), err)
	}
	r, err := tracking.ParseRef(ref)
	if err != nil {
		return tracking.UpstreamKey{}, fmt.Errorf("corrupted database: %s: stored ref %s does not parse (restore the row from a backup or delete it): %v", row, redact.Quote(ref), err)
	}
	return tracking.UpstreamKey{Source: src, Ref: r}, nil
}

func scanInstall(row scanner) (tracking.Install, error) {
	var (
		in                    tracking.Install
		source, ref           string
		installedAt, updateAt sql.NullInt64
	)
	if err := row.Scan(&in.WorkspaceID, &in.PluginName, &source, &ref, &in.InstalledSHA, &in.InstalledVersion, &installedAt, &updateAt, &in.Ring); err != nil {
		return tracking.Install{}, err
	}
	key, err := parseKey("installs row "+redact.Quote(in.WorkspaceID+"/"+in.PluginName), source, ref)
	if err != nil {
		return tracking.Install{}, err
	}
	in.Source, in.Ref = key.Source, key.Ref
	in.InstalledAt, in.UpdatedAt = fromMicros(installedAt), fromMicros(updateAt)
	return in, nil
}

func scanUpstream(row scanner) (tracking.Upstream, error) {
	var (
		u           tracking.Upstream
		source, ref string
		checkedAt   sql.NullInt64
		pushedAt    sql.NullInt64
	)
	dest := append([]any{&u.ID, &source, &ref, &u.LastSHA, &u.LastVersion, &u.Validator, &checkedAt, &u.LastError, &u.ConsecutiveFailures, &pushedAt},
		verificationDest(&u.Verification)...)
	if err := row.Scan(dest...); err != nil {
		return tracking.Upstream{}, err
	}
	key, err := parseKey(fmt.Sprintf("upstreams row id %d", u.ID), source, ref)
	if err != nil {
		return tracking.Upstream{}, err
	}
	u.Key = key
	u.LastCheckedAt = fromMicros(checkedAt)
	u.LastPushAt = fromMicros(pushedAt)
	return u, nil
}

func scanUpdate(row scanner) (tracking.Update, error) {
	var (
		u                                         tracking.Update
		source, ref, kind, status                 string
		detected, lastSeen, decided, claimedUntil sql.NullInt64
	)
	dest := slices.Concat([]any{&u.ID, &u.WorkspaceID, &u.PluginName, &source, &ref, &u.FromSHA, &u.ToSHA, &u.FromVersion, &u.ToVersion,
		&kind, &status, &detected, &lastSeen, &decided, &u.DecidedBy, &u.Reason, &u.Attempts, &u.LastError, &u.RestartError, &claimedUntil},
		verificationDest(&u.Verification), []any{&u.Override})
	if err := row.Scan(dest...); err != nil {
		return tracking.Update{}, err
	}
	key, err := parseKey(fmt.Sprintf("updates row id %d", u.ID), source, ref)
	if err != nil {
		return tracking.Update{}, err
	}
	u.Source, u.Ref = key.Source, key.Ref
	u.Kind, u.Status = tracking.UpdateKind(kind), tracking.UpdateStatus(status)
	u.DetectedAt, u.LastSeenAt, u.DecidedAt, u.ClaimedUntil = fromMicros(detected), fromMicros(lastSeen), fromMicros(decided), fromMicros(claimedUntil)
	return u, nil
}

// queryAll runs query on the pool and scans every row with scan; errors
// are translated for op.
func queryAll[T any](ctx context.Context, s *Store, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.pool.query(ctx, query, args...)
	if err != nil {
		return nil, interpretError(ctx, op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, interpretError(ctx, op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(ctx, op, err)
	}
	return out, nil
}

// where builds a WHERE clause with numbered placeholders: each '?' in a
// condition becomes the next "$n".
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	i := 0
	for _, c := range cond {
		if c == '?' {
			w.args = append(w.args, args[i])
			i++
			b.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteRune(c)
	}
	w.conds = append(w.conds, b.String())
}

// arg appends one more argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// whereIn adds "col IN (...)" for the distinct values of vals, sorted:
// the statement's text, and so its prepared form, depends only on how
// many distinct values there are.
func whereIn[T ~string](w *where, col string, vals []T) {
	vals = slices.Clone(vals)
	slices.Sort(vals)
	vals = slices.Compact(vals)
	list := make([]string, len(vals))
	for i, v := range vals {
		list[i] = w.arg(string(v))
	}
	w.conds = append(w.conds, col+" IN ("+strings.Join(list, ", ")+")")
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// stmtCache runs statements on the Store's pool, each prepared once per
// Store; database/sql then keeps one prepared copy per connection, so
// SQLite does not parse them again on every call. Statements are prepared
// before a transaction begins: a pool of one connection (":memory:") has
// none to spare during it.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// prepare returns the queries prepared, in order.
func (c *stmtCache) prepare(ctx context.Context, queries ...string) ([]*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*sql.Stmt, len(queries))
	for i, q := range queries {
		st, ok := c.m[q]
		if !ok {
			var err error
			if st, err = c.db.PrepareContext(ctx, q); err != nil {
				return nil, err
			}
			if c.m == nil {
				c.m = map[string]*sql.Stmt{}
			}
			c.m[q] = st
		}
		out[i] = st
	}
	return out, nil
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return st[0], nil
}

func (c *stmtCache) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}
