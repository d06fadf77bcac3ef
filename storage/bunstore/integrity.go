package bunstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/uptrace/bun/dialect"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// integrityQueries holds the SQL of holds, rings and force-push checks.
type integrityQueries struct {
	installedSHAs string
}

func newIntegrityQueries(r *strings.Replacer) integrityQueries {
	return integrityQueries{
		// A range scan of the (source_raw, tracked_ref, installed_sha)
		// index, whatever the number of installs.
		installedSHAs: r.Replace(`SELECT DISTINCT installed_sha FROM {installs}
WHERE source_raw = $1 AND tracked_ref = $2
ORDER BY installed_sha LIMIT ` + strconv.Itoa(storage.MaxLimit)),
	}
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
