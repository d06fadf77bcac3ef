package redact_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// secretForms are the places a credential can sit; %s is the secret.
var secretForms = []string{
	"git+https://%s@github.com/o/r.git",
	"git+https://user:%s@host.example/o/r",
	"git+http://user:%s@host.example/o/r#v1",
	"git+ssh://user:%s@host.example:2222/o/r",
	"github://%s@o/r",
	"github://%s@ghe.example/o/r#main",
	"https://x-access-token:%s@github.com/o/r",
	"https://oauth2:%s@gitlab.example/o/r",
	"user:%s@host.example:o/r",
	"ghp_%s", "gho_%s", "ghs_%s", "ghu_%s", "ghr_%s", "github_pat_%s",
	"glpat-%s", "xoxb-%s", "xoxp-%s", "xoxa-%s", "xapp-%s",
	"host=db password=%s sslmode=disable",
	"postgres://host=db password=%s",
	"host=db password='%s x' user=u",
	`host=db password="x %s"`,
	"host=db PASSWORD = %s",
	"https://h.example/x?access_token=%s&page=2",
	"https://h.example/x?private_token=%s",
	"sslpassword=%s;passwd=x",
	"token=%s", "secret=%s", "pwd=%s",
	"Authorization: Bearer %s",
	"Authorization: Basic %s",
	"Bearer %s",
}

var (
	// plausibleSecret is what the structured check plants: base62 with a
	// digit, as tokens and generated passwords are.
	plausibleSecret = regexp.MustCompile(`^[A-Za-z0-9]{8,64}$`)
	hasDigit        = regexp.MustCompile(`[0-9]`)
	// leftToken is a token whose body survived.
	leftToken = regexp.MustCompile(`(github_pat_|gh[posur]_|glpat-|xox[bpa]-|xapp-)[A-Za-z0-9]`)
)

// FuzzString checks, on any input, that String never panics, is idempotent
// and leaves no token body; and, with a plausible secret planted in one of
// secretForms between arbitrary text, that the secret never survives.
// Seeds live in testdata/fuzz/FuzzString.
func FuzzString(f *testing.F) {
	f.Fuzz(func(t *testing.T, before string, form uint8, secret, after string) {
		in := before + " " + fmt.Sprintf(secretForms[int(form)%len(secretForms)], secret) + " " + after
		out := redact.String(in)
		require.Equal(t, out, redact.String(out), "String is not idempotent on %q", in)
		require.False(t, leftToken.MatchString(out), "a token survived in %q", out)

		if !plausibleSecret.MatchString(secret) || !hasDigit.MatchString(secret) {
			return
		}
		// Text that itself opens a quote, or holds the secret, can change
		// what the form means; the first check above still covers it.
		if strings.ContainsAny(before+after, "'\"`\\") || strings.Contains(before+after, secret) {
			return
		}
		require.NotContains(t, out, secret, "secret survived: %q -> %q", in, out)
	})
}
