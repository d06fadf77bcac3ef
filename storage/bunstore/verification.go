package bunstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/tracking"
)

// verifyColList names the columns of a tracking.Verification, on the
// updates and the upstreams tables alike, in the order verificationArgs
// gives their values and verificationDest reads them. verify_state holds
// the state as the Go constant spells it, so that not-checked is the
// empty string, the column's default.
const verifyColList = "verify_state, verify_signer, verify_by, verify_detail, verify_required, verify_policy"

// verifyList joins what item returns for each column of verifyColList and
// its type (TEXT but for verify_required).
func verifyList(item func(i int, col, typ string) string) string {
	cols := strings.Split(verifyColList, ", ")
	for i, c := range cols {
		typ := "TEXT"
		if c == "verify_required" {
			typ = "BOOLEAN"
		}
		cols[i] = item(i, c, typ)
	}
	return strings.Join(cols, ", ")
}

// verificationArgs returns v's values for the columns of verifyColList.
func verificationArgs(v tracking.Verification) []any {
	return []any{string(v.State), v.Signer, v.By, v.Detail, v.Required, v.Policy}
}

// verificationDest returns the Scan destinations of the columns of
// verifyColList into v.
func verificationDest(v *tracking.Verification) []any {
	return []any{(*string)(&v.State), &v.Signer, &v.By, &v.Detail, &v.Required, &v.Policy}
}

// verifyParams returns the placeholders $from… of verificationArgs, cast
// to their columns' types: in an INSERT … SELECT list Postgres cannot
// infer a parameter's type from the column it fills.
func verifyParams(from int) string {
	return verifyList(func(i int, _, typ string) string { return "CAST($" + strconv.Itoa(from+i) + " AS " + typ + ")" })
}

// verifySet returns the SET list that gives each column of verifyColList
// the value value(i, column) spells.
func verifySet(value func(i int, col string) string) string {
	return verifyList(func(i int, col, _ string) string { return col + " = " + value(i, col) })
}

// addVerificationMigrations adds the verification columns of entries and
// upstreams and the override of applied entries. Existing rows become
// not-checked, which is what they are. Every column is NOT NULL, the
// policy's too: NULL would be a second spelling of "no policy".
func addVerificationMigrations(ms *migrate.Migrations, t tables) {
	ms.Add(migrate.Migration{
		Name:    "20261202000500",
		Comment: "plugindrift_verification",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			var stmts []string
			for _, table := range []string{t.updates, t.upstreams} {
				stmts = append(stmts,
					fmt.Sprintf(`ALTER TABLE %s ADD COLUMN verify_state TEXT NOT NULL DEFAULT ''`, table),
					fmt.Sprintf(`ALTER TABLE %s ADD COLUMN verify_signer TEXT NOT NULL DEFAULT ''`, table),
					fmt.Sprintf(`ALTER TABLE %s ADD COLUMN verify_by TEXT NOT NULL DEFAULT ''`, table),
					fmt.Sprintf(`ALTER TABLE %s ADD COLUMN verify_detail TEXT NOT NULL DEFAULT ''`, table),
					fmt.Sprintf(`ALTER TABLE %s ADD COLUMN verify_required BOOLEAN NOT NULL DEFAULT FALSE`, table),
					fmt.Sprintf(`ALTER TABLE %s ADD COLUMN verify_policy TEXT NOT NULL DEFAULT ''`, table),
				)
			}
			stmts = append(stmts, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN override_reason TEXT NOT NULL DEFAULT ''`, t.updates))
			return execDDL(ctx, db, stmts)
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			stmts := []string{fmt.Sprintf(`ALTER TABLE %s DROP COLUMN override_reason`, t.updates)}
			for _, table := range []string{t.upstreams, t.updates} {
				for _, c := range []string{"verify_policy", "verify_required", "verify_detail", "verify_by", "verify_signer", "verify_state"} {
					stmts = append(stmts, fmt.Sprintf(`ALTER TABLE %s DROP COLUMN %s`, table, c))
				}
			}
			return execDDL(ctx, db, stmts)
		}),
	})
}
