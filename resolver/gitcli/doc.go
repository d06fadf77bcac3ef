// Package gitcli resolves refs with the git command line: one
// "git ls-remote" per resolution, never a clone. It serves git sources
// (git+https, git+http, git+ssh and, when opted in, git+file) and github
// sources (github://owner/repo, read as <GitBaseURL>/owner/repo.git of
// the source's host in Config.GitHubHosts).
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
// github://owner/repo source is read from the GitBaseURL of the default
// host of Config.GitHubHosts (github.com unless configured), one naming a
// listed host from that host's GitBaseURL, and one naming a host not
// listed from https://host/owner/repo.git, never from another host. git
// then runs with "--" before positional arguments, a timeout, no terminal
// prompts or askpass helpers, no system or global configuration (so none
// of the machine's credential helpers either), no repository of the
// working directory, GIT_ALLOW_PROTOCOL limited to https, http, ssh (and
// file when allowed), and LC_ALL=C so that its messages can be classified.
//
// # Credentials
//
// Private remotes get their credentials from Config.Credentials, a hook
// the host implements (a secret store, a GitHub App: see the github
// package's App). It is asked before each git call that reaches a remote,
// with the source, the transport and the host, and answers with one of:
//
//   - [Basic]: HTTPS basic authentication (for GitHub tokens, user
//     "x-access-token"). git's credential.helper is set, through
//     GIT_CONFIG_COUNT variables of the git process rather than its
//     arguments, to a shell function that answers git's credential
//     protocol by copying a pipe that git inherits as file descriptor 3.
//     The user name and password are written to that pipe only: they are
//     in no argument, no file and no environment variable, and only git
//     and the programs it starts can read them, once.
//   - [Bearer]: an HTTPS bearer token, sent as http.extraHeader
//     "Authorization: Bearer …". git (2.39) has no way to read a header
//     from a pipe, so the header is a GIT_CONFIG_VALUE variable of the git
//     process: in no argument or file, but readable, like any process's
//     environment, by processes of the same user through /proc. Prefer
//     Basic where the server accepts it (GitHub does).
//   - [SSHKey]: a private key and a known_hosts file. The key is written
//     to a file only its owner can read, in a temporary directory only its
//     owner can enter, removed when the git call returns (ssh reads keys
//     from files only); GIT_SSH_COMMAND runs ssh with that key alone
//     (-i, IdentitiesOnly=yes, no agent), StrictHostKeyChecking=yes
//     against the given UserKnownHostsFile, BatchMode=yes and no ssh
//     configuration files.
//
// A credential of the wrong kind for the transport, or one that could not
// be passed safely (a line break in a password, a space in a token), is
// refused with tracking.ErrInvalidArgument before git runs, without
// quoting the secret. Without Config.Credentials git goes without; the
// ssh agent of the host process (SSH_AUTH_SOCK) still serves git+ssh.
//
// # Errors
//
// "Repository not found", "does not appear to be a git repository", an
// HTTP 404, a missing ref, an empty repository and a commit the remote does
// not have all match [resolver.ErrNotFound]. A remote that wants
// credentials and got none, or refuses the ones it got (HTTP 401 or 403,
// "Authentication failed", ssh's "Permission denied (publickey)", a host
// key not in the known hosts), matches [resolver.ErrUnauthorized]
// instead, with a message that says whether to configure
// Config.Credentials or to check the credentials it returned. Failures of git are wrapped
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
//
// # Signed objects
//
// [Resolver.ReadObjects] hands a signature check (package
// resolver/signature) the raw commit of a resolution and, for tag refs,
// its annotated tag, byte for byte as git hashes them. It fetches commits
// only (git fetch --depth=1 --filter=tree:0 --no-tags, with the same
// credentials and bounds as Fetch) into a temporary repository it removes,
// or reads from the history clone when Config.HistoryCacheDir is set,
// fetching nothing the clone already holds. It checks that the tag still
// names the resolved commit and is the tag resolved; a tag moved meanwhile
// is an error, and the next sweep sees the move. The Sweeper asks only
// when an upstream's commit moved.
package gitcli
