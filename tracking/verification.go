package tracking

import (
	"fmt"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// VerificationState is what a signature check found for the commit (and,
// for tag refs, the annotated tag) an entry would move to. The zero state
// is [VerificationNotChecked].
type VerificationState string

const (
	// VerificationNotChecked: no trust policy applies to the source, or
	// the entry was queued before one did. It is the zero state and is
	// written "not-checked".
	VerificationNotChecked VerificationState = ""
	// VerificationVerified: signed by a signer the policy trusts; the
	// Verification names the signer.
	VerificationVerified VerificationState = "verified"
	// VerificationUnsigned: neither the commit nor the tag is signed.
	VerificationUnsigned VerificationState = "unsigned"
	// VerificationUntrustedSigner: a signature the policy's signers did
	// not make (or that cannot be checked: an unknown key, an unsupported
	// format).
	VerificationUntrustedSigner VerificationState = "untrusted-signer"
	// VerificationBadSignature: a signature that does not match what it
	// signs, or is malformed: the object was altered after signing.
	VerificationBadSignature VerificationState = "bad-signature"
)

// notCheckedText is how VerificationNotChecked is written.
const notCheckedText = "not-checked"

// String is the state as written: "not-checked" for the zero state.
func (s VerificationState) String() string {
	if s == VerificationNotChecked {
		return notCheckedText
	}
	return string(s)
}

// known reports whether s is one of the VerificationState constants. This
// is the one place their list lives.
func (s VerificationState) known() bool {
	switch s {
	case VerificationNotChecked, VerificationVerified, VerificationUnsigned, VerificationUntrustedSigner, VerificationBadSignature:
		return true
	}
	return false
}

// MarshalText implements encoding.TextMarshaler with String.
func (s VerificationState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts the five
// states as written. Errors wrap ErrInvalidArgument.
func (s *VerificationState) UnmarshalText(b []byte) error {
	switch v := VerificationState(b); {
	case v == notCheckedText:
		*s = VerificationNotChecked
	case v != VerificationNotChecked && v.known():
		*s = v
	default:
		return fmt.Errorf("tracking: verification state %s: want not-checked, verified, unsigned, untrusted-signer or bad-signature: %w", redact.Quote(string(b)), ErrInvalidArgument)
	}
	return nil
}

// Bounds of the text fields of a Verification; longer values are refused.
const (
	MaxSignerLen = 256
	MaxDetailLen = 512
	MaxPolicyLen = 128
)

// Verification is the signature check of the commit (and, for tag refs,
// the annotated tag) an entry would move to, as the trust policy for its
// source judged it. The zero Verification is not-checked.
type Verification struct {
	State VerificationState `json:"state"`
	// Signer names who signed when State is verified (the principal of
	// an allowed_signers line, an OpenPGP user id), or the key that signed
	// when State is untrusted-signer (its fingerprint).
	Signer string `json:"signer"`
	// By names who judged: "plugindrift" for the policy's own check of the
	// signature, or the upstream host ("github") when the policy accepts
	// its verification and that is what decided.
	By string `json:"by"`
	// Detail says in one line what was checked and why it came out so
	// ("tag v1.2.0: signature by SHA256:… which no trusted signer holds").
	Detail string `json:"detail"`
	// Required is set when the policy says require: an entry that is not
	// verified is then refused by Apply unless an operator overrides it,
	// and is never applied automatically.
	Required bool `json:"required"`
	// Policy names the trust policy that judged (a fingerprint of it), so
	// that a change of policy is checked again.
	Policy string `json:"policy"`
}

// Blocks reports whether the policy forbids applying the commit without an
// explicit override: it requires verification and the commit is not
// verified. This is the one place that rule lives.
func (v Verification) Blocks() bool { return v.Required && v.State != VerificationVerified }

// Validate checks a verification built in code before it is stored: a
// known state, and text fields within their bounds, valid UTF-8, on one
// line. Errors wrap ErrInvalidArgument.
func (v Verification) Validate() error {
	if !v.State.known() {
		// "not-checked" spelled out is how the zero state is written, not
		// a state of its own.
		return fmt.Errorf("tracking: verification state %s: want one of the VerificationState constants: %w", redact.Quote(string(v.State)), ErrInvalidArgument)
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"signer", v.Signer, MaxSignerLen}, {"by", v.By, MaxSignerLen}, {"detail", v.Detail, MaxDetailLen}, {"policy", v.Policy, MaxPolicyLen}} {
		if problem := TextProblem(f.value, f.max, false); problem != "" {
			return fmt.Errorf("tracking: verification %s %s: want at most %d bytes of UTF-8 on one line: %w", f.name, problem, f.max, ErrInvalidArgument)
		}
	}
	return nil
}

// MaxOverrideLen bounds Update.Override.
const MaxOverrideLen = 1024
