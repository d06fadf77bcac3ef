package github

import (
	"strings"

	"github.com/plugindrift/plugindrift/tracking"
)

// Validators are what Result.Validator carries between resolutions so that
// every request of an unchanged resolution can be conditional. They are
// opaque to callers; this is their one encoding:
//
//	tags1 <etag of page 1> <etag of page 2> …   tag:latest, semver:
//	head1 <default branch> <etag of the repository>   head
//
// Fields are separated by single spaces, which neither an entity tag
// (RFC 9110: '!' and '#'–'~' inside the quotes) nor a branch name may hold.
// A validator that does not parse is ignored: the resolution is then sent
// unconditionally, as on a first sweep.
const (
	tagsValidator = "tags1"
	headValidator = "head1"

	// maxValidatorPages bounds a tag-list validator: at most this many
	// page ETags (2,000 tags, about 1.4 KB). A longer list is fetched in
	// full every time.
	maxValidatorPages = 20
)

// encodeTags returns the validator of a tag listing whose pages, in order,
// had etags; "" when there are too many pages or one had no usable ETag.
func encodeTags(etags []string) string {
	if len(etags) == 0 || len(etags) > maxValidatorPages {
		return ""
	}
	for _, e := range etags {
		if !validETag(e) {
			return ""
		}
	}
	return tagsValidator + " " + strings.Join(etags, " ")
}

// decodeTags returns the page ETags of a tag-list validator, nil when v is
// not one.
func decodeTags(v string) []string {
	f := strings.Split(v, " ")
	if len(f) < 2 || len(f) > maxValidatorPages+1 || f[0] != tagsValidator {
		return nil
	}
	for _, e := range f[1:] {
		if !validETag(e) {
			return nil
		}
	}
	return f[1:]
}

// encodeHead returns the validator of a head resolution: the default
// branch and the ETag of the repository that named it; "" without a usable
// ETag.
func encodeHead(branch, etag string) string {
	if !validETag(etag) || tracking.ValidateRefName(branch) != nil {
		return ""
	}
	return headValidator + " " + branch + " " + etag
}

// decodeHead returns the default branch and repository ETag of a head
// validator; ok is false when v is not one.
func decodeHead(v string) (branch, etag string, ok bool) {
	f := strings.Split(v, " ")
	if len(f) != 3 || f[0] != headValidator || tracking.ValidateRefName(f[1]) != nil || !validETag(f[2]) {
		return "", "", false
	}
	return f[1], f[2], true
}

// validETag reports whether v is an entity tag that can be sent back as
// If-None-Match and kept in a validator: W/ optional, then a quoted
// string of printable ASCII without spaces or quotes, at most 256 bytes.
func validETag(v string) bool {
	v = strings.TrimPrefix(v, "W/")
	if len(v) < 2 || len(v) > 256 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	for i := 1; i < len(v)-1; i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == '"' {
			return false
		}
	}
	return true
}
