// Package redact is the only way plugindrift quotes sources, URLs, DSNs and
// any other input a caller or a remote handed it: in error messages, log
// records, API responses and pages. Hosts log and return those texts, so
// nothing that could be a credential may pass through them.
//
// [String] masks credentials, [Truncate] shortens text on a UTF-8 boundary,
// and [Quote] does both (redacting first, so a cut never leaves half a
// secret unmasked) and quotes the result for an error message:
//
//	return fmt.Errorf("tracking: invalid source %s: %s", redact.Quote(s), problem)
//
// # What is masked
//
// Each secret is replaced by "***"; the text around it stays, so a message
// still says which URL or setting was wrong:
//
//   - URL userinfo: everything between "://" and the "@" that ends the
//     authority ("git+https://***@github.com/o/r.git", "github://***@o/r"),
//     with or without a ":" password, and an scp-like "user:pass@host";
//   - tokens by their published prefixes, keeping only the prefix: ghp_,
//     gho_, ghs_, ghu_, ghr_, github_pat_ (GitHub), glpat- (GitLab),
//     xoxb-, xoxp-, xoxa-, xapp- (Slack), e.g. "ghp_***";
//   - the value of a key=value pair whose key ends in password, passwd, pwd,
//     token, secret or api_key (any case), as libpq writes them in a DSN
//     ("password='***'", spaces around "=" allowed, quoted values with
//     backslash escapes) and as URL query parameters ("?access_token=***");
//   - the credential of an Authorization header ("Authorization: Bearer ***",
//     "Basic ***"), and a credential-shaped word after Bearer or Basic
//     elsewhere.
//
// String is idempotent, runs in time linear in its input, accepts invalid
// UTF-8 and leaves text without any of these shapes byte-for-byte unchanged.
package redact
