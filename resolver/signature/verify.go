package signature

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// byPlugindrift is Verification.By when the rule's own check decided.
const byPlugindrift = "plugindrift"

// Verify judges the commit res selected for ref in source and, for a tag
// ref with an annotated tag, the tag, by the rule that covers source (see
// the package documentation for how). A source no rule covers is
// not-checked, and nothing is read. The only errors are those of reading
// the objects, wrapped so that errors.Is still matches the resolver's
// sentinels; what the signatures say is never an error.
func (v *Verifier) Verify(ctx context.Context, source tracking.Source, ref tracking.Ref, res resolver.Result) (tracking.Verification, error) {
	r := v.ruleFor(source)
	if r == nil {
		return tracking.Verification{}, nil
	}
	objs, err := v.objects.ReadObjects(ctx, source, ref, res)
	if err != nil {
		return tracking.Verification{}, fmt.Errorf("signature: read objects of %s: %w", redact.Quote(source.String()), err)
	}
	out := r.judgeObjects(res.SHA, objs)
	out.Required = r.mode == Require
	out.Policy = r.fingerprint
	return out, nil
}

// verdict is what one object's signature came to.
type verdict struct {
	state  tracking.VerificationState
	signer string
	by     string
	detail string
	// unknown marks an untrusted signer the rule holds no key for (as
	// opposed to a key it holds but does not trust then): only then may
	// the host's word stand in.
	unknown bool
}

// rank orders the states for combining: the highest decides.
func rank(s tracking.VerificationState) int {
	switch s {
	case tracking.VerificationBadSignature:
		return 3
	case tracking.VerificationVerified:
		return 2
	case tracking.VerificationUntrustedSigner:
		return 1
	default:
		return 0
	}
}

// judgeObjects judges the tag (when there is one) and the commit, lets
// the host's verdict stand in for an unknown signer where the rule allows
// it, and combines them: a bad signature on either decides, then a
// verified one, then an untrusted signer, else unsigned. On a tie the tag
// decides, as it is what a tag ref names.
func (r *rule) judgeObjects(sha string, objs resolver.Objects) tracking.Verification {
	var host resolver.HostVerdict
	if objs.Host != nil {
		host = *objs.Host
	}
	var all []verdict
	if objs.Tag != nil {
		all = append(all, r.hostOverride(r.judgeTag(objs.Tag), host.Name, host.Tag))
	}
	all = append(all, r.hostOverride(r.judgeCommit(sha, objs.Commit), host.Name, host.Commit))
	best := all[0]
	for _, v := range all[1:] {
		if rank(v.state) > rank(best.state) {
			best = v
		}
	}
	return tracking.Verification{
		State:  best.state,
		Signer: clean(best.signer, tracking.MaxSignerLen),
		By:     clean(best.by, tracking.MaxSignerLen),
		Detail: clean(best.detail, tracking.MaxDetailLen),
	}
}

// judged is an object's verdict before host trust: the signer identity is
// kept for when the host's word is taken.
type judged struct {
	verdict
	object string // "tag v1.2.0", "commit 1a2b3c4d5e6f"
	person string // committer or tagger
	own    string // the rule's own finding, without the object's name
}

// hostOverride takes the host's verdict for an object whose signer the
// rule holds no key for, when the rule trusts the host; never for a bad
// or a missing signature, nor for a key the rule holds but does not trust
// for git or at that time.
func (r *rule) hostOverride(j judged, hostName string, check *resolver.HostCheck) verdict {
	if !r.trustHost || !j.unknown || check == nil || !check.Verified || hostName == "" {
		return j.verdict
	}
	return verdict{
		state:  tracking.VerificationVerified,
		signer: j.person,
		by:     hostName,
		detail: fmt.Sprintf("%s: %s verified the signature (%s); the policy holds no key for it (%s)", j.object, hostName, check.Reason, j.own),
	}
}

// judgeCommit judges a raw commit; nil is a commit the upstream says is
// unsigned.
func (r *rule) judgeCommit(sha string, raw []byte) judged {
	name := "commit " + shortSHA(sha)
	if raw == nil {
		return r.verdictOf(name, "", verdict{state: tracking.VerificationUnsigned, detail: "not signed (the upstream reports no signature)"})
	}
	o, err := splitCommit(raw)
	if err != nil {
		return r.verdictOf(name, "", verdict{state: tracking.VerificationBadSignature, detail: "cannot be read: " + err.Error()})
	}
	return r.verdictOf(name, o.Signer.Person, r.judgeSigned(o))
}

// judgeTag judges a raw annotated tag.
func (r *rule) judgeTag(raw []byte) judged {
	o, err := splitTag(raw)
	if err != nil {
		return r.verdictOf("tag", "", verdict{state: tracking.VerificationBadSignature, detail: "cannot be read: " + err.Error()})
	}
	return r.verdictOf("tag "+o.Name, o.Signer.Person, r.judgeSigned(o))
}

// verdictOf names the object in the detail and sets who judged.
func (r *rule) verdictOf(object, person string, v verdict) judged {
	v.by = byPlugindrift
	j := judged{verdict: v, object: object, person: person, own: v.detail}
	j.detail = object + ": " + v.detail
	return j
}

// judgeSigned judges one object's signature by its format.
func (r *rule) judgeSigned(o signedObject) verdict {
	if o.Signature == nil {
		return verdict{state: tracking.VerificationUnsigned, detail: "not signed"}
	}
	switch formatOf(o.Signature) {
	case formatSSH:
		return r.judgeSSH(o)
	case formatOpenPGP:
		return r.judgeOpenPGP(o)
	case formatX509:
		return verdict{state: tracking.VerificationUntrustedSigner, detail: "x509 signatures are not supported", unknown: true}
	default:
		return verdict{state: tracking.VerificationBadSignature, detail: "the signature is in no format git writes"}
	}
}

// judgeSSH checks an SSH signature under the key it carries, then whether
// an allowed signer holds that key for the git namespace at the object's
// time.
func (r *rule) judgeSSH(o signedObject) verdict {
	sig, err := sshsig.Unarmor(o.Signature)
	if err != nil {
		return verdict{state: tracking.VerificationBadSignature, detail: "malformed SSH signature: " + err.Error()}
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	bad := func(why string) verdict {
		return verdict{state: tracking.VerificationBadSignature, signer: fp, detail: fmt.Sprintf("SSH signature by %s %s", fp, why)}
	}
	if sig.Namespace != gitNamespace {
		return bad(fmt.Sprintf("is for namespace %s, not %q", redact.Quote(sig.Namespace), gitNamespace))
	}
	if err := sig.HashAlgorithm.Available(); err != nil {
		return bad("uses a hash that cannot be checked: " + err.Error())
	}
	if err := sshsig.Verify(bytes.NewReader(o.Payload), sig, sig.PublicKey, sig.HashAlgorithm, gitNamespace); err != nil {
		return bad("does not match the signed content: " + err.Error())
	}
	key := sig.PublicKey.Marshal()
	var principals []string
	why := ""
	for _, s := range r.signers {
		if !bytes.Equal(s.Key.Marshal(), key) {
			continue
		}
		ok, reason := s.validAt(o.Signer.Time)
		if !s.allowsNamespace(gitNamespace) {
			ok, reason = false, fmt.Sprintf("allowed_signers line %d does not allow namespace %q", s.Line, gitNamespace)
		}
		if ok {
			principals = append(principals, s.Principals)
		} else if why == "" {
			why = fmt.Sprintf("allowed_signers line %d: %s", s.Line, reason)
		}
	}
	switch {
	case len(principals) > 0:
		return verdict{state: tracking.VerificationVerified, signer: strings.Join(principals, ","), detail: fmt.Sprintf("SSH signature by %s (%s)", strings.Join(principals, ","), fp)}
	case why != "":
		return verdict{state: tracking.VerificationUntrustedSigner, signer: fp, detail: fmt.Sprintf("SSH signature by %s, not trusted at %s: %s", fp, o.Signer.Time.UTC().Format(time.RFC3339), why)}
	default:
		return verdict{state: tracking.VerificationUntrustedSigner, signer: fp, detail: fmt.Sprintf("SSH signature by %s, which no allowed signer holds", fp), unknown: true}
	}
}

// judgeOpenPGP checks an OpenPGP signature against the rule's keyring.
// Key expiry and revocation are judged at the signature's creation time,
// which the signature itself signs (unlike the committer time).
func (r *rule) judgeOpenPGP(o signedObject) verdict {
	bad := func(why string) verdict {
		return verdict{state: tracking.VerificationBadSignature, detail: "OpenPGP signature " + why}
	}
	block, err := armor.Decode(bytes.NewReader(o.Signature))
	if err != nil || block.Type != "PGP SIGNATURE" {
		return bad("is not an armored signature")
	}
	body, err := io.ReadAll(block.Body) // no larger than the bounded object it came from
	if err != nil {
		return bad("is malformed: " + err.Error())
	}
	p, err := packet.Read(bytes.NewReader(body))
	if err != nil {
		return bad("is malformed: " + err.Error())
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return bad("holds no signature packet")
	}
	issuer := issuerOf(sig)
	at := sig.CreationTime
	cfg := &packet.Config{Time: func() time.Time { return at }}
	_, entity, err := openpgp.VerifyDetachedSignature(r.keyring, bytes.NewReader(o.Payload), bytes.NewReader(body), cfg)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return verdict{state: tracking.VerificationUntrustedSigner, signer: issuer, detail: fmt.Sprintf("OpenPGP signature by key %s, which no trusted key matches", issuer), unknown: true}
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrSignatureExpired), errors.Is(err, pgperrors.ErrKeyRevoked):
		return verdict{state: tracking.VerificationUntrustedSigner, signer: issuer, detail: fmt.Sprintf("OpenPGP signature by key %s, not trusted at %s: %v", issuer, at.UTC().Format(time.RFC3339), err)}
	case err != nil:
		return bad(fmt.Sprintf("by key %s does not match the signed content: %v", issuer, err))
	}
	name := ""
	if id := entity.PrimaryIdentity(); id != nil {
		name = id.Name + " "
	}
	fpr := strings.ToUpper(hex.EncodeToString(entity.PrimaryKey.Fingerprint))
	return verdict{state: tracking.VerificationVerified, signer: name + fpr, detail: fmt.Sprintf("OpenPGP signature by %s%s", name, fpr)}
}

// issuerOf names the key a signature says made it: its fingerprint when
// the signature carries one, its key id otherwise.
func issuerOf(sig *packet.Signature) string {
	switch {
	case len(sig.IssuerFingerprint) > 0:
		return strings.ToUpper(hex.EncodeToString(sig.IssuerFingerprint))
	case sig.IssuerKeyId != nil:
		return fmt.Sprintf("%016X", *sig.IssuerKeyId)
	default:
		return "(no issuer)"
	}
}

// shortSHA is the first 12 hex digits of a commit id.
func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// clean makes upstream-controlled text fit a Verification field: valid
// UTF-8, control characters as spaces, credentials masked, cut to max
// bytes.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) { // as tracking.TextProblem refuses them
			return ' '
		}
		return r
	}, s)
	s = redact.Truncate(redact.String(s), max)
	if !utf8.ValidString(s) {
		return ""
	}
	return s
}
