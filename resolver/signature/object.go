package signature

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// maxObjectLen bounds a raw commit or tag object; a larger one is refused
// before it is read further. Real commits and tags are a few kilobytes;
// this leaves room for long messages and big signatures.
const maxObjectLen = 1 << 20

// errMalformed is what every parse error of an object wraps.
var errMalformed = errors.New("malformed object")

// Signature formats, by the armor line that begins them.
const (
	formatOpenPGP = "openpgp"
	formatSSH     = "ssh"
	formatX509    = "x509"
)

// signatureBegins maps the first line of an armored signature to its
// format, as git's gpg-interface does.
var signatureBegins = []struct{ line, format string }{
	{"-----BEGIN PGP SIGNATURE-----", formatOpenPGP},
	{"-----BEGIN PGP MESSAGE-----", formatOpenPGP},
	{"-----BEGIN SSH SIGNATURE-----", formatSSH},
	{"-----BEGIN SIGNED MESSAGE-----", formatX509},
}

// formatOf returns the format of an armored signature by its first line,
// "" when it is none git knows.
func formatOf(sig []byte) string {
	for _, b := range signatureBegins {
		if bytes.HasPrefix(sig, []byte(b.line)) {
			return b.format
		}
	}
	return ""
}

// identity is the committer or tagger of an object.
type identity struct {
	// Person is "Name <email>" as written.
	Person string
	// Time is when the object says it was made; zero when it says
	// nothing readable.
	Time time.Time
}

// signedObject is a raw commit or tag split into what was signed and the
// signature.
type signedObject struct {
	// Payload is the object without its signature: the bytes the signer
	// signed.
	Payload []byte
	// Signature is the armored signature, nil when the object carries
	// none.
	Signature []byte
	// Signer is the committer (commit) or tagger (tag).
	Signer identity
	// Object and Type are a tag's "object" and "type" lines; empty for a
	// commit.
	Object, Type string
	// Name is a tag's "tag" line; empty for a commit.
	Name string
}

// Signature headers of a commit. The one for the repository's hash (SHA-1
// objects, which is what plugindrift tracks) is gpgsig; a SHA-256
// repository writes gpgsig-sha256. Both are removed from the payload.
const (
	sigHeaderSHA1   = "gpgsig"
	sigHeaderSHA256 = "gpgsig-sha256"
)

// splitCommit splits a raw commit object (the body of `git cat-file
// commit`) as git's parse_buffer_signed_by_header does: the payload is the
// object without any gpgsig* header and its continuation lines, and the
// signature is the gpgsig header's value (gpgsig-sha256's when there is
// no gpgsig) with its continuation lines joined. It reads the committer
// too. A commit with no signature header has a nil Signature.
func splitCommit(raw []byte) (signedObject, error) {
	hdr, err := headers(raw, "commit", "tree")
	if err != nil {
		return signedObject{}, err
	}
	var o signedObject
	o.Payload, o.Signature = splitSignedHeader(raw, sigHeaderSHA1)
	if o.Signature == nil {
		o.Payload, o.Signature = splitSignedHeader(raw, sigHeaderSHA256)
	}
	committer, ok := hdr["committer"]
	if !ok {
		return signedObject{}, fmt.Errorf("commit has no committer line: %w", errMalformed)
	}
	if o.Signer, err = parseIdentity(committer); err != nil {
		return signedObject{}, fmt.Errorf("commit committer: %w", err)
	}
	return o, nil
}

// splitSignedHeader is git's parse_buffer_signed_by_header for one
// signature header: it walks the header lines (the rest, from the blank
// line on, is payload as it is), takes the header's value and its
// continuation lines (a leading space) as the signature, and drops every
// other header starting "gpgsig" with its continuation lines from the
// payload too.
func splitSignedHeader(raw []byte, header string) (payload, sig []byte) {
	payload = make([]byte, 0, len(raw))
	inSignature, other := false, false
	for line := raw; len(line) > 0; {
		next := len(line)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			next = i + 1
		}
		cur := line[:next]
		var value []byte
		switch {
		case inSignature && cur[0] == ' ':
			value = cur[1:]
		case bytes.HasPrefix(cur, []byte(header+" ")):
			value = cur[len(header)+1:]
			other = false
		case bytes.HasPrefix(cur, []byte("gpgsig")):
			other = true
		case other && cur[0] != ' ':
			other = false
		}
		if value != nil {
			sig = append(sig, value...)
			inSignature = true
		} else {
			if cur[0] == '\n' {
				next = len(line) // the message: copied whole
				cur = line
			}
			if !other {
				payload = append(payload, cur...)
			}
			inSignature = false
		}
		line = line[next:]
	}
	return payload, sig
}

// splitTag splits a raw tag object (the body of `git cat-file tag`) as
// git's parse_signature does: the signature is everything from the last
// line that begins an armored signature (OpenPGP, SSH or x509) to the
// end, the payload everything before it. It reads the object, type, tag
// and tagger lines too; a tag without a tagger (very old git) has a zero
// Signer.
func splitTag(raw []byte) (signedObject, error) {
	hdr, err := headers(raw, "tag", "object")
	if err != nil {
		return signedObject{}, err
	}
	o := signedObject{Object: hdr["object"], Type: hdr["type"], Name: hdr["tag"]}
	if o.Type == "" {
		return signedObject{}, fmt.Errorf("tag has no type line: %w", errMalformed)
	}
	if o.Name == "" {
		return signedObject{}, fmt.Errorf("tag has no tag line: %w", errMalformed)
	}
	if tracking.ValidateSHA(o.Object) != nil {
		return signedObject{}, fmt.Errorf("tag object line %s is not an object id: %w", redact.Quote(o.Object), errMalformed)
	}
	if tagger, ok := hdr["tagger"]; ok {
		if o.Signer, err = parseIdentity(tagger); err != nil {
			return signedObject{}, fmt.Errorf("tag tagger: %w", err)
		}
	}
	at := len(raw)
	for pos := 0; pos < len(raw); {
		if formatOf(raw[pos:]) != "" {
			at = pos
		}
		i := bytes.IndexByte(raw[pos:], '\n')
		if i < 0 {
			break
		}
		pos += i + 1
	}
	o.Payload = raw[:at:at]
	if at < len(raw) {
		o.Signature = raw[at:]
	}
	return o, nil
}

// headers checks the bounds and the header section of a raw object of the
// given kind, which must begin with the first header, and returns the
// first value of each header (continuation lines are skipped). Errors wrap
// errMalformed and never quote more than a short part of the input.
func headers(raw []byte, kind, first string) (map[string]string, error) {
	if len(raw) > maxObjectLen {
		return nil, fmt.Errorf("%s object is %d bytes, more than the %d accepted: %w", kind, len(raw), maxObjectLen, errMalformed)
	}
	if !bytes.HasPrefix(raw, []byte(first+" ")) {
		return nil, fmt.Errorf("%s object does not begin with a %s line: %w", kind, first, errMalformed)
	}
	hdr := map[string]string{}
	for n, line := 1, raw; len(line) > 0 && line[0] != '\n'; n++ {
		i := bytes.IndexByte(line, '\n')
		if i < 0 {
			return nil, fmt.Errorf("%s object header line %d has no end: %w", kind, n, errMalformed)
		}
		cur := string(line[:i])
		line = line[i+1:]
		if cur[0] == ' ' {
			continue
		}
		key, value, ok := strings.Cut(cur, " ")
		if !ok || key == "" {
			return nil, fmt.Errorf("%s object header line %d is not \"key value\": %w", kind, n, errMalformed)
		}
		if _, seen := hdr[key]; !seen {
			hdr[key] = value
		}
	}
	return hdr, nil
}

// parseIdentity reads "Name <email> 1700000000 +0100" as git writes a
// committer or tagger. A date git could not have written leaves Time zero
// rather than failing: the date only bounds key validity.
func parseIdentity(s string) (identity, error) {
	end := strings.LastIndexByte(s, '>')
	if end < 0 || !strings.Contains(s[:end], "<") || !utf8.ValidString(s[:end+1]) {
		return identity{}, fmt.Errorf("identity %s is not \"Name <email> time zone\": %w", redact.Quote(s), errMalformed)
	}
	id := identity{Person: s[:end+1]}
	fields := strings.Fields(s[end+1:])
	if len(fields) == 2 && len(fields[1]) == 5 && (fields[1][0] == '+' || fields[1][0] == '-') {
		secs, errSecs := strconv.ParseInt(fields[0], 10, 64)
		zone, errZone := strconv.Atoi(fields[1][1:])
		if errSecs == nil && errZone == nil && secs >= 0 && secs < 1<<40 {
			offset := (zone/100*60 + zone%100) * 60
			if fields[1][0] == '-' {
				offset = -offset
			}
			id.Time = time.Unix(secs, 0).In(time.FixedZone(fields[1], offset))
		}
	}
	return id, nil
}
