package signature

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

func TestPolicyMatchesRepositoriesOnWholeSegmentsFirstRuleWins(t *testing.T) {
	rules := []Rule{
		{Repositories: []string{"github.com/acme/widget"}, Mode: Require},
		{Repositories: []string{"GitHub.com/Acme/"}},
		{Repositories: []string{"git.example.com"}, TrustHost: true},
		{Repositories: []string{"/srv/git"}, AllowedSigners: aliceSigners("")},
		{Repositories: []string{"*"}, Mode: Require, TrustHost: true},
	}
	v, err := New(&objectReader{}, Policy{Rules: rules})
	require.NoError(t, err)
	names := map[string]int{}
	for i := range rules {
		names[v.rules[i].fingerprint] = i
	}
	require.Len(t, names, len(rules), "distinct rules have distinct fingerprints")

	for _, tc := range []struct {
		source string
		rule   int // -1: none
	}{
		{"github://acme/widget", 0},
		{"git+https://github.com/Acme/widget.git", 0},
		{"github://acme/gadget", 1},
		{"github://acmeco/widget", 4},
		{"git+ssh://git@git.example.com/team/tool.git", 2},
		{"git+https://git.example.community/team/tool", 4},
		{"git+file:///srv/git/widget", 3},
		{"git+file:///srv/gitx/widget", 4},
		{"local://widget", -1},
		{"widget", -1},
	} {
		got := v.Policy(mustSource(t, tc.source))
		if tc.rule < 0 {
			assert.Empty(t, got, tc.source)
			continue
		}
		assert.Equal(t, v.rules[tc.rule].fingerprint, got, "%s should match rule %d, matched %d", tc.source, tc.rule, names[got])
	}

	none, err := New(&objectReader{}, Policy{Rules: []Rule{{Repositories: []string{"github.com/acme"}}}})
	require.NoError(t, err)
	assert.Empty(t, none.Policy(mustSource(t, "github://other/widget")), "a source no rule matches is not checked")
	empty, err := New(&objectReader{}, Policy{})
	require.NoError(t, err)
	assert.Empty(t, empty.Policy(mustSource(t, "github://acme/widget")))
}

func TestPolicyFingerprint(t *testing.T) {
	fingerprint := func(r Rule) string {
		t.Helper()
		if r.Repositories == nil {
			r.Repositories = []string{"github.com/acme"}
		}
		v, err := New(&objectReader{}, Policy{Rules: []Rule{r}})
		require.NoError(t, err)
		return v.Policy(mustSource(t, "github://acme/widget"))
	}
	base := Rule{AllowedSigners: aliceSigners("")}
	name := fingerprint(base)
	assert.Regexp(t, regexp.MustCompile(`^sha256:[0-9a-f]{16}$`), name)
	assert.LessOrEqual(t, len(name), tracking.MaxPolicyLen)
	assert.Equal(t, name, fingerprint(base), "the fingerprint is stable")
	assert.Equal(t, name, fingerprint(Rule{AllowedSigners: []byte("\n# another comment\n\n  alice@example.com " + fx.alice.public + "   \n")}), "comments and blank lines do not change trust")
	assert.Equal(t, name, fingerprint(Rule{Repositories: []string{"GitHub.com/acme/"}, AllowedSigners: aliceSigners("")}), "patterns are normalised")

	changed := map[string]Rule{
		"mode":         {AllowedSigners: aliceSigners(""), Mode: Require},
		"host trust":   {AllowedSigners: aliceSigners(""), TrustHost: true},
		"repositories": {AllowedSigners: aliceSigners(""), Repositories: []string{"github.com/acme", "github.com/other"}},
		"principal":    {AllowedSigners: []byte("bob@example.com " + fx.alice.public)},
		"valid-before": {AllowedSigners: aliceSigners(`valid-before="20270101" `)},
		"namespaces":   {AllowedSigners: aliceSigners(`namespaces="git" `)},
		"another key":  {AllowedSigners: append(aliceSigners(""), []byte("m@example.com "+fx.mallory.public)...)},
		"no key":       {},
		"openpgp key":  {AllowedSigners: aliceSigners(""), OpenPGPKeys: armoredEntity(t, false)},
	}
	seen := map[string]string{name: "base"}
	for what, r := range changed {
		got := fingerprint(r)
		prev, dup := seen[got]
		assert.False(t, dup, "changing the %s gives the fingerprint of %s", what, prev)
		seen[got] = what
	}
}

// armoredEntity makes an OpenPGP key with go-crypto and arms its public
// (or, with private, its private) key.
func armoredEntity(t *testing.T, private bool) []byte {
	t.Helper()
	e, err := openpgp.NewEntity("Erin", "", "erin@example.com", nil)
	require.NoError(t, err)
	var b bytes.Buffer
	kind := "PGP PUBLIC KEY BLOCK"
	if private {
		kind = "PGP PRIVATE KEY BLOCK"
	}
	w, err := armor.Encode(&b, kind, nil)
	require.NoError(t, err)
	if private {
		require.NoError(t, e.SerializePrivate(w, nil))
	} else {
		require.NoError(t, e.Serialize(w))
	}
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestNewRefusesBadRulesNamingThem(t *testing.T) {
	ok := Rule{Repositories: []string{"*"}}
	for _, tc := range []struct {
		name string
		rule Rule
		want string
	}{
		{"no repositories", Rule{}, "no repositories"},
		{"empty pattern", Rule{Repositories: []string{""}}, `repository pattern ""`},
		{"wildcard inside", Rule{Repositories: []string{"github.com/*"}}, `repository pattern "github.com/*"`},
		{"empty segment", Rule{Repositories: []string{"github.com//acme"}}, "whole segments"},
		{"with .git", Rule{Repositories: []string{"github.com/acme/widget.git"}}, `without ".git"`},
		{"unknown mode", Rule{Repositories: []string{"*"}, Mode: Mode(7)}, "mode 7: want Record or Require"},
		{"bad allowed signers", Rule{Repositories: []string{"*"}, AllowedSigners: []byte("a@x cert-authority " + fx.alice.public)}, "allowed_signers line 1: cert-authority: certificates are not supported"},
		{"not armor", Rule{Repositories: []string{"*"}, OpenPGPKeys: []byte("mQINBF...")}, "hold no"},
		{"private key", Rule{Repositories: []string{"*"}, OpenPGPKeys: armoredEntity(t, true)}, "OpenPGP key block 1 is a \"PGP PRIVATE KEY BLOCK\", not a PGP PUBLIC KEY BLOCK"},
		{"bad key body", Rule{Repositories: []string{"*"}, OpenPGPKeys: []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n")}, "OpenPGP key block 1 cannot be read"},
		{"second block bad", Rule{Repositories: []string{"*"}, OpenPGPKeys: append(armoredEntity(t, false), []byte("-----BEGIN PGP SIGNATURE-----\n\nbm90\n-----END PGP SIGNATURE-----\n")...)}, "OpenPGP key block 2 is a \"PGP SIGNATURE\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&objectReader{}, Policy{Rules: []Rule{ok, tc.rule}})
			require.ErrorIs(t, err, tracking.ErrInvalidArgument)
			assert.Contains(t, err.Error(), "signature: rule 1: ")
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), strings.Fields(fx.alice.public)[1][20:40])
		})
	}
	_, err := New(nil, Policy{})
	require.ErrorIs(t, err, tracking.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "pass the host's *resolver.Registry")
}

func TestModeString(t *testing.T) {
	assert.Equal(t, "record", Record.String())
	assert.Equal(t, "require", Require.String())
	assert.Equal(t, "Mode(7)", Mode(7).String())
}
