// Package gitcli resolves refs with the git command line: one
// "git ls-remote" per resolution, never a clone. It serves git sources
// (git+https, git+http, git+ssh and, when opted in, git+file) and github
// sources (github://owner/repo, read as <GitHubBaseURL>/owner/repo.git).
//
// # What is asked
//
// Each ref kind asks the remote for full ref names only, so that nothing
// else matches:
//
//	tag:v1.2.3         ls-remote -- <url> refs/tags/v1.2.3 refs/tags/v1.2.3^{}
//	branch:main        ls-remote -- <url> refs/heads/main
//	head               ls-remote --symref -- <url> HEAD
//	tag:latest, semver ls-remote --tags -- <url>, then the tag selection rules
//
// ls-remote patterns match the tail of a ref name (refs/heads/main also
// matches refs/heads/x/refs/heads/main), so the answer is filtered to the
// exact name. For an annotated tag the peeled line ("^{}") gives the
// commit; the tag object's own id is never returned.
//
// # Conditional requests
//
// git has no conditional ls-remote, so every resolution costs one round
// trip. When the answer equals Request.Known (same SHA and version, and no
// validator), Resolve reports Result.Unchanged. Result.Validator is always
// empty.
//
// # Hardening
//
// Sources and refs are valid by construction (tracking.ParseSource and
// tracking.ParseRef refuse option-like names, credentials, remote helpers
// and the rest, and are their only constructors), so the resolver does not
// re-validate them. Before git runs it refuses only what its configuration
// decides: a source without upstream or a ref that is not tracked
// ([resolver.ErrUnsupported]), file sources unless Config.AllowFile. A
// github://owner/repo source is read from Config.GitHubBaseURL, as is one
// naming that URL's host; github://host/owner/repo naming another GitHub
// (Enterprise) host is read from https://host/owner/repo.git, never from
// the configured host. git then runs with
// "--" before positional arguments, a timeout, no terminal prompts or
// askpass helpers, no system or global configuration, no repository of the
// working directory, GIT_ALLOW_PROTOCOL limited to https, http, ssh (and
// file when allowed), and LC_ALL=C so that its messages can be classified.
//
// # Errors
//
// "Repository not found", "does not appear to be a git repository", an
// HTTP 404, a missing ref, an empty repository and a commit the remote does
// not have all match [resolver.ErrNotFound]. Failures of git are wrapped
// around a [*CommandError], whose message is short and whose Stderr field
// keeps git's own words for logs.
//
// # Fetching
//
// [Resolver.Fetch] materialises one commit: git init in a temporary
// directory beside the target, git fetch --depth=1 of that commit, a
// checkout, then a rename into place without .git. The download and the
// tree are bounded by Config.MaxFetchBytes.
//
// # Force-push detection
//
// With Config.HistoryCacheDir set, [Resolver.NotAncestors] tells which
// installed commits a moved branch no longer contains. It keeps one
// treeless partial clone per repository (git fetch --filter=tree:0 of the
// tip: commits only, bounded by Config.MaxFetchBytes, with a commit graph)
// and answers with git merge-base --is-ancestor. The first check of a
// repository downloads its commit history (see BENCHMARKS.md for the
// cost on git/git); later ones fetch only new commits, and a sweep in
// which nothing moved runs no check at all. It is off by default.
package gitcli
