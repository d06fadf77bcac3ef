package redact

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// mask replaces every secret. It contains none of the characters the rules
// below look for, so masked text is a fixed point of every rule.
const mask = "***"

// quoteLimit is how many bytes of redacted input [Quote] keeps: enough to
// recognise a source or DSN, short enough that hostile input cannot flood a
// log.
const quoteLimit = 64

// ellipsis marks text that [Truncate] cut.
const ellipsis = "…"

// String returns s with every credential masked as "***" (see the package
// documentation for the shapes it recognises). Text without a credential
// comes back unchanged, String(String(s)) == String(s), and it never
// panics, whatever the bytes.
//
// The rules run one after another, each over the whole text, in an order
// chosen so that no later rule can uncover work for an earlier one:
// key=value values go first, since a value may contain "/", which would end
// a URL's authority early; a value that begins with "***" (followed by "@"
// or by what ends a value) counts as masked, so a later rule that swallows
// what ended a value gives the same text when String runs again; token
// prefixes go last because masking a token body removes no character the
// other rules look for. FuzzString holds String to this.
func String(s string) string {
	s = maskKeyValues(s)
	s = maskAuthorization(s)
	s = maskURLUserinfo(s)
	s = maskSCPUserinfo(s)
	return maskTokens(s)
}

// Truncate returns s if it is at most max bytes long. Otherwise it cuts s on
// a UTF-8 boundary and appends "…", the result (ellipsis included) being at
// most max bytes; when max leaves no room for the ellipsis (max < 3) the cut
// text has none, and a max of zero or less gives "". Invalid UTF-8 is cut
// as single bytes.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	n, tail := max-len(ellipsis), ellipsis
	if n < 0 {
		n, tail = max, ""
	}
	return s[:runeBoundary(s, n)] + tail
}

// runeBoundary returns the largest cut at or below n (n < len(s)) that does
// not split a valid UTF-8 sequence.
func runeBoundary(s string, n int) int {
	start := n
	for start > 0 && n-start < utf8.UTFMax-1 && !utf8.RuneStart(s[start]) {
		start--
	}
	if utf8.RuneStart(s[start]) {
		if _, size := utf8.DecodeRuneInString(s[start:]); start+size > n {
			return start
		}
	}
	return n
}

// Quote is the one way to quote hostile input (a source, URL, DSN, name or
// any text a caller supplied) in an error or log message: it redacts s with
// [String], truncates the result to 64 bytes with [Truncate] and quotes it
// with [strconv.Quote]. Redacting first means a cut can never leave half a
// secret unmasked.
func Quote(s string) string {
	return strconv.Quote(Short(s))
}

// Short is [Quote] without the quotes, for hostile text that a message
// shows in its own words, such as a library's parse error after a colon:
// the text redacted by [String] and truncated to 64 bytes.
func Short(s string) string {
	return Truncate(String(s), quoteLimit)
}

// editor rebuilds a string with some spans replaced by mask, copying only
// when the first replacement happens.
type editor struct {
	s    string
	b    strings.Builder
	done int // s[:done] is already in b
	used bool
}

// replace masks s[from:to]; spans must come in increasing order and not
// overlap.
func (e *editor) replace(from, to int) {
	if from >= to || e.s[from:to] == mask {
		return
	}
	if !e.used {
		e.used = true
		e.b.Grow(len(e.s))
	}
	e.b.WriteString(e.s[e.done:from])
	e.b.WriteString(mask)
	e.done = to
}

func (e *editor) String() string {
	if !e.used {
		return e.s
	}
	e.b.WriteString(e.s[e.done:])
	return e.b.String()
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLetter(c) || isDigit(c) }

// endsWord reports whether c ends a run of text that could be one URL,
// token or credential: white space, quotes, angle brackets and control
// characters.
func endsWord(c byte) bool {
	return isSpace(c) || isQuote(c) || c < 0x20 || c == 0x7f || c == '<' || c == '>'
}

// endsAuthority reports whether c ends a URL's authority (RFC 3986's "/",
// "?" and "#", and "\" which browsers read as "/") or the whole URL.
func endsAuthority(c byte) bool {
	return endsWord(c) || c == '/' || c == '?' || c == '#' || c == '\\'
}

// hasPrefixFold reports whether s begins with the lowercase ASCII word p,
// in any case.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if isLetter(c) {
			c |= 0x20
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// secretKeys are the endings of the keys whose values are secrets: libpq's
// password and sslpassword, URL parameters such as access_token and
// private_token, client_secret, api_key.
var secretKeys = []string{"password", "passwd", "pwd", "token", "secret", "api_key", "api-key", "apikey"}

// maskKeyValues masks the values of key=value pairs whose key ends in one of
// secretKeys, and of JSON members written "key": "value".
func maskKeyValues(s string) string {
	e := editor{s: s}
	for i := 0; i < len(s); i++ {
		var json bool
		switch {
		case s[i] == '=' && secretKeyBefore(s, i, false):
		case s[i] == ':' && secretKeyBefore(s, i, true):
			json = true
		default:
			continue
		}
		from, to, next, quoted := valueAt(s, i+1)
		if json && !quoted {
			continue // "token": 3, or prose after a quoted word
		}
		e.replace(from, to)
		i = max(i, next-1)
	}
	return e.String()
}

// secretKeyBefore reports whether the key before the "=" or ":" at s[sep]
// (blanks allowed between them, as libpq allows) ends in one of
// secretKeys. A JSON key must end in a double quote.
func secretKeyBefore(s string, sep int, json bool) bool {
	end := sep
	for end > 0 && isBlank(s[end-1]) {
		end--
	}
	if json {
		if end == 0 || s[end-1] != '"' {
			return false
		}
		end--
	}
	for _, k := range secretKeys {
		if end >= len(k) && hasPrefixFold(s[end-len(k):end], k) {
			return true
		}
	}
	return false
}

// valueAt returns the value that starts at s[p] (after optional blanks):
// the span to mask, s[from:to], where the value ends, next, and whether it
// was quoted. A value in single or double quotes runs to the closing
// quote, honouring backslash escapes, or to the end of s when the quote is
// never closed; an unquoted value runs to white space, a quote, "&" or
// ";".
func valueAt(s string, p int) (from, to, next int, quoted bool) {
	for p < len(s) && isBlank(s[p]) {
		p++
	}
	if p < len(s) && (s[p] == '\'' || s[p] == '"') {
		q := s[p]
		k := p + 1
		for k < len(s) && s[k] != q {
			if s[k] == '\\' {
				k++
			}
			k++
		}
		k = min(k, len(s))
		return p + 1, k, min(k+1, len(s)), true
	}
	if strings.HasPrefix(s[p:], mask) && (p+len(mask) == len(s) || s[p+len(mask)] == '@' || endsValue(s[p+len(mask)])) {
		// Masked already, by this rule or by another one that swallowed
		// what used to end the value ("token= &u:p@h" is "token= ***@h").
		return p, p + len(mask), p + len(mask), false
	}
	k := p
	for k < len(s) && !endsValue(s[k]) {
		k++
	}
	return p, k, k, false
}

// endsValue reports whether c ends an unquoted value.
func endsValue(c byte) bool { return endsWord(c) || c == '&' || c == ';' }

// maskAuthorization masks the credential of an Authorization header (keeping
// its scheme word, "Bearer ***") and a credential-shaped word after a
// standalone Bearer or Basic.
func maskAuthorization(s string) string {
	e := editor{s: s}
	for i := 0; i < len(s); i++ {
		switch s[i] | 0x20 {
		case 'a':
			// No word boundary wanted: Proxy-Authorization, HTTP_AUTHORIZATION.
			if !hasPrefixFold(s[i:], "authorization") {
				continue
			}
			if from, to, ok := headerCredential(s, i+len("authorization")); ok {
				e.replace(from, to)
				i = to - 1
			}
		case 'b':
			if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '_') {
				continue
			}
			n := 0
			if hasPrefixFold(s[i:], "bearer") {
				n = len("bearer")
			} else if hasPrefixFold(s[i:], "basic") {
				n = len("basic")
			}
			if n == 0 || i+n >= len(s) || !isBlank(s[i+n]) {
				continue
			}
			from := i + n
			for from < len(s) && isBlank(s[from]) {
				from++
			}
			to := from
			for to < len(s) && isToken68(s[to]) {
				to++
			}
			if credentialShaped(s[from:to]) {
				e.replace(from, to)
				i = to - 1
			}
		}
	}
	return e.String()
}

// headerCredential finds the credential after the word "authorization"
// that ends at s[p]: a ":" or "=" (in JSON, after a closing quote), an
// optional opening quote, an optional scheme word and a blank, then the
// credential up to white space or a quote.
func headerCredential(s string, p int) (from, to int, ok bool) {
	for p < len(s) && (isBlank(s[p]) || s[p] == '"' || s[p] == '\'') {
		p++
	}
	if p == len(s) || (s[p] != ':' && s[p] != '=') {
		return 0, 0, false
	}
	p++
	for p < len(s) && isBlank(s[p]) {
		p++
	}
	if p < len(s) && (s[p] == '"' || s[p] == '\'') {
		p++
	}
	w := p
	for w < len(s) && isLetter(s[w]) {
		w++
	}
	if w > p && w < len(s) && isBlank(s[w]) {
		for w < len(s) && isBlank(s[w]) {
			w++
		}
		p = w
	}
	to = p
	for to < len(s) && !endsWord(s[to]) {
		to++
	}
	return p, to, to > p
}

// isToken68 reports whether c may appear in an RFC 9110 token68 credential.
func isToken68(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~+/=", c) >= 0
}

// credentialShaped reports whether the word after a standalone Bearer or
// Basic looks like a credential rather than prose ("Basic authentication"):
// at least 8 characters with a digit or symbol, or at least 16.
func credentialShaped(w string) bool {
	if len(w) < 8 {
		return false
	}
	if len(w) >= 16 {
		return true
	}
	for i := 0; i < len(w); i++ {
		if !isLetter(w[i]) {
			return true
		}
	}
	return false
}

// maskURLUserinfo masks everything between "://" and the last "@" of the
// authority, unless that is the user name "git". When the authority holds no "@" but looks like the start of
// "user:password" (a ":" followed by something that is not a port) and an
// "@" comes later in the same word, the password evidently contains a "/",
// "?", "#" or "\": everything up to the word's last "@" is masked.
func maskURLUserinfo(s string) string {
	e := editor{s: s}
	// wordEnd is the end of the word holding the current "://", lastAt the
	// word's last "@" (or -1); they are found once per word so that many
	// "://" in one word cost linear time.
	wordEnd, lastAt := -1, -1
	for i := 0; ; {
		k := strings.Index(s[i:], "://")
		if k < 0 {
			break
		}
		p := i + k + len("://")
		i = p
		if p > wordEnd {
			wordEnd, lastAt = p, -1
			for wordEnd < len(s) && !endsWord(s[wordEnd]) {
				if s[wordEnd] == '@' {
					lastAt = wordEnd
				}
				wordEnd++
			}
		}
		end := p
		for end < wordEnd && !endsAuthority(s[end]) {
			end++
		}
		if at := strings.LastIndexByte(s[p:end], '@'); at >= 0 {
			if s[p:p+at] != sshUser {
				e.replace(p, p+at)
			}
			i = p + at + 1
			continue
		}
		if lastAt > end && looksLikePassword(s[p:end]) {
			e.replace(p, lastAt)
			i = lastAt + 1
		}
	}
	return e.String()
}

// sshUser is the one user name kept in a URL: the conventional ssh user of
// every git host ("git+ssh://git@github.com/o/r"), which is no secret and
// which the hints of error messages must be able to show.
const sshUser = "git"

// looksLikePassword reports whether an authority without "@" is rather the
// start of "user:password": it has a ":" followed by a non-digit, and is
// not an IPv6 literal.
func looksLikePassword(authority string) bool {
	if strings.HasPrefix(authority, "[") {
		return false
	}
	c := strings.IndexByte(authority, ':')
	if c < 0 {
		return false
	}
	for i := c + 1; i < len(authority); i++ {
		if !isDigit(authority[i]) {
			return true
		}
	}
	return false
}

// maskSCPUserinfo masks "user:password" before an "@" written without a
// scheme (git's scp-like "user:pass@host:path"): the run of characters
// before each "@", back to anything that ends an authority or another "@",
// when that run holds a ":". A user name alone ("git@github.com:o/r") is
// not a secret and stays.
func maskSCPUserinfo(s string) string {
	e := editor{s: s}
	start := 0 // first byte of the current run
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '@':
			if strings.IndexByte(s[start:i], ':') >= 0 {
				e.replace(start, i)
			}
			start = i + 1
		case endsAuthority(s[i]):
			start = i + 1
		}
	}
	return e.String()
}

// tokenPrefixes are the published prefixes of GitHub, GitLab and Slack
// tokens. The prefix stays visible so a reader knows what kind of
// credential was there.
var tokenPrefixes = []string{"github_pat_", "ghp_", "gho_", "ghs_", "ghu_", "ghr_", "glpat-", "xoxb-", "xoxp-", "xoxa-", "xapp-"}

// maskTokens masks the body of every token that starts with one of
// tokenPrefixes, wherever it appears.
func maskTokens(s string) string {
	e := editor{s: s}
	for i := 0; i < len(s); i++ {
		if s[i] != 'g' && s[i] != 'x' {
			continue
		}
		n := 0
		for _, p := range tokenPrefixes {
			if strings.HasPrefix(s[i:], p) {
				n = len(p)
				break
			}
		}
		if n == 0 {
			continue
		}
		from := i + n
		to := from
		for to < len(s) && (isAlnum(s[to]) || s[to] == '_' || s[to] == '-' || s[to] == '.') {
			to++
		}
		for to > from && s[to-1] == '.' { // a full stop ending a sentence
			to--
		}
		e.replace(from, to)
		i = max(from, to) - 1
	}
	return e.String()
}

// Error returns err with its message passed through [String]; errors.Is and
// errors.As still see err. It is nil when err is nil. Use it where error
// text from outside the module (an Installer, a Restarter, a Resolver)
// enters plugindrift, so every log line, stored message and report that
// carries it is redacted.
func Error(err error) error {
	if err == nil {
		return nil
	}
	return redacted{err}
}

type redacted struct{ err error }

func (r redacted) Error() string { return String(r.err.Error()) }
func (r redacted) Unwrap() error { return r.err }
