package tracking

import "errors"

// RefKind is the shape of a tracked ref.
type RefKind string

const (
	RefNone   RefKind = "none"   // not tracked
	RefSHA    RefKind = "sha"    // pinned commit
	RefTag    RefKind = "tag"    // one exact tag
	RefLatest RefKind = "latest" // highest stable semver tag (written tag:latest)
	RefSemver RefKind = "semver" // highest tag matching a constraint
	RefBranch RefKind = "branch" // branch tip
	RefHead   RefKind = "head"   // remote default branch
)

// Ref is what an install follows upstream. The zero Ref is "none".
//
// Name holds the variable part: the lowercase hex for RefSHA, the tag name
// for RefTag, the constraint as written (trimmed) for RefSemver, the branch
// name for RefBranch; it is empty for RefNone, RefLatest and RefHead.
type Ref struct {
	Kind RefKind
	Name string
}

// ParseRef parses a tracked ref (see the package documentation for the
// grammar). Errors wrap ErrInvalidRef, say what was wrong and list the
// accepted shapes.
func ParseRef(s string) (Ref, error) {
	return Ref{}, errors.New("unimplemented")
}

// String returns the canonical form: "none", "sha:<hex>", "tag:<name>",
// "tag:latest", "semver:<constraint>", "branch:<name>", "head".
func (r Ref) String() string { return "" }

// Tracked reports whether the sweeper resolves this ref (every kind but none
// and sha).
func (r Ref) Tracked() bool { return false }

// DriftKind is the kind of update a movement of this ref produces:
// tag-moved for RefTag, new-version for RefLatest and RefSemver, new-commit
// for RefBranch and RefHead, "" for untracked refs.
func (r Ref) DriftKind() UpdateKind { return "" }

// MarshalText implements encoding.TextMarshaler with the canonical form.
func (r Ref) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseRef.
func (r *Ref) UnmarshalText(b []byte) error {
	v, err := ParseRef(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ValidateSHA reports whether s is a full commit id: 40 (SHA-1) or 64
// (SHA-256) lowercase hexadecimal characters. Errors wrap ErrInvalidSHA.
func ValidateSHA(s string) error { return errors.New("unimplemented") }

// ValidateRefName applies git's ref-name rules (git check-ref-format, one
// level allowed) plus plugindrift's: no leading '-', at most 255 bytes,
// valid UTF-8 without control or format characters. Errors say which rule
// was broken and wrap ErrInvalidRef.
func ValidateRefName(name string) error { return errors.New("unimplemented") }
