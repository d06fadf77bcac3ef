package signature

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAllowedSigners(t *testing.T) {
	alice := fx.alice.public
	mallory := fx.mallory.public
	file := strings.Join([]string{
		"# trusted release signers",
		"",
		"alice@example.com " + alice,
		`"alice@example.com,release@example.com" namespaces="git,file",valid-after="20260101",valid-before="202602011230Z" ` + alice,
		"  *@example.com VALID-BEFORE=\"20260201123045\" " + mallory + "\r",
	}, "\n")
	got, err := parseAllowedSigners([]byte(file))
	require.NoError(t, err)
	require.Len(t, got, 3)

	assert.Equal(t, 3, got[0].Line)
	assert.Equal(t, "alice@example.com", got[0].Principals)
	assert.Nil(t, got[0].Namespaces)
	assert.True(t, got[0].ValidAfter.IsZero())
	assert.True(t, strings.HasPrefix(got[0].Fingerprint, "SHA256:"))

	assert.Equal(t, 4, got[1].Line)
	assert.Equal(t, "alice@example.com,release@example.com", got[1].Principals)
	assert.Equal(t, []string{"git", "file"}, got[1].Namespaces)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), got[1].ValidAfter)
	assert.Equal(t, time.Date(2026, 2, 1, 12, 30, 0, 0, time.UTC), got[1].ValidBefore)
	assert.Equal(t, got[0].Fingerprint, got[1].Fingerprint)

	assert.Equal(t, "*@example.com", got[2].Principals)
	assert.Equal(t, time.Date(2026, 2, 1, 12, 30, 45, 0, time.UTC), got[2].ValidBefore)
	assert.NotEqual(t, got[0].Fingerprint, got[2].Fingerprint)
}

func TestParseAllowedSignersErrorsNameTheLineAndNeverTheKey(t *testing.T) {
	alice := fx.alice.public
	fields := strings.Fields(alice)
	keyBody := fields[1]
	for _, tc := range []struct{ name, line, want string }{
		{"cert-authority", "a@x cert-authority " + alice, "cert-authority: certificates are not supported"},
		{"unknown option", `a@x no-touch-required ` + alice, `unknown option "no-touch-required"`},
		{"unquoted value", `a@x namespaces=git ` + alice, `option "namespaces": the value must be double-quoted`},
		{"bad date", `a@x valid-after="2026-01-01" ` + alice, `valid-after: want valid-after="YYYYMMDD[HHMM[SS]][Z]"`},
		{"impossible date", `a@x valid-after="20261399" ` + alice, `valid-after "20261399" is not a date`},
		{"no key", "a@x", "no key"},
		{"options but no key", `a@x namespaces="git"`, "no key"},
		{"unknown key type", "a@x ssh-foo " + keyBody, `unknown option "ssh-foo"`},
		{"bad base64", "a@x ssh-ed25519 !!!" + keyBody, "the ssh-ed25519 key is not valid base64"},
		{"key type mismatch", "a@x ssh-rsa " + keyBody, "the key is ssh-ed25519, not the ssh-rsa the line says"},
		{"truncated key", "a@x ssh-ed25519 " + keyBody[:20], "the ssh-ed25519 key"},
		{"certificate", "a@x ssh-ed25519-cert-v01@openssh.com " + keyBody, "certificates are not supported"},
		{"open quote", `"a@x ` + alice, "a quote is not closed"},
		{"empty namespaces", `a@x namespaces="" ` + alice, `namespaces: want namespaces="git,…"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseAllowedSigners([]byte("# header\n\n" + tc.line + "\n"))
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "allowed_signers line 3: "), err.Error())
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), keyBody[20:40], "the error echoes the key")
		})
	}
}

func TestParseAllowedSignersBoundsItsInput(t *testing.T) {
	_, err := parseAllowedSigners([]byte(strings.Repeat("#", maxAllowedSignersLen+1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "allowed_signers is 1048577 bytes, more than the 1048576 accepted")
}

func TestAllowedSignerNamespacesAndValidity(t *testing.T) {
	s := allowedSigner{Namespaces: []string{"fi*", "g?t", "!gat"}}
	assert.True(t, s.allowsNamespace("git"))
	assert.True(t, s.allowsNamespace("file"))
	assert.False(t, s.allowsNamespace("gat"), "a negated pattern refuses")
	assert.False(t, s.allowsNamespace("gitx"))
	assert.True(t, allowedSigner{}.allowsNamespace("git"), "no namespaces option allows every namespace")

	at := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	bounded := allowedSigner{ValidAfter: at, ValidBefore: at.Add(time.Hour)}
	for _, tc := range []struct {
		t    time.Time
		ok   bool
		want string
	}{
		{at, true, ""},
		{at.Add(-time.Second), false, "valid only after 2026-01-15T00:00:00Z"},
		{at.Add(time.Hour), false, "valid only before 2026-01-15T01:00:00Z"},
		{time.Time{}, false, "gives no time"},
	} {
		ok, why := bounded.validAt(tc.t)
		assert.Equal(t, tc.ok, ok, "at %s", tc.t)
		assert.Contains(t, why, tc.want)
	}
	ok, _ := allowedSigner{}.validAt(time.Time{})
	assert.True(t, ok, "an unbounded line needs no time")
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"git", "git", true}, {"git", "gi", false}, {"*", "", true}, {"*", "anything", true},
		{"g*t", "git", true}, {"g*t", "gt", true}, {"g*t", "gits", false}, {"?", "", false},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"**", "x", true},
	} {
		assert.Equal(t, tc.want, wildcardMatch(tc.pattern, tc.s), "%q ~ %q", tc.pattern, tc.s)
	}
}

// FuzzParseAllowedSigners checks that any input parses or fails with an
// error that says where, never panics, and that every signer
// parsed has a key and principals.
func FuzzParseAllowedSigners(f *testing.F) {
	f.Add([]byte("alice@example.com " + fx.alice.public + "\n"))
	f.Add([]byte(`"a,b" namespaces="git",valid-after="20260101" ` + fx.mallory.public + "\n# c\n\n"))
	f.Add([]byte("x cert-authority " + fx.alice.public))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseAllowedSigners(b)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "allowed_signers "), err.Error())
			return
		}
		for _, s := range got {
			require.NotNil(t, s.Key)
			require.NotEmpty(t, s.Principals)
			require.Positive(t, s.Line)
		}
	})
}
