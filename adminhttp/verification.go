package adminhttp

import "github.com/plugindrift/plugindrift/tracking"

// The page's side of signature verification: each entry's badge, and
// the words its messages use for a state.

// verificationView is an entry's verification badge.
type verificationView struct {
	State    string // as the API writes it: verified, unsigned, untrusted-signer, bad-signature, not-checked
	Label    string // the state in words
	Signer   string
	By       string
	Detail   string
	Required bool // the trust policy requires a verified signature
	Blocks   bool // Apply refuses the entry without an override
	// Danger styles the badge as dangerous: a bad signature, or anything
	// that blocks.
	Danger bool
}

func newVerificationView(v tracking.Verification) verificationView {
	return verificationView{
		State: v.State.String(), Label: verificationLabel(v.State), Signer: v.Signer, By: v.By, Detail: v.Detail,
		Required: v.Required, Blocks: v.Blocks(),
		Danger: v.State == tracking.VerificationBadSignature || v.Blocks(),
	}
}

// verificationLabel is a state as the badge shows it.
func verificationLabel(s tracking.VerificationState) string {
	switch s {
	case tracking.VerificationVerified:
		return "verified"
	case tracking.VerificationUnsigned:
		return "unsigned"
	case tracking.VerificationUntrustedSigner:
		return "untrusted signer"
	case tracking.VerificationBadSignature:
		return "bad signature"
	}
	return "not checked"
}

// verificationWords is a state as a sentence says it: "its commit is …".
func verificationWords(s tracking.VerificationState) string {
	switch s {
	case tracking.VerificationVerified:
		return "verified"
	case tracking.VerificationUnsigned:
		return "unsigned"
	case tracking.VerificationUntrustedSigner:
		return "signed by a signer the policy does not trust"
	case tracking.VerificationBadSignature:
		return "signed, but the signature does not match (the commit or tag was altered after signing)"
	}
	return "not checked"
}
