package bunstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// installRow is what UpsertInstall and DeleteInstall read of an install
// before deciding which upstream rows to lock.
type installRow struct {
	source, ref string
	tracked     bool
	sha         string
	installedAt sql.NullInt64
}

func readInstallKey(ctx context.Context, tx *sql.Tx, query, workspaceID, pluginName string) (installRow, bool, error) {
	var r installRow
	err := tx.QueryRowContext(ctx, query, workspaceID, pluginName).Scan(&r.source, &r.ref, &r.tracked, &r.sha, &r.installedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return installRow{}, false, nil
	}
	return r, err == nil, err
}

// lockKey names one upstreams row to lock; create makes sure it exists,
// with repository (repositoryOf its source).
type lockKey struct {
	source, ref, repository string
	create                  bool
}

// lockUpstreams creates (when asked) and locks upstreams rows, in key
// order; see "Concurrency" in the package documentation.
func (s *Store) lockUpstreams(ctx context.Context, tx *sql.Tx, keys []lockKey) error {
	sortKeys(keys)
	for _, k := range keys {
		if k.create {
			if _, err := tx.ExecContext(ctx, s.q.ensureUpstream, k.source, k.ref, k.repository); err != nil {
				return err
			}
		}
		if s.dialect == dialect.PG {
			var id int64
			err := tx.QueryRowContext(ctx, s.q.lockUpstream, k.source, k.ref).Scan(&id)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
	}
	return nil
}

// sortKeys puts keys in the order every transaction that takes upstream
// rows uses.
func sortKeys(keys []lockKey) {
	slices.SortFunc(keys, func(a, b lockKey) int {
		return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.ref, b.ref))
	})
}

// relock re-reads the install row under its row lock, after the upstream
// locks were taken, and asks for a retry when its key moved in between.
func (s *Store) relock(ctx context.Context, tx *sql.Tx, workspaceID, pluginName string, before installRow, found bool) (installRow, error) {
	if s.dialect != dialect.PG {
		return before, nil
	}
	now, foundNow, err := readInstallKey(ctx, tx, s.q.installKeyForUpdate, workspaceID, pluginName)
	if err != nil {
		return installRow{}, err
	}
	if foundNow != found || now.source != before.source || now.ref != before.ref {
		return installRow{}, errRetry
	}
	return now, nil
}

func validateInstall(in tracking.Install) error {
	if err := in.Validate(); err != nil {
		return fmt.Errorf("bunstore: upsert install: %w", err)
	}
	return nil
}

// UpsertInstall implements storage.Store.
func (s *Store) UpsertInstall(ctx context.Context, in tracking.Install) (tracking.Install, error) {
	if err := validateInstall(in); err != nil {
		return tracking.Install{}, err
	}
	in.UpdatedAt = utc(in.UpdatedAt)
	source, ref, tracked := in.Source.String(), in.Ref.String(), in.Tracked()
	op := fmt.Sprintf("upsert install %s/%s", in.WorkspaceID, in.PluginName)
	var out tracking.Install
	err := s.transact(ctx, op, func(tx *sql.Tx) error {
		old, found, err := readInstallKey(ctx, tx, s.q.installKey, in.WorkspaceID, in.PluginName)
		if err != nil {
			return err
		}
		var keys []lockKey
		if tracked {
			keys = append(keys, lockKey{source: source, ref: ref, create: true, repository: repositoryOf(in.Source)})
		}
		if found && old.tracked && (old.source != source || old.ref != ref) {
			keys = append(keys, lockKey{source: old.source, ref: old.ref})
		}
		if err := s.lockUpstreams(ctx, tx, keys); err != nil {
			return err
		}
		if old, err = s.relock(ctx, tx, in.WorkspaceID, in.PluginName, old, found); err != nil {
			return err
		}

		out = in
		out.InstalledAt = in.UpdatedAt
		installedAt := micros(in.UpdatedAt)
		if found && old.sha == in.InstalledSHA {
			out.InstalledAt = fromMicros(old.installedAt)
			installedAt = micros(out.InstalledAt)
		}
		if err := tx.QueryRowContext(ctx, s.q.upsertInstall, in.WorkspaceID, in.PluginName, source, ref, tracked,
			in.InstalledSHA, in.InstalledVersion, installedAt, micros(in.UpdatedAt), in.Ring).Scan(&out.Ring); err != nil {
			return err
		}
		if found && (old.sha != in.InstalledSHA || old.source != source || old.ref != ref) {
			us, err := queryUpdates(tx.QueryContext(ctx, s.q.supersedeReinstalled, in.WorkspaceID, in.PluginName, in.InstalledSHA, micros(in.UpdatedAt)))
			if err != nil {
				return err
			}
			return s.insertEvents(ctx, tx, updateEvents(tracking.EventUpdateSuperseded, us, decidedAt))
		}
		return nil
	})
	if err != nil {
		return tracking.Install{}, err
	}
	return out, nil
}

// DeleteInstall implements storage.Store.
func (s *Store) DeleteInstall(ctx context.Context, workspaceID, pluginName string, at time.Time) error {
	op := fmt.Sprintf("delete install %s/%s", workspaceID, pluginName)
	return s.transact(ctx, op, func(tx *sql.Tx) error {
		old, found, err := readInstallKey(ctx, tx, s.q.installKey, workspaceID, pluginName)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no such install: %w", tracking.ErrNotFound)
		}
		if old.tracked {
			if err := s.lockUpstreams(ctx, tx, []lockKey{{source: old.source, ref: old.ref}}); err != nil {
				return err
			}
		}
		if _, err := s.relock(ctx, tx, workspaceID, pluginName, old, found); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.deleteInstall, workspaceID, pluginName); err != nil {
			return err
		}
		us, err := queryUpdates(tx.QueryContext(ctx, s.q.supersedeUninstalled, workspaceID, pluginName, micros(utc(at))))
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, updateEvents(tracking.EventUpdateSuperseded, us, decidedAt))
	})
}

// GetInstall implements storage.Store.
func (s *Store) GetInstall(ctx context.Context, workspaceID, pluginName string) (tracking.Install, error) {
	in, err := scanInstall(s.pool.queryRow(ctx, s.q.getInstall, workspaceID, pluginName))
	if err != nil {
		return tracking.Install{}, interpretError(ctx, fmt.Sprintf("get install %s/%s", workspaceID, pluginName), err)
	}
	return in, nil
}

// ListInstalls implements storage.Store.
func (s *Store) ListInstalls(ctx context.Context, p storage.ListInstallsParams) ([]tracking.Install, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list installs: %w", err)
	}
	query, args := s.listInstallsSQL(p)
	return queryAll(ctx, s, "list installs", scanInstall, query, args...)
}

// listInstallsSQL builds ListInstalls' query, a range scan of the
// primary key.
func (s *Store) listInstallsSQL(p storage.ListInstallsParams) (string, []any) {
	var w where
	if p.WorkspaceID != "" {
		w.add("workspace_id = ?", p.WorkspaceID)
	}
	if p.WorkspacePrefix != "" {
		w.add("workspace_id >= ? AND workspace_id < ?", p.WorkspacePrefix, storage.PrefixUpperBound(p.WorkspacePrefix))
	}
	if p.PluginName != "" {
		w.add("plugin_name = ?", p.PluginName)
	}
	if p.AfterWorkspaceID != "" || p.AfterPluginName != "" {
		w.add("(workspace_id, plugin_name) > (?, ?)", p.AfterWorkspaceID, p.AfterPluginName)
	}
	limit := w.arg(p.Limit)
	return "SELECT " + installCols + " FROM " + s.t.installs + w.String() +
		" ORDER BY workspace_id, plugin_name LIMIT " + limit, w.args
}

// importBatch is how many rows one INSERT of ImportInstalls writes.
const importBatch = 100

// ImportInstalls records many installs that are not recorded yet, in one
// transaction, far faster than calling UpsertInstall for each: it is meant
// for a host loading the installs it already has. The result is what
// UpsertInstall of each would give on an empty store: InstalledAt =
// UpdatedAt, and an upstream row for each tracked key. Like UpsertInstall,
// it holds every install to tracking.Install.Validate first.
//
// When one of them is already recorded, or appears twice, it returns an
// error wrapping tracking.ErrConflict and records none of them: change
// existing installs with UpsertInstall, which also keeps their queue
// entries consistent.
func (s *Store) ImportInstalls(ctx context.Context, installs []tracking.Install) error {
	for _, in := range installs {
		if err := validateInstall(in); err != nil {
			return err
		}
	}
	var keys []lockKey
	seen := map[lockKey]bool{}
	for _, in := range installs {
		k := lockKey{source: in.Source.String(), ref: in.Ref.String()}
		if in.Tracked() && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sortKeys(keys)

	return s.transact(ctx, fmt.Sprintf("import %d installs", len(installs)), func(tx *sql.Tx) error {
		for batch := range slices.Chunk(keys, importBatch) {
			args := make([]any, 0, 2*len(batch))
			for _, k := range batch {
				args = append(args, k.source, k.ref)
			}
			query := "INSERT INTO " + s.t.upstreams + " (source_raw, tracked_ref) VALUES " +
				s.valueRows(len(batch), 2) + " ON CONFLICT (source_raw, tracked_ref) DO NOTHING"
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return err
			}
		}
		for batch := range slices.Chunk(installs, importBatch) {
			args := make([]any, 0, 9*len(batch))
			for _, in := range batch {
				at := micros(utc(in.UpdatedAt))
				args = append(args, in.WorkspaceID, in.PluginName, in.Source.String(), in.Ref.String(), in.Tracked(),
					in.InstalledSHA, in.InstalledVersion, at, at)
			}
			query := "INSERT INTO " + s.t.installs + " (workspace_id, plugin_name, source_raw, tracked_ref, tracked, installed_sha, installed_version, installed_at, updated_at) VALUES " +
				s.valueRows(len(batch), 9)
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// valueRows writes the placeholders of a multi-row VALUES list. SQLite
// gets anonymous "?" placeholders: binding hundreds of numbered ones
// costs it a name lookup each.
func (s *Store) valueRows(rows, cols int) string {
	var b strings.Builder
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			if s.dialect == dialect.PG {
				b.WriteString("$" + strconv.Itoa(n))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}
