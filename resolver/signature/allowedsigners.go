package signature

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// gitNamespace is the SSH signature namespace git signs commits and tags
// in.
const gitNamespace = "git"

// maxAllowedSignersLen bounds an allowed_signers file.
const maxAllowedSignersLen = 1 << 20

// allowedSigner is one line of an allowed_signers file.
type allowedSigner struct {
	// Line is its line number, for messages.
	Line int
	// Principals are the comma-separated principals as written.
	Principals string
	// Namespaces are the patterns of the namespaces="…" option; nil
	// when the line has none (every namespace).
	Namespaces []string
	// ValidAfter and ValidBefore bound when the key may sign; zero when
	// the line says nothing.
	ValidAfter, ValidBefore time.Time
	// Key is the public key; Fingerprint its SHA256:… fingerprint.
	Key         ssh.PublicKey
	Fingerprint string
}

// allowsNamespace reports whether the line lets its key sign in ns, as
// OpenSSH's match_pattern_list does: a matching "!pattern" refuses, and
// otherwise some pattern must match.
func (s allowedSigner) allowsNamespace(ns string) bool {
	if s.Namespaces == nil {
		return true
	}
	allowed := false
	for _, p := range s.Namespaces {
		if neg, ok := strings.CutPrefix(p, "!"); ok {
			if wildcardMatch(neg, ns) {
				return false
			}
		} else if wildcardMatch(p, ns) {
			allowed = true
		}
	}
	return allowed
}

// validAt says whether the line lets its key sign at t, and if not, why.
// A bounded line and an unknown time (zero) are not valid: the bound
// cannot be shown to hold.
func (s allowedSigner) validAt(t time.Time) (bool, string) {
	switch {
	case (!s.ValidAfter.IsZero() || !s.ValidBefore.IsZero()) && t.IsZero():
		return false, "the object gives no time to check the key's validity against"
	case !s.ValidAfter.IsZero() && t.Before(s.ValidAfter):
		return false, "the key is valid only after " + s.ValidAfter.UTC().Format(time.RFC3339)
	case !s.ValidBefore.IsZero() && !t.Before(s.ValidBefore):
		return false, "the key was valid only before " + s.ValidBefore.UTC().Format(time.RFC3339)
	}
	return true, ""
}

// parseAllowedSigners reads git's gpg.ssh.allowedSignersFile format, the
// one ssh-keygen(1) describes under ALLOWED SIGNERS: one signer a line,
// "principals [options] keytype base64-key [comment]", with blank lines
// and "#" comments. The options are namespaces="…", valid-after="…" and
// valid-before="…" (YYYYMMDD[HHMM[SS]][Z], read in UTC with or without
// the Z, since the zone of the machine that wrote the file is unknown);
// cert-authority is refused because certificates are not supported.
// Errors begin "allowed_signers", name the line and never quote a key.
func parseAllowedSigners(b []byte) ([]allowedSigner, error) {
	if len(b) > maxAllowedSignersLen {
		return nil, fmt.Errorf("allowed_signers is %d bytes, more than the %d accepted", len(b), maxAllowedSignersLen)
	}
	var out []allowedSigner
	for n, line := range bytes.Split(b, []byte("\n")) {
		text := strings.TrimSpace(strings.TrimSuffix(string(line), "\r"))
		if text == "" || text[0] == '#' {
			continue
		}
		s, err := parseSignerLine(text)
		if err != nil {
			return nil, fmt.Errorf("allowed_signers line %d: %w", n+1, err)
		}
		s.Line = n + 1
		out = append(out, s)
	}
	return out, nil
}

// parseSignerLine reads one non-blank, non-comment line. As in OpenSSH,
// the field after the principals is the key type when it names one, and
// the options otherwise.
func parseSignerLine(text string) (allowedSigner, error) {
	var s allowedSigner
	principals, rest, err := nextField(text)
	if err != nil {
		return s, fmt.Errorf("principals: %v", err)
	}
	s.Principals = strings.Trim(principals, `"`)
	if s.Principals == "" {
		return s, errors.New("no principals")
	}
	field, after, err := nextField(rest)
	if err != nil {
		return s, err
	}
	if !isKeyType(field) {
		if err := s.parseOptions(field); err != nil {
			return s, err
		}
		if field, after, err = nextField(after); err != nil {
			return s, err
		}
	}
	if field == "" {
		return s, errors.New("no key: want \"principals [options] keytype base64-key [comment]\"")
	}
	if !isKeyType(field) {
		return s, fmt.Errorf("key type %s is not one ssh signs with", redact.Quote(field))
	}
	if strings.HasSuffix(field, certSuffix) {
		return s, fmt.Errorf("the key is a %s certificate: certificates are not supported; list the signer's own key instead", redact.Quote(field))
	}
	encoded, _, _ := nextField(after)
	blob, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || encoded == "" {
		return s, fmt.Errorf("the %s key is not valid base64", field)
	}
	if s.Key, err = ssh.ParsePublicKey(blob); err != nil {
		return s, fmt.Errorf("the %s key cannot be read: %v", field, err)
	}
	if s.Key.Type() != field {
		return s, fmt.Errorf("the key is %s, not the %s the line says", s.Key.Type(), field)
	}
	s.Fingerprint = ssh.FingerprintSHA256(s.Key)
	return s, nil
}

// keyTypes are the SSH public key types a signature can be made with.
var keyTypes = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoRSA,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKECDSA256,
}

// certSuffix ends the type of an OpenSSH certificate.
const certSuffix = "-cert-v01@openssh.com"

// isKeyType reports whether s names an SSH key type, certificates
// included (so that they are refused as such, not as options).
func isKeyType(s string) bool {
	for _, t := range keyTypes {
		if s == t {
			return true
		}
	}
	return strings.HasSuffix(s, certSuffix)
}

// nextField returns the first whitespace-separated field of s, in which
// double-quoted spans may hold spaces, and what follows it.
func nextField(s string) (field, rest string, err error) {
	s = strings.TrimLeft(s, " \t")
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case (c == ' ' || c == '\t') && !quoted:
			return s[:i], s[i:], nil
		}
	}
	if quoted {
		return "", "", errors.New("a quote is not closed")
	}
	return s, "", nil
}

// parseOptions reads the comma-separated options field; values are
// double-quoted and may hold commas.
func (s *allowedSigner) parseOptions(field string) error {
	for field != "" {
		var opt string
		quoted, end := false, len(field)
		for i := 0; i < len(field); i++ {
			if field[i] == '"' {
				quoted = !quoted
			} else if field[i] == ',' && !quoted {
				end = i
				break
			}
		}
		opt, field = field[:end], strings.TrimPrefix(field[end:], ",")
		name, value, hasValue := strings.Cut(opt, "=")
		name = strings.ToLower(name)
		if hasValue {
			if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
				return fmt.Errorf("option %s: the value must be double-quoted", redact.Quote(name))
			}
			value = value[1 : len(value)-1]
		}
		var err error
		switch name {
		case "cert-authority":
			return errors.New("cert-authority: certificates are not supported; list each signer's own key instead")
		case "namespaces":
			if !hasValue || value == "" {
				return errors.New(`namespaces: want namespaces="git,…"`)
			}
			s.Namespaces = strings.Split(value, ",")
		case "valid-after":
			s.ValidAfter, err = parseValidity(name, value, hasValue)
		case "valid-before":
			s.ValidBefore, err = parseValidity(name, value, hasValue)
		default:
			return fmt.Errorf("unknown option %s: want namespaces, valid-after or valid-before", redact.Quote(name))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseValidity reads YYYYMMDD[HHMM[SS]][Z].
func parseValidity(name, value string, hasValue bool) (time.Time, error) {
	v := strings.TrimSuffix(value, "Z")
	layout := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}[len(v)]
	if !hasValue || layout == "" {
		return time.Time{}, fmt.Errorf("%s: want %s=\"YYYYMMDD[HHMM[SS]][Z]\"", name, name)
	}
	t, err := time.ParseInLocation(layout, v, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %s is not a date YYYYMMDD[HHMM[SS]][Z]", name, redact.Quote(value))
	}
	return t, nil
}

// wildcardMatch matches s against an OpenSSH pattern: "*" is any run of
// characters, "?" any one.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
