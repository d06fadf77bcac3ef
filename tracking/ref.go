package tracking

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"

	"github.com/plugindrift/plugindrift/internal/redact"
)

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

// Ref is what an install follows upstream: an immutable, comparable value
// (usable as a map key, compared with ==) made only by [ParseRef],
// [BranchRef], [TagRef], [SemverRef] and [SHARef], so every Ref is valid.
//
// The zero Ref is the ref "none", the one ParseRef returns for "" and
// "none": an install or source without a ref needs no value set.
type Ref struct {
	// kind is "" for none, so that the zero Ref and ParseRef("none") are
	// the same value.
	kind RefKind
	// name is the variable part: the lowercase hex for RefSHA, the tag name
	// for RefTag, the constraint as written (trimmed) for RefSemver, the
	// branch name for RefBranch; empty for the other kinds.
	name string
}

// Kind is the shape of the ref; RefNone for the zero Ref.
func (r Ref) Kind() RefKind {
	if r.kind == "" {
		return RefNone
	}
	return r.kind
}

// Name is the branch name of a RefBranch or the tag name of a RefTag, and
// "" for every other kind.
func (r Ref) Name() string {
	if r.kind == RefBranch || r.kind == RefTag {
		return r.name
	}
	return ""
}

// Constraint is the constraint of a RefSemver as written (trimmed of
// surrounding spaces), and "" for every other kind.
func (r Ref) Constraint() string {
	if r.kind == RefSemver {
		return r.name
	}
	return ""
}

// SHA is the lowercase commit id of a RefSHA, and "" for every other kind.
func (r Ref) SHA() string {
	if r.kind == RefSHA {
		return r.name
	}
	return ""
}

// refShapes lists the accepted ref shapes; every ParseRef error ends with it.
const refShapes = "none, sha:<40|64 hex>, tag:<name>, tag:latest, semver:<constraint>, branch:<name>, <name>, head"

// Limits of the ref grammar.
const (
	maxRefNameLen    = 255
	maxConstraintLen = 255
)

// ParseRef parses a tracked ref (see the package documentation for the
// grammar). Errors wrap ErrInvalidRef, say what was wrong and list the
// accepted shapes.
//
// The input is not trimmed: " main" is rejected (a ref name cannot contain
// a space), only a semver constraint is trimmed of surrounding spaces.
// "" and "none" both return the zero Ref (none). Keywords are lowercase:
// "HEAD" is rejected with a hint to write "head", and "Head" or "NONE" are
// branch names. Tag and branch names are checked by [ValidateRefName], must
// not be "HEAD" and must not start with "refs/" (write the short name).
// Names are kept byte for byte, look-alike Unicode letters included.
func ParseRef(s string) (Ref, error) {
	return refResult(s)(parseRef(s))
}

// BranchRef returns the ref that follows branch name, the one ParseRef
// returns for "branch:"+name. Errors wrap ErrInvalidRef.
func BranchRef(name string) (Ref, error) {
	return refResult("branch:" + name)(namedRef(RefBranch, "branch ", name))
}

// TagRef returns the ref that follows the exact tag name, the one ParseRef
// returns for "tag:"+name. The name "latest" is refused: "tag:latest"
// selects the highest stable version (ParseRef("tag:latest")), so an exact
// tag of that name cannot be written. Errors wrap ErrInvalidRef.
func TagRef(name string) (Ref, error) {
	if name == "latest" {
		return refResult("tag:"+name)(Ref{}, `an exact tag named "latest" cannot be tracked: tag:latest selects the highest stable version (ParseRef("tag:latest"))`)
	}
	return refResult("tag:" + name)(namedRef(RefTag, "tag ", name))
}

// SemverRef returns the ref that follows the highest tag satisfying a
// Masterminds v3 constraint, the one ParseRef returns for
// "semver:"+constraint. Errors wrap ErrInvalidRef.
func SemverRef(constraint string) (Ref, error) {
	return refResult("semver:" + constraint)(semverRef(constraint))
}

// SHARef returns the ref pinned to a full commit id (40 or 64 hex digits in
// any case, stored in lowercase), the one ParseRef returns for "sha:"+hex.
// Errors wrap ErrInvalidRef.
func SHARef(hex string) (Ref, error) {
	return refResult("sha:" + hex)(shaRef(hex))
}

// refResult turns the (ref, problem) answer of a ref checker into
// ParseRef's (ref, error), quoting input in the error. It is the one place
// ref errors are worded.
func refResult(input string) func(Ref, string) (Ref, error) {
	return func(r Ref, problem string) (Ref, error) {
		if problem != "" {
			return Ref{}, fmt.Errorf("tracking: %w %s: %s (accepted: %s)", ErrInvalidRef, redact.Quote(input), problem, refShapes)
		}
		return r, nil
	}
}

// parseRef is ParseRef without the error wrapping: it returns the ref, or a
// description of the broken rule. ParseSource uses it for "#ref".
func parseRef(s string) (Ref, string) {
	switch s {
	case "", "none":
		return Ref{}, ""
	case "head":
		return Ref{kind: RefHead}, ""
	case "tag:latest":
		return Ref{kind: RefLatest}, ""
	}
	kind, rest, hasKind := strings.Cut(s, ":")
	if !hasKind {
		return namedRef(RefBranch, "", s)
	}
	switch kind {
	case "sha":
		return shaRef(rest)
	case "tag":
		return namedRef(RefTag, "tag ", rest)
	case "branch":
		return namedRef(RefBranch, "branch ", rest)
	case "semver":
		return semverRef(rest)
	default:
		return Ref{}, fmt.Sprintf("unknown ref kind %s (a ':' cannot appear in a ref name)", redact.Quote(kind))
	}
}

// namedRef checks the name of a tag or branch ref. label prefixes problems
// ("tag ", "branch ", "" for a bare name).
func namedRef(kind RefKind, label, name string) (Ref, string) {
	if p := refNameProblem(name); p != "" {
		return Ref{}, label + "name " + p
	}
	if name == "HEAD" {
		if kind == RefTag {
			return Ref{}, `tag name "HEAD" is ambiguous with the remote's HEAD; write head to follow the default branch`
		}
		return Ref{}, `"HEAD" is written head (the remote's default branch)`
	}
	if strings.HasPrefix(name, "refs/") {
		return Ref{}, label + "name starts with \"refs/\": write the short name, e.g. branch:main or tag:v1.2.3"
	}
	return Ref{kind: kind, name: name}, ""
}

// shaRef checks a full commit id in any case and lowercases it.
func shaRef(hex string) (Ref, string) {
	if len(hex) != 40 && len(hex) != 64 {
		return Ref{}, fmt.Sprintf("sha: want 40 or 64 hex digits, got %d bytes", len(hex))
	}
	for i := 0; i < len(hex); i++ {
		if !isHex(hex[i]) {
			return Ref{}, fmt.Sprintf("sha: byte %d (%q) is not a hex digit", i, hex[i])
		}
	}
	return Ref{kind: RefSHA, name: strings.ToLower(hex)}, ""
}

// semverRef checks a Masterminds v3 constraint, trimmed of surrounding
// spaces and kept as written.
func semverRef(raw string) (Ref, string) {
	c := strings.Trim(raw, " ")
	switch {
	case c == "":
		return Ref{}, "semver: empty constraint (e.g. semver:^1.2 or semver:>=1.0 <2)"
	case len(c) > maxConstraintLen:
		return Ref{}, fmt.Sprintf("semver: constraint longer than %d bytes (%d)", maxConstraintLen, len(c))
	}
	for _, r := range c {
		if isControlOrFormat(r) {
			return Ref{}, fmt.Sprintf("semver: constraint contains control character %U", r)
		}
	}
	if _, err := semver.NewConstraint(c); err != nil {
		return Ref{}, fmt.Sprintf("semver: not a valid constraint (%s); e.g. semver:^1.2, semver:~1.4.0, semver:>=1.0 <2", redact.Short(err.Error()))
	}
	return Ref{kind: RefSemver, name: c}, ""
}

// String returns the canonical form, which ParseRef accepts and returns
// unchanged: "none", "sha:<hex>", "tag:<name>", "tag:latest",
// "semver:<constraint>", "branch:<name>", "head". The zero Ref is "none".
func (r Ref) String() string {
	switch r.kind {
	case "":
		return "none"
	case RefLatest:
		return "tag:latest"
	case RefHead:
		return "head"
	default:
		return string(r.kind) + ":" + r.name
	}
}

// Tracked reports whether the sweeper resolves this ref (every kind but none
// and sha).
func (r Ref) Tracked() bool { return r.DriftKind() != "" }

// DriftKind is the kind of update a movement of this ref produces:
// tag-moved for RefTag, new-version for RefLatest and RefSemver, new-commit
// for RefBranch and RefHead, "" for untracked refs.
func (r Ref) DriftKind() UpdateKind {
	switch r.kind {
	case RefTag:
		return KindTagMoved
	case RefLatest, RefSemver:
		return KindNewVersion
	case RefBranch, RefHead:
		return KindNewCommit
	default:
		return ""
	}
}

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
// Uppercase is rejected because stored ids are canonical; ParseRef accepts
// "sha:" in any case and lowercases it.
func ValidateSHA(s string) error {
	if len(s) != 40 && len(s) != 64 {
		return fmt.Errorf("tracking: %w %s: want 40 or 64 lowercase hex digits, got %d bytes", ErrInvalidSHA, redact.Quote(s), len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'f' {
			continue
		}
		if 'A' <= c && c <= 'F' {
			return fmt.Errorf("tracking: %w %s: uppercase hex digit %q at byte %d; commit ids are stored in lowercase", ErrInvalidSHA, redact.Quote(s), c, i)
		}
		return fmt.Errorf("tracking: %w %s: byte %d (%q) is not a hex digit", ErrInvalidSHA, redact.Quote(s), i, c)
	}
	return nil
}

// ValidateSHAs is ValidateSHA for each of shas, in order; it returns the
// first error.
func ValidateSHAs(shas ...string) error {
	for _, s := range shas {
		if err := ValidateSHA(s); err != nil {
			return err
		}
	}
	return nil
}

// ValidateRefName applies git's ref-name rules (git check-ref-format, one
// level allowed) plus plugindrift's: no leading '-', at most 255 bytes,
// valid UTF-8 without control or format characters. Errors say which rule
// was broken and wrap ErrInvalidRef.
//
// The rules, each with its own message: not empty; at most 255 bytes; no
// leading '-' (it could be read as a command-line option); valid UTF-8; no
// ASCII control characters; no space or any of ~ ^ : ? * [ \; no ".."; no
// "@{"; not the single name "@"; no leading or trailing '/' and no "//"; no
// component beginning with '.' or ending with ".lock"; no trailing '.'.
//
// Stricter than git: git accepts any byte from 0x80 up, but ValidateRefName
// also rejects Unicode control characters, format characters (category Cf,
// such as the right-to-left override U+202E, which makes a name display
// differently from what it is) and Unicode whitespace (such as U+00A0).
// Unicode letters, look-alikes included (Cyrillic 'а'), are accepted as
// git accepts them; callers compare names byte for byte.
func ValidateRefName(name string) error {
	if p := refNameProblem(name); p != "" {
		return fmt.Errorf("tracking: %w name %s: %s", ErrInvalidRef, redact.Quote(name), p)
	}
	return nil
}

// refNameProblem describes the first rule of ValidateRefName that name
// breaks, or returns "".
func refNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > maxRefNameLen:
		return fmt.Sprintf("is longer than %d bytes (%d)", maxRefNameLen, len(name))
	case name[0] == '-':
		return `begins with "-" (it could be read as a command-line option)`
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	for _, r := range name {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("contains control character %U", r)
		case r == ' ':
			return "contains a space"
		case strings.ContainsRune(`~^:?*[\`, r):
			return fmt.Sprintf(`contains %q (git ref names cannot contain space ~ ^ : ? * [ \)`, r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("contains invisible format character %U", r)
		case unicode.IsSpace(r):
			return fmt.Sprintf("contains whitespace %U", r)
		}
	}
	switch {
	case strings.Contains(name, ".."):
		return `contains ".."`
	case strings.Contains(name, "@{"):
		return `contains "@{"`
	case name == "@":
		return `is the single name "@"`
	case name[0] == '/':
		return `begins with "/"`
	case name[len(name)-1] == '/':
		return `ends with "/"`
	case strings.Contains(name, "//"):
		return `contains "//"`
	}
	for comp := range strings.SplitSeq(name, "/") {
		if comp[0] == '.' {
			return fmt.Sprintf(`has a component beginning with "." (%s)`, redact.Quote(comp))
		}
		if strings.HasSuffix(comp, ".lock") {
			return fmt.Sprintf(`has a component ending with ".lock" (%s)`, redact.Quote(comp))
		}
	}
	if name[len(name)-1] == '.' {
		return `ends with "."`
	}
	return ""
}

// isControlOrFormat reports control characters (ASCII and Unicode) and
// invisible format characters such as U+202E.
func isControlOrFormat(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
