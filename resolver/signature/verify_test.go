package signature

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// The Verifier implements drift.Verifier (which this package does not
// import, to stay below drift).
var _ interface {
	Policy(tracking.Source) string
	Verify(context.Context, tracking.Source, tracking.Ref, resolver.Result) (tracking.Verification, error)
} = (*Verifier)(nil)

const testSource = "github://acme/widget"

func aliceSigners(options string) []byte {
	return []byte("# release signers\nalice@example.com " + options + fx.alice.public + "\n")
}

func sshFingerprint(t testing.TB, public string) string {
	t.Helper()
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(public))
	require.NoError(t, err)
	return ssh.FingerprintSHA256(key)
}

// judge runs Verify with one rule over every repository on objs, checks
// that the result is storable and returns it.
func judge(t *testing.T, r Rule, objs resolver.Objects) tracking.Verification {
	t.Helper()
	if r.Repositories == nil {
		r.Repositories = []string{"*"}
	}
	reader := &objectReader{objs: objs}
	v, err := New(reader, Policy{Rules: []Rule{r}})
	require.NoError(t, err)
	got, err := v.Verify(context.Background(), mustSource(t, testSource), mustRef(t, "tag:v1.0.0"), resolver.Result{SHA: fx.shas["ssh-commit"]})
	require.NoError(t, err)
	require.Equal(t, 1, reader.calls)
	require.NoError(t, got.Validate())
	assert.Equal(t, v.Policy(mustSource(t, testSource)), got.Policy)
	assert.Equal(t, r.Mode == Require, got.Required)
	return got
}

// commitWithSignature puts an armored signature into a commit's header as
// git does, after the committer line.
func commitWithSignature(raw []byte, sig string) []byte {
	o, _ := splitCommit(raw)
	head, msg, _ := bytes.Cut(o.Payload, []byte("\n\n"))
	var b bytes.Buffer
	b.Write(head)
	b.WriteString("\ngpgsig ")
	b.WriteString(strings.ReplaceAll(strings.TrimSuffix(sig, "\n"), "\n", "\n "))
	b.WriteString("\n\n")
	b.Write(msg)
	return b.Bytes()
}

// signFile signs a payload with ssh-keygen -Y sign in a namespace.
func signFile(t *testing.T, key sshKey, namespace string, payload []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payload")
	require.NoError(t, os.WriteFile(path, payload, 0o600))
	out, err := exec.Command("ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", key.private, path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	sig, err := os.ReadFile(path + ".sig")
	require.NoError(t, err)
	return string(sig)
}

func TestVerifySSH(t *testing.T) {
	short := fx.shas["ssh-commit"][:12]
	aliceFP := sshFingerprint(t, fx.alice.public)
	malloryFP := sshFingerprint(t, fx.mallory.public)
	unsignedPayload, err := splitCommit(fx.raw["unsigned-commit"])
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		signers []byte
		objs    resolver.Objects
		state   tracking.VerificationState
		signer  string
		detail  string
	}{
		{"verified commit", aliceSigners(""), resolver.Objects{Commit: fx.raw["ssh-commit"]},
			tracking.VerificationVerified, "alice@example.com", "commit " + short + ": SSH signature by alice@example.com (" + aliceFP + ")"},
		{"verified tag", aliceSigners(""), resolver.Objects{Tag: fx.raw["v1.1.0-alice"], Commit: fx.raw["unsigned-commit"]},
			tracking.VerificationVerified, "alice@example.com", "tag v1.1.0-alice: SSH signature by alice@example.com"},
		{"every principal of every line", append(aliceSigners(""), []byte(`"ops@example.com,rel@example.com" namespaces="git" `+fx.alice.public+"\n")...), resolver.Objects{Commit: fx.raw["ssh-commit"]},
			tracking.VerificationVerified, "alice@example.com,ops@example.com,rel@example.com", "SSH signature by alice@example.com,ops@example.com,rel@example.com"},
		{"unsigned commit", aliceSigners(""), resolver.Objects{Commit: fx.raw["unsigned-commit"]},
			tracking.VerificationUnsigned, "", "commit " + short + ": not signed"},
		{"commit the upstream says is unsigned", aliceSigners(""), resolver.Objects{},
			tracking.VerificationUnsigned, "", "not signed (the upstream reports no signature)"},
		{"signer not listed", aliceSigners(""), resolver.Objects{Commit: fx.raw["mallory-commit"]},
			tracking.VerificationUntrustedSigner, malloryFP, "SSH signature by " + malloryFP + ", which no allowed signer holds"},
		{"no allowed signers", nil, resolver.Objects{Commit: fx.raw["ssh-commit"]},
			tracking.VerificationUntrustedSigner, aliceFP, "which no allowed signer holds"},
		{"tampered commit", aliceSigners(""), resolver.Objects{Commit: tamper(t, fx.raw["ssh-commit"], "author Test Author", "author Test Authos")},
			tracking.VerificationBadSignature, aliceFP, "SSH signature by " + aliceFP + " does not match the signed content"},
		{"tampered tag", aliceSigners(""), resolver.Objects{Tag: tamper(t, fx.raw["v1.0.0"], "release v1.0.0", "release v1.0.1"), Commit: fx.raw["ssh-commit"]},
			tracking.VerificationBadSignature, aliceFP, "tag v1.0.0: SSH signature by " + aliceFP + " does not match"},
		{"expired valid-before", aliceSigners(`valid-before="20260101" `), resolver.Objects{Commit: fx.raw["ssh-commit"]},
			tracking.VerificationUntrustedSigner, aliceFP, "not trusted at 2026-01-15T12:00:00Z: allowed_signers line 2: the key was valid only before 2026-01-01T00:00:00Z"},
		{"not yet valid-after", aliceSigners(`valid-after="20260201" `), resolver.Objects{Commit: fx.raw["ssh-commit"]},
			tracking.VerificationUntrustedSigner, aliceFP, "valid only after 2026-02-01T00:00:00Z"},
		{"within validity", aliceSigners(`valid-after="20260115",valid-before="20260116" `), resolver.Objects{Commit: fx.raw["ssh-commit"]},
			tracking.VerificationVerified, "alice@example.com", "SSH signature by alice@example.com"},
		{"key not allowed for git", aliceSigners(`namespaces="file" `), resolver.Objects{Commit: fx.raw["ssh-commit"]},
			tracking.VerificationUntrustedSigner, aliceFP, `allowed_signers line 2 does not allow namespace "git"`},
		{"signature made in another namespace", aliceSigners(""), resolver.Objects{Commit: commitWithSignature(fx.raw["unsigned-commit"], signFile(t, fx.alice, "file", unsignedPayload.Payload))},
			tracking.VerificationBadSignature, aliceFP, `is for namespace "file", not "git"`},
		{"signature made by ssh-keygen in the git namespace", aliceSigners(""), resolver.Objects{Commit: commitWithSignature(fx.raw["unsigned-commit"], signFile(t, fx.alice, "git", unsignedPayload.Payload))},
			tracking.VerificationVerified, "alice@example.com", "SSH signature by alice@example.com"},
		{"malformed SSH signature", aliceSigners(""), resolver.Objects{Commit: commitWithSignature(fx.raw["unsigned-commit"], "-----BEGIN SSH SIGNATURE-----\nbm90IGEgc2lnbmF0dXJl\n-----END SSH SIGNATURE-----\n")},
			tracking.VerificationBadSignature, "", "malformed SSH signature"},
		{"x509", aliceSigners(""), resolver.Objects{Commit: commitWithSignature(fx.raw["unsigned-commit"], "-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n")},
			tracking.VerificationUntrustedSigner, "", "x509 signatures are not supported"},
		{"unknown format", aliceSigners(""), resolver.Objects{Commit: commitWithSignature(fx.raw["unsigned-commit"], "hello")},
			tracking.VerificationBadSignature, "", "the signature is in no format git writes"},
		{"unreadable commit", aliceSigners(""), resolver.Objects{Commit: []byte("garbage")},
			tracking.VerificationBadSignature, "", "commit " + short + ": cannot be read: commit object does not begin with a tree line"},
		{"unreadable tag", aliceSigners(""), resolver.Objects{Tag: []byte("garbage"), Commit: fx.raw["ssh-commit"]},
			tracking.VerificationBadSignature, "", "tag: cannot be read: tag object does not begin with a object line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []Mode{Record, Require} {
				got := judge(t, Rule{AllowedSigners: tc.signers, Mode: mode}, tc.objs)
				assert.Equal(t, tc.state, got.State, "detail: %s", got.Detail)
				assert.Equal(t, tc.signer, got.Signer)
				assert.Equal(t, byPlugindrift, got.By)
				assert.Contains(t, got.Detail, tc.detail)
				assert.Equal(t, mode == Require && tc.state != tracking.VerificationVerified, got.Blocks())
			}
		})
	}
}

func TestVerifyOpenPGP(t *testing.T) {
	needGPG(t)
	short := fx.shas["ssh-commit"][:12]
	carol := "Carol <carol@example.com> " + fx.carolFpr
	both := append(append([]byte{}, fx.carolKey...), fx.daveKey...)
	for _, tc := range []struct {
		name   string
		keys   []byte
		objs   resolver.Objects
		state  tracking.VerificationState
		signer string
		detail string
	}{
		{"verified commit", fx.carolKey, resolver.Objects{Commit: fx.raw["pgp-commit"]},
			tracking.VerificationVerified, carol, "commit " + short + ": OpenPGP signature by " + carol},
		{"verified tag", fx.carolKey, resolver.Objects{Tag: fx.raw["v2.0.0"], Commit: fx.raw["unsigned-commit"]},
			tracking.VerificationVerified, carol, "tag v2.0.0: OpenPGP signature by " + carol},
		{"unknown key", fx.carolKey, resolver.Objects{Commit: fx.raw["dave-commit"]},
			tracking.VerificationUntrustedSigner, fx.daveFpr, "OpenPGP signature by key " + fx.daveFpr + ", which no trusted key matches"},
		{"no keys", nil, resolver.Objects{Commit: fx.raw["pgp-commit"]},
			tracking.VerificationUntrustedSigner, fx.carolFpr, "which no trusted key matches"},
		{"second of two key blocks", both, resolver.Objects{Commit: fx.raw["dave-commit"]},
			tracking.VerificationVerified, "Dave <dave@example.com> " + fx.daveFpr, "OpenPGP signature by Dave"},
		{"key expired since it signed", fx.erinKey, resolver.Objects{Commit: fx.raw["old-pgp-commit"]},
			tracking.VerificationVerified, "Erin <erin@example.com> " + fx.erinFpr, "OpenPGP signature by Erin"},
		{"tampered commit", fx.carolKey, resolver.Objects{Commit: tamper(t, fx.raw["pgp-commit"], "author Test Author", "author Test Authos")},
			tracking.VerificationBadSignature, "", "OpenPGP signature by key " + fx.carolFpr + " does not match the signed content"},
		{"tampered tag", fx.carolKey, resolver.Objects{Tag: tamper(t, fx.raw["v2.0.0"], "release v2.0.0", "release v2.0.1"), Commit: fx.raw["pgp-commit"]},
			tracking.VerificationBadSignature, "", "tag v2.0.0: OpenPGP signature by key"},
		{"malformed", fx.carolKey, resolver.Objects{Commit: commitWithSignature(fx.raw["unsigned-commit"], "-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2lnbmF0dXJl\n-----END PGP SIGNATURE-----\n")},
			tracking.VerificationBadSignature, "", "OpenPGP signature is malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judge(t, Rule{OpenPGPKeys: tc.keys, AllowedSigners: aliceSigners("")}, tc.objs)
			assert.Equal(t, tc.state, got.State, "detail: %s", got.Detail)
			assert.Equal(t, tc.signer, got.Signer)
			assert.Equal(t, byPlugindrift, got.By)
			assert.Contains(t, got.Detail, tc.detail)
		})
	}
}

func TestVerifyCombinesCommitAndTag(t *testing.T) {
	short := fx.shas["ssh-commit"][:12]
	tampered := tamper(t, fx.raw["ssh-commit"], "author Test Author", "author Test Authos")
	for _, tc := range []struct {
		name       string
		tag, commt []byte
		state      tracking.VerificationState
		decided    string
	}{
		{"bad commit beats verified tag", fx.raw["v1.0.0"], tampered, tracking.VerificationBadSignature, "commit " + short + ":"},
		{"verified commit beats untrusted tag", fx.raw["v1.0.0-mallory"], fx.raw["ssh-commit"], tracking.VerificationVerified, "commit " + short + ":"},
		{"verified commit beats unsigned tag", fx.raw["v1.0.0-unsigned"], fx.raw["ssh-commit"], tracking.VerificationVerified, "commit " + short + ":"},
		{"verified tag beats unsigned commit", fx.raw["v1.1.0-alice"], fx.raw["unsigned-commit"], tracking.VerificationVerified, "tag v1.1.0-alice:"},
		{"untrusted tag beats unsigned commit", fx.raw["v1.1.0-mallory"], fx.raw["unsigned-commit"], tracking.VerificationUntrustedSigner, "tag v1.1.0-mallory:"},
		{"untrusted commit beats unsigned tag", fx.raw["v1.0.0-unsigned"], fx.raw["mallory-commit"], tracking.VerificationUntrustedSigner, "commit " + short + ":"},
		{"both unsigned: the tag decides", fx.raw["v1.1.0"], fx.raw["unsigned-commit"], tracking.VerificationUnsigned, "tag v1.1.0: not signed"},
		{"both verified: the tag decides", fx.raw["v1.0.0"], fx.raw["ssh-commit"], tracking.VerificationVerified, "tag v1.0.0:"},
		{"no tag: the commit decides", nil, fx.raw["mallory-commit"], tracking.VerificationUntrustedSigner, "commit " + short + ":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judge(t, Rule{AllowedSigners: aliceSigners("")}, resolver.Objects{Tag: tc.tag, Commit: tc.commt})
			assert.Equal(t, tc.state, got.State, "detail: %s", got.Detail)
			assert.True(t, strings.HasPrefix(got.Detail, tc.decided), "detail %q should start with %q", got.Detail, tc.decided)
		})
	}
}

func TestVerifyTrustHost(t *testing.T) {
	yes := &resolver.HostCheck{Verified: true, Reason: "valid"}
	no := &resolver.HostCheck{Verified: false, Reason: "unknown_key"}
	tampered := tamper(t, fx.raw["ssh-commit"], "author Test Author", "author Test Authos")
	for _, tc := range []struct {
		name      string
		trustHost bool
		objs      resolver.Objects
		state     tracking.VerificationState
		by        string
		options   string // of alice's allowed_signers line
	}{
		{"host verifies an unknown signer", true, resolver.Objects{Commit: fx.raw["mallory-commit"], Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationVerified, "github", ""},
		{"host trust off", false, resolver.Objects{Commit: fx.raw["mallory-commit"], Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationUntrustedSigner, byPlugindrift, ""},
		{"host says no", true, resolver.Objects{Commit: fx.raw["mallory-commit"], Host: &resolver.HostVerdict{Name: "github", Commit: no}}, tracking.VerificationUntrustedSigner, byPlugindrift, ""},
		{"host says nothing", true, resolver.Objects{Commit: fx.raw["mallory-commit"]}, tracking.VerificationUntrustedSigner, byPlugindrift, ""},
		{"never over a bad signature", true, resolver.Objects{Commit: tampered, Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationBadSignature, byPlugindrift, ""},
		{"never over an unsigned commit", true, resolver.Objects{Commit: fx.raw["unsigned-commit"], Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationUnsigned, byPlugindrift, ""},
		{"never over a commit handed over as unsigned", true, resolver.Objects{Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationUnsigned, byPlugindrift, ""},
		{"our own verification stays ours", true, resolver.Objects{Commit: fx.raw["ssh-commit"], Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationVerified, byPlugindrift, ""},
		{"host verifies the tag", true, resolver.Objects{Tag: fx.raw["v1.1.0-mallory"], Commit: fx.raw["unsigned-commit"], Host: &resolver.HostVerdict{Name: "github", Tag: yes, Commit: no}}, tracking.VerificationVerified, "github", ""},
		{"host verdict on the other object only", true, resolver.Objects{Tag: fx.raw["v1.1.0-mallory"], Commit: fx.raw["unsigned-commit"], Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationUntrustedSigner, byPlugindrift, ""},
		{"never over a key the rule holds but no longer trusts", true, resolver.Objects{Commit: fx.raw["ssh-commit"], Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationUntrustedSigner, byPlugindrift, `valid-before="20260101" `},
		{"over an x509 signature", true, resolver.Objects{Commit: commitWithSignature(fx.raw["unsigned-commit"], "-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n"), Host: &resolver.HostVerdict{Name: "github", Commit: yes}}, tracking.VerificationVerified, "github", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judge(t, Rule{AllowedSigners: aliceSigners(tc.options), TrustHost: tc.trustHost}, tc.objs)
			assert.Equal(t, tc.state, got.State, "detail: %s", got.Detail)
			assert.Equal(t, tc.by, got.By)
			if tc.by == "github" {
				assert.Equal(t, "Test Committer <committer@example.com>", got.Signer)
				assert.Contains(t, got.Detail, "github verified the signature (valid)")
				assert.Regexp(t, `^(commit|tag) [^:]+: github verified the signature \(valid\); the policy holds no key for it \((SSH signature by SHA256:\S+, which no allowed signer holds|x509 signatures are not supported)\)$`, got.Detail)
			}
		})
	}
}

func TestVerifyKeepsUpstreamTextStorable(t *testing.T) {
	long := strings.Repeat("\x01é", 400)
	raw := fmt.Sprintf("object %s\ntype commit\ntag v1%s\ntagger ghp_abcdefgh1234567890 %s <x@y> 1768478400 +0000\n\nm\n-----BEGIN SSH SIGNATURE-----\nbm90\n-----END SSH SIGNATURE-----\n", fx.shas["ssh-commit"], long, long)
	got := judge(t, Rule{TrustHost: true}, resolver.Objects{Tag: []byte(raw), Commit: fx.raw["ssh-commit"]})
	require.NoError(t, got.Validate())
	assert.Equal(t, tracking.VerificationBadSignature, got.State)
	assert.LessOrEqual(t, len(got.Detail), tracking.MaxDetailLen)

	host := judge(t, Rule{TrustHost: true}, resolver.Objects{Commit: fx.raw["mallory-commit"], Host: &resolver.HostVerdict{Name: "github\nx", Commit: &resolver.HostCheck{Verified: true, Reason: "ghp_abcdefgh1234567890\n"}}})
	require.NoError(t, host.Validate())
	assert.Equal(t, "github x", host.By)
	assert.NotContains(t, host.Detail, "abcdefgh1234567890", "a token from upstream text is masked")
}

func TestVerifySourcesNoRuleCoversAreNotChecked(t *testing.T) {
	reader := &objectReader{objs: resolver.Objects{Commit: fx.raw["ssh-commit"]}}
	v, err := New(reader, Policy{Rules: []Rule{{Repositories: []string{"github.com/other"}, Mode: Require}}})
	require.NoError(t, err)
	for _, s := range []string{testSource, "local://widget"} {
		got, err := v.Verify(context.Background(), mustSource(t, s), mustRef(t, "main"), resolver.Result{SHA: fx.shas["ssh-commit"]})
		require.NoError(t, err)
		assert.Equal(t, tracking.Verification{}, got)
	}
	assert.Zero(t, reader.calls, "nothing is read for a source no rule covers")
}

func TestVerifyReturnsReadErrorsWrapped(t *testing.T) {
	for _, sentinel := range []error{resolver.ErrNotFound, resolver.ErrUnsupported, context.Canceled} {
		reader := &objectReader{err: fmt.Errorf("gitcli: cat-file: %w", sentinel)}
		v, err := New(reader, Policy{Rules: []Rule{{Repositories: []string{"*"}}}})
		require.NoError(t, err)
		got, err := v.Verify(context.Background(), mustSource(t, testSource), mustRef(t, "main"), resolver.Result{SHA: fx.shas["ssh-commit"]})
		require.ErrorIs(t, err, sentinel)
		assert.True(t, strings.HasPrefix(err.Error(), `signature: read objects of "github://acme/widget": gitcli: cat-file: `), err.Error())
		assert.Equal(t, tracking.Verification{}, got)
	}
	assert.True(t, errors.Is(resolver.ErrNotFound, tracking.ErrNotFound))
}

// objectsBySHA hands over the objects of the commit a resolution names.
type objectsBySHA map[string]resolver.Objects

func (m objectsBySHA) ReadObjects(_ context.Context, _ tracking.Source, _ tracking.Ref, res resolver.Result) (resolver.Objects, error) {
	return m[res.SHA], nil
}

func TestVerifierIsSafeForConcurrentUse(t *testing.T) {
	objs := objectsBySHA{}
	want := map[string]tracking.VerificationState{}
	for name, state := range map[string]tracking.VerificationState{
		"ssh-commit": tracking.VerificationVerified, "mallory-commit": tracking.VerificationUntrustedSigner,
		"unsigned-commit": tracking.VerificationUnsigned, "pgp-commit": tracking.VerificationVerified,
		"dave-commit": tracking.VerificationUntrustedSigner,
	} {
		if raw, ok := fx.raw[name]; ok {
			objs[fx.shas[name]] = resolver.Objects{Commit: raw}
			want[fx.shas[name]] = state
		}
	}
	v, err := New(objs, Policy{Rules: []Rule{{Repositories: []string{"*"}, AllowedSigners: aliceSigners(""), OpenPGPKeys: fx.carolKey}}})
	require.NoError(t, err)
	source, ref := mustSource(t, testSource), mustRef(t, "main")
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 20 {
				for sha, state := range want {
					got, err := v.Verify(context.Background(), source, ref, resolver.Result{SHA: sha})
					if err == nil && got.State != state {
						err = fmt.Errorf("commit %s: %s, want %s (%s)", sha, got.State, state, got.Detail)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}
