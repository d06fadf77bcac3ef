package resolver

import (
	"fmt"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// CheckSource is the validation every Resolver applies to Request.Source
// before it runs or sends anything: Sources built by hand reach resolvers
// too, and their fields become part of URLs and command lines. It returns
// an error matching ErrUnsupported for a source without upstream (local,
// the zero Source), and one matching tracking.ErrInvalidSource for a git or
// github source that is not what tracking.ParseSource returns for its own
// canonical form.
func CheckSource(src tracking.Source) error {
	if !src.HasUpstream() {
		return fmt.Errorf("resolver: source %s has no upstream (want a git or github source): %w", redact.Quote(string(src.Scheme)), ErrUnsupported)
	}
	if err := src.Validate(); err != nil {
		return fmt.Errorf("resolver: build sources with tracking.ParseSource: %w", err)
	}
	return nil
}

// CheckRef is the validation every Resolver applies to Request.Ref before
// it runs or sends anything. It returns an error matching ErrUnsupported
// for a ref that is never resolved (none, sha:, the zero Ref), and one
// matching tracking.ErrInvalidRef for any other ref that is not what
// tracking.ParseRef returns for its canonical form: a bad branch or tag
// name, "refs/heads/main", a constraint that does not parse, an unknown
// kind.
func CheckRef(ref tracking.Ref) error {
	switch ref.Kind {
	case "", tracking.RefNone, tracking.RefSHA:
		return fmt.Errorf("resolver: ref %s is not tracked, so there is nothing to resolve; track a tag, tag:latest, semver:, branch or head: %w",
			redact.Quote(ref.String()), ErrUnsupported)
	}
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("resolver: build refs with tracking.ParseRef: %w", err)
	}
	return nil
}
