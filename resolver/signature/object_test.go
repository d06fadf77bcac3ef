package signature

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitCommitRemovesTheSignatureHeaderAsGitDoes(t *testing.T) {
	raw := fx.raw["ssh-commit"]
	o, err := splitCommit(raw)
	require.NoError(t, err)

	var want, sig strings.Builder
	inSig := false
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "gpgsig "):
			inSig = true
			sig.WriteString(strings.TrimPrefix(line, "gpgsig "))
		case inSig && strings.HasPrefix(line, " "):
			sig.WriteString(line[1:])
		default:
			inSig = false
			want.WriteString(line)
		}
	}
	assert.Equal(t, want.String(), string(o.Payload))
	assert.Equal(t, sig.String(), string(o.Signature))
	assert.True(t, strings.HasPrefix(string(o.Signature), "-----BEGIN SSH SIGNATURE-----\n"))
	assert.True(t, strings.HasSuffix(string(o.Signature), "-----END SSH SIGNATURE-----\n"))
	assert.Equal(t, "Test Committer <committer@example.com>", o.Signer.Person)
	assert.True(t, committedAt.Equal(o.Signer.Time), "committer time %s", o.Signer.Time)
}

func TestSplitCommitShapes(t *testing.T) {
	const head = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1768478400 -0130\n"
	for _, tc := range []struct {
		name, raw, payload, sig string
	}{
		{"unsigned", head + "\nmsg\n", head + "\nmsg\n", ""},
		{"no message", head, head, ""},
		{"signature lines in the message stay", head + "\nmsg\ngpgsig not a header\n -----BEGIN\n", head + "\nmsg\ngpgsig not a header\n -----BEGIN\n", ""},
		{"sha256 signature is removed, sha1 one taken", head + "gpgsig-sha256 S2\n s2b\ngpgsig S1\n s1b\nencoding x\n\nm\n", head + "encoding x\n\nm\n", "S1\ns1b\n"},
		{"another signature ends at the next header", head + "gpgsig-sha256 S2\n s2b\nencoding x\ngpgsig S1\n\nm\n", head + "encoding x\n\nm\n", "S1\n"},
		{"only a sha256 signature", head + "gpgsig-sha256 S2\n s2b\n\nm\n", head + "\nm\n", "S2\ns2b\n"},
		{"blank continuation", head + "gpgsig A\n \n B\n\nm\n", head + "\nm\n", "A\n\nB\n"},
		{"mergetag continuation kept", head + "mergetag object x\n type commit\ngpgsig S\n\nm\n", head + "mergetag object x\n type commit\n\nm\n", "S\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := splitCommit([]byte(tc.raw))
			require.NoError(t, err)
			assert.Equal(t, tc.payload, string(o.Payload))
			assert.Equal(t, tc.sig, string(o.Signature))
			assert.Equal(t, tc.sig == "", o.Signature == nil)
			assert.Equal(t, "C <c@x>", o.Signer.Person)
			assert.True(t, time.Unix(1768478400, 0).Equal(o.Signer.Time))
			_, offset := o.Signer.Time.Zone()
			assert.Equal(t, -90*60, offset)
		})
	}
}

func TestSplitCommitRefusesMalformedObjects(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"empty", "", "does not begin with a tree line"},
		{"not a commit", "object abc\n", "does not begin with a tree line"},
		{"no committer", "tree x\nauthor A <a> 1 +0000\n\nm", "no committer line"},
		{"header without end", "tree x\ncommitter C <c> 1 +0000", "header line 2 has no end"},
		{"header without value", "tree x\nbogus\n\n", `header line 2 is not "key value"`},
		{"bad identity", "tree x\ncommitter nobody\n\n", "is not \"Name <email> time zone\""},
		{"too large", "tree x\n" + strings.Repeat("x", maxObjectLen), "more than the 1048576 accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := splitCommit([]byte(tc.raw))
			require.ErrorIs(t, err, errMalformed)
			assert.Contains(t, err.Error(), tc.want)
			assert.Less(t, len(err.Error()), 200, "the error must not echo the object")
		})
	}
}

func TestSplitTag(t *testing.T) {
	raw := fx.raw["v1.0.0"]
	o, err := splitTag(raw)
	require.NoError(t, err)
	at := bytes.Index(raw, []byte("-----BEGIN SSH SIGNATURE-----"))
	require.Positive(t, at)
	assert.Equal(t, string(raw[:at]), string(o.Payload))
	assert.Equal(t, string(raw[at:]), string(o.Signature))
	assert.Equal(t, fx.shas["ssh-commit"], o.Object)
	assert.Equal(t, "commit", o.Type)
	assert.Equal(t, "v1.0.0", o.Name)
	assert.Equal(t, "Test Committer <committer@example.com>", o.Signer.Person)
	assert.True(t, committedAt.Equal(o.Signer.Time))

	unsigned, err := splitTag(fx.raw["v1.1.0"])
	require.NoError(t, err)
	assert.Nil(t, unsigned.Signature)
	assert.Equal(t, string(fx.raw["v1.1.0"]), string(unsigned.Payload))
}

func TestSplitTagTakesTheLastSignatureBlock(t *testing.T) {
	const head = "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\n\n"
	for _, tc := range []struct{ name, body, payload, sig string }{
		{"openpgp", "m\n-----BEGIN PGP SIGNATURE-----\nx\n", "m\n", "-----BEGIN PGP SIGNATURE-----\nx\n"},
		{"x509", "m\n-----BEGIN SIGNED MESSAGE-----\nx\n", "m\n", "-----BEGIN SIGNED MESSAGE-----\nx\n"},
		{"last of two", "m\n-----BEGIN SSH SIGNATURE-----\na\n-----BEGIN SSH SIGNATURE-----\nb\n", "m\n-----BEGIN SSH SIGNATURE-----\na\n", "-----BEGIN SSH SIGNATURE-----\nb\n"},
		{"only at a line start", "m -----BEGIN SSH SIGNATURE-----\n", "m -----BEGIN SSH SIGNATURE-----\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := splitTag([]byte(head + tc.body))
			require.NoError(t, err)
			assert.Equal(t, head+tc.payload, string(o.Payload))
			assert.Equal(t, tc.sig, string(o.Signature))
			assert.True(t, o.Signer.Time.IsZero(), "a tag without a tagger has no time")
		})
	}
}

func TestSplitTagRefusesMalformedObjects(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"a commit", string(fx.raw["ssh-commit"]), "does not begin with a object line"},
		{"no type", "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntag v1\n\n", "no type line"},
		{"no name", "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\n\n", "no tag line"},
		{"bad object id", "object xyz\ntype commit\ntag v1\n\n", `tag object line "xyz" is not an object id`},
		{"bad tagger", "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger x\n\n", "tag tagger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := splitTag([]byte(tc.raw))
			require.ErrorIs(t, err, errMalformed)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// FuzzSplitCommit checks that any input either fails with errMalformed or
// splits into a payload that, with the signature put back, is no larger
// than the input, and never panics. Seeds are the fixture's commits.
func FuzzSplitCommit(f *testing.F) {
	for _, name := range []string{"ssh-commit", "unsigned-commit", "mallory-commit", "pgp-commit"} {
		f.Add(fx.raw[name])
	}
	f.Add([]byte("tree x\ncommitter C <c> 1 +0000\ngpgsig a\n b\ngpgsig-sha256 c\n\nm"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := splitCommit(raw)
		if err != nil {
			require.ErrorIs(t, err, errMalformed)
			return
		}
		require.LessOrEqual(t, len(o.Payload)+len(o.Signature), len(raw))
		require.True(t, bytes.HasPrefix(o.Payload, []byte("tree ")))
	})
}

// FuzzSplitTag checks that any input either fails with errMalformed or
// splits into payload and signature that are exactly the input, and never
// panics. Seeds are the fixture's tags.
func FuzzSplitTag(f *testing.F) {
	for _, name := range []string{"v1.0.0", "v1.1.0", "v1.0.0-mallory", "v2.0.0"} {
		f.Add(fx.raw[name])
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := splitTag(raw)
		if err != nil {
			require.ErrorIs(t, err, errMalformed)
			return
		}
		require.Equal(t, raw, append(bytes.Clone(o.Payload), o.Signature...))
		if o.Signature != nil {
			require.NotEmpty(t, formatOf(o.Signature))
		}
	})
}
