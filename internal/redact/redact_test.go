package redact_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/redact"
)

func TestStringMasksCredentials(t *testing.T) {
	cases := []struct{ in, want string }{
		// URL userinfo, with and without a password.
		{"git+https://ghp_0123456789abcdefghijklmnopqrstuvwxyzAB@github.com/o/r.git", "git+https://***@github.com/o/r.git"},
		{"git+https://user:pass@host.example/o/r#v1", "git+https://***@host.example/o/r#v1"},
		{"git+http://user:pass@host.example/o/r", "git+http://***@host.example/o/r"},
		{"git+ssh://user:pass@host.example:2222/o/r", "git+ssh://***@host.example:2222/o/r"},
		{"git+ssh://deploy@github.com/o/r", "git+ssh://***@github.com/o/r"},
		{"git+ssh://git:pw@github.com/o/r", "git+ssh://***@github.com/o/r"},
		{"github://TOKEN123@o/r", "github://***@o/r"},
		{"https://x-access-token:s3cr3t@github.com/o/r", "https://***@github.com/o/r"},
		{"https://oauth2:s3cr3t@gitlab.example/o/r", "https://***@gitlab.example/o/r"},
		{"https://user:p@ss@host/x", "https://***@host/x"},
		{"clone https://a:b@h/x and https://c:d@i/y", "clone https://***@h/x and https://***@i/y"},
		// A password with a "/" ends the authority early; the later "@" still counts.
		{"https://user:pa/ss@host/x", "https://***@host/x"},
		{"https://user:pa?ss@host/x", "https://***@host/x"},
		// scp-like.
		{"user:pass@host.example:o/r", "***@host.example:o/r"},
		// Tokens by prefix.
		{"token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB rejected", "token ghp_*** rejected"},
		{"gho_abc ghs_abc ghu_abc ghr_abc", "gho_*** ghs_*** ghu_*** ghr_***"},
		{"github_pat_11ABCDEFG0_abcdefXYZ", "github_pat_***"},
		{"glpat-abcDEF123-xyz", "glpat-***"},
		{"xoxb-1234-5678-abcd xoxp-1 xoxa-2 xapp-1-A-3", "xoxb-*** xoxp-*** xoxa-*** xapp-***"},
		{"bad token xoxb-1234.", "bad token xoxb-***."},
		// key=value in DSNs and query strings.
		{"postgres://host=db password=hunter2 sslmode=disable", "postgres://host=db password=*** sslmode=disable"},
		{"host=db user=u password='a b\\' c' dbname=x", "host=db user=u password='***' dbname=x"},
		{`host=db password="a b" port=5`, `host=db password="***" port=5`},
		{"host=db password = hunter2", "host=db password = ***"},
		{"host=db PassWord=hunter2", "host=db PassWord=***"},
		{"sslpassword=k1 passwd=k2 pwd=k3;secret=k4", "sslpassword=*** passwd=*** pwd=***;secret=***"},
		{"https://h/x?access_token=abc&private_token=def&token=ghi&page=2", "https://h/x?access_token=***&private_token=***&token=***&page=2"},
		{"client_secret=abc api_key=def", "client_secret=*** api_key=***"},
		{"password='never closed", "password='***"},
		// Another rule swallows what ended an empty value: still masked once.
		{"token= &u:p@h", "token= ***@h"},
		{`{"password": "a \" b", "user": "u", "access_token":"t0k"}`, `{"password": "***", "user": "u", "access_token":"***"}`},
		// Authorization headers and bare Bearer/Basic credentials.
		{"Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"},
		{"authorization: Basic dXNlcjpwYXNz", "authorization: Basic ***"},
		{`{"Authorization": "token abc123"}`, `{"Authorization": "token ***"}`},
		{"Authorization: abc123", "Authorization: ***"},
		{"sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "sent Bearer ***"},
		{"sent Basic dXNlcjpwYXNzd29yZA==", "sent Basic ***"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got := redact.String(c.in)
			require.Equal(t, c.want, got)
			require.Equal(t, got, redact.String(got), "String must be idempotent")
		})
	}
}

func TestStringLeavesOrdinaryTextUnchanged(t *testing.T) {
	for _, s := range []string{
		"",
		"tracking: invalid source: unknown scheme \"ftp\"; write git+https://host/path",
		"git+https://github.com/o/r.git#v1.2.3",
		"github://owner/repo#main",
		"git@github.com:o/r",
		"git+ssh://git@github.com/o/r.git",
		"https://[2001:db8::1]:8443/o/r",
		"https://host:8080/o/r",
		"https://proxy.golang.org/example.com/m/@v/list",
		"mail ops@example.com",
		"Basic authentication required; send a Bearer token",
		"sqlite:///var/lib/app.db",
		"host=db user=app dbname=plugins sslmode=disable",
		"the token was rejected: bad credentials",
		`{"token": 3, "tokens": "x"}`,
		`"password": the field is required`,
		"日本語のテキスト",
		"\xff\xfe invalid \x80 bytes",
	} {
		require.Equal(t, s, redact.String(s))
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 64, "short"},
		{"exactly", 7, "exactly"},
		{"abcdefgh", 7, "abcd…"},
		{"abcdefgh", 3, "…"},
		{"abcdefgh", 2, "ab"},
		{"abcdefgh", 0, ""},
		{"abcdefgh", -1, ""},
		// "é" is two bytes: cutting inside it backs up to its start.
		{"aébcd", 5, "a…"},
		{"aébcde", 6, "aé…"},
		{"日本語", 7, "日…"},
		{"日本語", 2, ""},
		// Invalid UTF-8 is cut as single bytes.
		{"\x80\x80\x80\x80\x80\x80", 5, "\x80\x80…"},
	}
	for _, c := range cases {
		got := redact.Truncate(c.in, c.max)
		require.Equal(t, c.want, got, "Truncate(%q, %d)", c.in, c.max)
		require.LessOrEqual(t, len(got), max(c.max, 0))
	}
}

func TestTruncateNeverSplitsARune(t *testing.T) {
	s := strings.Repeat("aé日😀", 20)
	for n := 0; n <= len(s); n++ {
		got := redact.Truncate(s, n)
		require.True(t, utf8.ValidString(got), "Truncate(s, %d) = %q", n, got)
		require.LessOrEqual(t, len(got), n)
		require.True(t, strings.HasPrefix(s, strings.TrimSuffix(got, "…")))
	}
}

func TestQuoteRedactsBeforeTruncating(t *testing.T) {
	// The token starts before byte 64 and ends after it: truncating first
	// would keep its head.
	secret := "ghp_" + strings.Repeat("Zq9", 12)
	in := strings.Repeat("x", 50) + " " + secret + " tail"
	got := redact.Quote(in)
	require.Equal(t, strconv.Quote(strings.Repeat("x", 50)+" ghp_*** tail"), got)
	require.NotContains(t, got, "Zq9")

	long := "git+https://host.example/" + strings.Repeat("p/", 40)
	q, err := strconv.Unquote(redact.Quote(long))
	require.NoError(t, err)
	require.LessOrEqual(t, len(q), 64)
	require.True(t, strings.HasSuffix(q, "…"))
}

// BenchmarkString runs String on text built to make a careless scanner
// quadratic: many "://", "=" and "@" in one word, an unclosed quote. The
// time per byte stays flat as the size grows.
func BenchmarkString(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20} {
		for name, unit := range map[string]string{
			"schemes": "a:b://a:b",
			"keys":    "password=x;",
			"ats":     "a:b@",
			"quote":   "password='",
			"tokens":  "ghp_ghp_",
		} {
			in := strings.Repeat(unit, n/len(unit))
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					redact.String(in)
				}
			})
		}
	}
}

func TestErrorMasksAndUnwraps(t *testing.T) {
	inner := fmt.Errorf("clone https://bob:hunter22@git.example.com/r.git: %w", os.ErrNotExist)
	err := redact.Error(inner)
	if strings.Contains(err.Error(), "hunter22") {
		t.Fatalf("Error(%q) = %q: the password survived", inner, err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Error(%q) no longer matches os.ErrNotExist", inner)
	}
	if redact.Error(nil) != nil {
		t.Fatal("Error(nil) is not nil")
	}
}
