// Package signature judges the signatures of the git objects a resolution
// selected against a trust policy. Its [Verifier] implements
// drift.Verifier: build one with [New] from a [Policy] and the host's
// *resolver.Registry (a [resolver.ObjectReader]) and give it to the
// sweeper.
//
// # Why in-process
//
// Signatures are checked here, with github.com/ProtonMail/go-crypto
// (OpenPGP) and github.com/hiddeco/sshsig (SSH signatures in git's "git"
// namespace), not by running `git verify-commit` with a throwaway
// configuration. There is then one judge for both resolvers (the GitHub
// resolver has no local repository, only objects rebuilt from the API);
// no gpg or ssh-keygen binary, GNUPGHOME or allowed_signers file is needed
// at run time; no human-readable output is parsed; and the trust decision
// is code the tests exercise.
//
// # The policy
//
// A [Policy] is an ordered list of [Rule]s. The first rule whose
// Repositories pattern covers a source's repository key
// (tracking.Source.Repository, matched on whole path segments: a host, an
// owner, one repository, or "*") judges it; a source no rule covers, and
// a local source, is not checked ([Verifier.Policy] returns ""). A rule
// trusts SSH signers in git's allowed_signers format and OpenPGP public
// keys, may accept the upstream host's own verification (TrustHost), and
// either records its verdict ([Record]) or requires verification
// ([Require]). Keys are parsed once, by New, and a bad key or line is an
// error there that names the rule. [Verifier.Policy] names a rule by a
// fingerprint of its normalised content, so that any change of trust
// makes the sweeper check again, while comments and key order do not.
//
// # The verdict
//
// The commit and, for tag refs with an annotated tag, the tag are judged
// one by one:
//
//   - no signature: unsigned (a commit the upstream handed over as nil is
//     unsigned);
//   - SSH: the signature must verify under the key it carries and be made
//     in the "git" namespace, or it is a bad signature; the key must then be
//     on an allowed_signers line whose namespaces allow "git" and whose
//     valid-after/valid-before hold, or the signer is untrusted (Signer is
//     the key's SHA256: fingerprint); otherwise it is verified by the
//     line's principals;
//   - OpenPGP: an issuer the keyring does not hold is an untrusted signer
//     (Signer is its fingerprint or key id), as is a key expired or
//     revoked when it signed; a signature that does not verify, or is
//     malformed, is bad; otherwise it is verified by the key's primary user
//     id and fingerprint;
//   - x509: an untrusted signer, since x509 signatures are not supported.
//
// Then a bad signature on either object decides, else a verified one,
// else an untrusted signer, else the commit is unsigned; on a tie the tag
// decides, and the Detail names the object that did ("tag v1.2.0: …",
// "commit 1a2b3c4d5e6f: …"). With TrustHost, an object whose signer the
// rule does not know but that the host reports verified counts as
// verified by the host (By is the host's name, Signer the committer or
// tagger); the host's word never overrules a bad or a missing signature,
// nor a key the rule holds but does not trust for git or at that time.
//
// # Time
//
// An SSH signature carries no time, so allowed_signers validity is judged
// at the committer time of a commit and the tagger time of a tag, as git
// does when it passes the signing time to ssh-keygen; a line with a
// validity bound does not hold for an object without a readable time. An
// OpenPGP key's expiry and revocation are judged at the signature's own
// creation time, which the signature signs.
//
// Both are times the signer wrote: they bound which key may sign when,
// and cannot stop a holder of a key from backdating what it signs.
//
// # Upstream text
//
// Everything a signature, key or object says (names, tag names, reasons)
// reaches the Verification through internal/redact and is cut to the
// tracking bounds, on one line.
package signature
