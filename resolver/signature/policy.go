package signature

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Mode is what a rule does with its verdict.
type Mode int

const (
	// Record shows the verdict on the entry and blocks nothing. It is
	// the zero Mode.
	Record Mode = iota
	// Require blocks an entry that is not verified: Apply refuses it
	// unless an operator overrides, and auto-apply never takes it.
	Require
)

// String is the mode as written: "record" or "require".
func (m Mode) String() string {
	switch m {
	case Record:
		return "record"
	case Require:
		return "require"
	default:
		return fmt.Sprintf("Mode(%d)", int(m))
	}
}

// Rule is the trust policy of some repositories.
type Rule struct {
	// Repositories are the repositories the rule covers, as patterns on
	// a source's repository key (tracking.RepoKey, e.g.
	// "github.com/acme/widget" or "/srv/git/widget") matched on whole
	// path segments: "github.com" covers every repository on that host,
	// "github.com/acme" those of the owner, "github.com/acme/widget" one
	// repository and "*" every repository. Matching ignores case. At
	// least one is required.
	Repositories []string
	// Mode is what the verdict does: Record (the default) or Require.
	Mode Mode
	// AllowedSigners are the trusted SSH signers, in git's
	// gpg.ssh.allowedSignersFile format (ssh-keygen(1), ALLOWED
	// SIGNERS). Only lines whose namespaces (when given) allow "git"
	// count. Optional.
	AllowedSigners []byte
	// OpenPGPKeys are the trusted OpenPGP public keys, armored ("gpg
	// --export --armor"), one block or several one after another.
	// Optional.
	OpenPGPKeys []byte
	// TrustHost accepts the upstream host's own verification (GitHub's
	// verification field) for a signature whose key the rule does not
	// hold (or cannot check: x509). It never overrules a signature the
	// rule's own check finds bad, a missing signature, or a key the rule
	// holds but does not trust for git or at the signing time. Defaults to
	// false.
	TrustHost bool
}

// Policy is an ordered list of rules: the first rule that matches a
// source's repository judges it, and a source no rule matches (or a
// local source) is not checked.
type Policy struct {
	// Rules are tried in order; the first that covers a source judges it.
	Rules []Rule
}

// rule is a Rule with its keys parsed, made only by compileRule.
type rule struct {
	patterns    []string
	mode        Mode
	signers     []allowedSigner
	keyring     openpgp.EntityList
	trustHost   bool
	fingerprint string
}

// compileRule validates r and parses its keys.
func compileRule(r Rule) (*rule, error) {
	c := &rule{mode: r.Mode, trustHost: r.TrustHost}
	if r.Mode != Record && r.Mode != Require {
		return nil, fmt.Errorf("mode %d: want Record or Require", int(r.Mode))
	}
	if len(r.Repositories) == 0 {
		return nil, errors.New(`no repositories: name at least one ("github.com/acme", "*")`)
	}
	for _, p := range r.Repositories {
		n, err := normalisePattern(p)
		if err != nil {
			return nil, err
		}
		c.patterns = append(c.patterns, n)
	}
	var err error
	if c.signers, err = parseAllowedSigners(r.AllowedSigners); err != nil {
		return nil, err
	}
	if c.keyring, err = parseOpenPGPKeys(r.OpenPGPKeys); err != nil {
		return nil, err
	}
	c.fingerprint = c.computeFingerprint()
	return c, nil
}

// normalisePattern lowercases a repository pattern and drops a trailing
// "/", as RepoKey does; it refuses patterns that could match nothing or
// that hold a wildcard anywhere but alone.
func normalisePattern(p string) (string, error) {
	n := strings.ToLower(strings.TrimRight(p, "/"))
	if p == "*" {
		return p, nil
	}
	bad := n == "" || strings.ContainsAny(n, "*?[ \t") || strings.Contains(n, "//") || strings.HasSuffix(n, ".git")
	for _, r := range n {
		bad = bad || r < 0x20 || r == 0x7f
	}
	if bad {
		return "", fmt.Errorf(`repository pattern %s: want a repository key or a prefix of one in whole segments ("github.com", "github.com/acme", "github.com/acme/widget", "/srv/git/widget"), without ".git", or "*"`, redact.Quote(p))
	}
	return n, nil
}

// matches reports whether the rule covers the repository key.
func (c *rule) matches(key string) bool {
	for _, p := range c.patterns {
		if p == "*" || key == p || strings.HasPrefix(key, p+"/") {
			return true
		}
	}
	return false
}

// computeFingerprint hashes the rule's normalised content: patterns,
// mode, host trust, each allowed signer's principals, options and key, and
// each OpenPGP key as it serialises. Comments, blank lines and key order
// do not change it; any change of trust does.
func (c *rule) computeFingerprint() string {
	var lines []string
	for _, p := range c.patterns {
		lines = append(lines, "repository "+p)
	}
	for _, s := range c.signers {
		lines = append(lines, fmt.Sprintf("ssh %q %q %d %d %s", s.Principals, s.Namespaces, s.ValidAfter.Unix(), s.ValidBefore.Unix(), s.Fingerprint))
	}
	for _, e := range c.keyring {
		var b bytes.Buffer
		_ = e.Serialize(&b) // a parsed public key serialises
		lines = append(lines, "openpgp "+hex.EncodeToString(b.Bytes()))
	}
	sort.Strings(lines)
	h := sha256.New()
	fmt.Fprintf(h, "plugindrift trust rule v1\nmode %s\ntrust-host %t\n", c.mode, c.trustHost)
	for _, l := range lines {
		fmt.Fprintln(h, l)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// maxOpenPGPKeysLen bounds Rule.OpenPGPKeys.
const maxOpenPGPKeysLen = 4 << 20

// publicKeyBlock is the armor type of an exported public key.
const publicKeyBlock = "PGP PUBLIC KEY BLOCK"

// parseOpenPGPKeys reads one or several armored public key blocks.
func parseOpenPGPKeys(b []byte) (openpgp.EntityList, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	if len(b) > maxOpenPGPKeysLen {
		return nil, fmt.Errorf("OpenPGP keys are %d bytes, more than the %d accepted", len(b), maxOpenPGPKeysLen)
	}
	// armor.Decode reads past the end of its block, so each block is
	// cut out and decoded on its own.
	begin := []byte("-----BEGIN PGP ")
	var list openpgp.EntityList
	for n := 1; ; n++ {
		at := bytes.Index(b, begin)
		if at < 0 {
			break
		}
		b = b[at:]
		next := bytes.Index(b[len(begin):], begin)
		block := b
		if next >= 0 {
			block, b = b[:len(begin)+next], b[len(begin)+next:]
		} else {
			b = nil
		}
		p, err := armor.Decode(bytes.NewReader(block))
		if err != nil {
			return nil, fmt.Errorf("OpenPGP key block %d is not valid armor: %v", n, err)
		}
		if p.Type != publicKeyBlock {
			return nil, fmt.Errorf("OpenPGP key block %d is a %s, not a %s: export the public key (gpg --export --armor)", n, redact.Quote(p.Type), publicKeyBlock)
		}
		el, err := openpgp.ReadKeyRing(p.Body)
		if err != nil {
			return nil, fmt.Errorf("OpenPGP key block %d cannot be read: %v", n, err)
		}
		for _, e := range el {
			if e.PrivateKey != nil {
				return nil, fmt.Errorf("OpenPGP key block %d holds a private key: give only the public key (gpg --export --armor)", n)
			}
		}
		list = append(list, el...)
		if b == nil {
			break
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("OpenPGP keys hold no %q block", "-----BEGIN "+publicKeyBlock+"-----")
	}
	return list, nil
}

// Verifier judges the signatures of the commits (and annotated tags) that
// resolutions select against a Policy. It implements drift.Verifier. It
// is safe for concurrent use: everything it holds is read-only after New.
type Verifier struct {
	objects resolver.ObjectReader
	rules   []*rule
}

// New checks the policy and parses its keys once. objects reads the raw
// objects to judge; pass the host's *resolver.Registry. A bad rule is an
// error (matching tracking.ErrInvalidArgument) that names the rule by its
// index in p.Rules.
func New(objects resolver.ObjectReader, p Policy) (*Verifier, error) {
	if objects == nil {
		return nil, fmt.Errorf("signature: a nil ObjectReader: pass the host's *resolver.Registry: %w", tracking.ErrInvalidArgument)
	}
	v := &Verifier{objects: objects}
	for i, r := range p.Rules {
		c, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("signature: rule %d: %s: %w", i, err, tracking.ErrInvalidArgument)
		}
		v.rules = append(v.rules, c)
	}
	return v, nil
}

// ruleFor returns the first rule that covers source, nil when none does
// or the source has no upstream.
func (v *Verifier) ruleFor(source tracking.Source) *rule {
	key := source.Repository()
	if !key.IsValid() {
		return nil
	}
	for _, r := range v.rules {
		if r.matches(key.String()) {
			return r
		}
	}
	return nil
}

// Policy returns the fingerprint of the rule that covers source
// ("sha256:" and 16 hex digits of its normalised content), or "" when no
// rule does. The fingerprint changes whenever the rule's trust does.
func (v *Verifier) Policy(source tracking.Source) string {
	if r := v.ruleFor(source); r != nil {
		return r.fingerprint
	}
	return ""
}
