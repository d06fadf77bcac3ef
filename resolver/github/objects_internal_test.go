package github

import (
	"testing"

	gogithub "github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRebuildSignatureWithOrWithoutFinalNewline: the commit is the same
// whether the API ends the signature with a newline or not.
func TestRebuildSignatureWithOrWithoutFinalNewline(t *testing.T) {
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\nm\n"
	want := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n" +
		"gpgsig -----BEGIN SSH SIGNATURE-----\n U1NI\n -----END SSH SIGNATURE-----\n\nm\n"
	id := objectID("commit", []byte(want), 40)
	for _, sig := range []string{"-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----\n", "-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----"} {
		raw, check, err := rebuild("op", "commit", id, &gogithub.SignatureVerification{
			Verified: gogithub.Bool(true), Reason: gogithub.String("valid"), Payload: gogithub.String(payload), Signature: gogithub.String(sig),
		})
		require.NoError(t, err)
		assert.Equal(t, want, string(raw))
		assert.True(t, check.Verified)
	}
}

// TestRebuildRefusesWhatCannotBeChecked: a verified object, or a
// signature, without a payload is refused rather than judged unsigned;
// so is an answer without a verification.
func TestRebuildRefusesWhatCannotBeChecked(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef01234567"
	for _, v := range []*gogithub.SignatureVerification{
		nil,
		{Verified: gogithub.Bool(true), Reason: gogithub.String("valid")},
		{Reason: gogithub.String("unknown_key"), Signature: gogithub.String("-----BEGIN SSH SIGNATURE-----\n")},
	} {
		raw, _, err := rebuild("op", "commit", id, v)
		require.Error(t, err, "%+v", v)
		assert.Nil(t, raw)
	}
	raw, check, err := rebuild("op", "commit", id, &gogithub.SignatureVerification{Reason: gogithub.String("unsigned")})
	require.NoError(t, err)
	assert.Nil(t, raw)
	assert.Equal(t, "unsigned", check.Reason)
}
