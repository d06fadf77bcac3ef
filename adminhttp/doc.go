// Package adminhttp is the operator's side of plugindrift: a JSON API and a
// server-rendered admin page to review the update queue, apply or dismiss
// entries and run a sweep now. It is one [net/http.Handler], built by
// [NewHandler], that any router can mount.
//
// # Mounting
//
// The handler serves everything under [Config].Prefix (default "/admin")
// and expects to see the full request path: mount it on that prefix
// without stripping it.
//
//	admin, err := adminhttp.NewHandler(adminhttp.Config{
//		Updater:   updater,        // *drift.Updater, required
//		Sweeper:   sweeper,        // *drift.Sweeper, optional
//		Store:     store,          // storage.Store, required
//		Authorize: authorize,      // required
//	})
//	mux.Handle("/admin/", admin)                // net/http
//	r.Mount("/admin", admin)                    // chi
//	g.Any("/admin/*any", gin.WrapH(admin))      // gin
//	e.Any("/admin/*", echo.WrapHandler(admin))  // echo
//
// GET {prefix} redirects to {prefix}/. Paths with an empty, "." or ".."
// segment (also when written %2e%2e) are refused with 400 rather than
// cleaned and redirected.
//
// # Authorization
//
// [Config].Authorize runs first, on every request but the stylesheet's:
// API routes, the page, its form posts, and paths that do not exist (so
// an unauthorized caller learns nothing, not even which routes exist). It
// is told the [Operation] the route performs, so a host can grant some
// and refuse others; a read-only role is one granted [OpRead] alone:
//
//	read      GET plugin-updates, plugin-updates/{id}, plugin-updates-pending,
//	          sweeps/latest, installs, holds,
//	          installs/{workspace}/{plugin}/explain; GET {prefix}/ (every
//	          view); any path that does not exist, has a bad method or is
//	          not canonical
//	apply     POST plugin-updates/{id}/apply, bulk/apply, ui/plugin-updates/{id}/apply, ui/bulk/apply
//	dismiss   POST plugin-updates/{id}/dismiss and /restore, bulk/dismiss and
//	          bulk/restore, and their ui/ forms
//	sweep     POST sweeps, upstreams/check, ui/sweeps, ui/upstreams/check
//	rollback  POST installs/{workspace}/{plugin}/rollback,
//	          ui/installs/{workspace}/{plugin}/rollback
//	holds     POST holds/{id}/release, ui/holds/{id}/release
//
// ([OpEvents] names the routes of the events outbox.) Authorize returns
// the actor, recorded as decided_by on the
// entries the request applies or dismisses, or an error:
//
//   - [ErrUnauthenticated] (or an error wrapping it): 401 "unauthorized",
//     with the WWW-Authenticate header of [Config].AuthChallenge; on the
//     page's paths, [Config].OnUnauthenticated answers instead when set
//     (to redirect to the host's login, say);
//   - [ErrForbidden]: 403 "forbidden", saying which operation was refused;
//   - any other error: logged, and 403 "forbidden" (deny by default).
//
// The page asks Authorize once more per operation its controls perform
// (apply, dismiss, sweep, holds, rollback) and leaves out the controls the actor may not
// use: a read-only operator sees the queue without buttons. The
// stylesheet, which holds nothing but style, is served to anyone, so that
// the error pages of refused requests are styled too; an error page links
// back to the page only when the caller may read it, so a refused page
// never links to itself.
//
// An empty actor, or one the Updater cannot record (over
// drift.MaxActorLen bytes, invalid UTF-8, control characters), is logged
// and denied with 403. NewHandler refuses a Config without Authorize
// unless AllowUnauthenticated is set, which is meant for demos on a
// trusted machine: it logs a warning and records [AnonymousActor].
//
// Browser requests that change state are checked by
// [net/http.CrossOriginProtection], on the API and the page alike: a POST
// whose Sec-Fetch-Site is not same-origin (or none), or, from older
// browsers, whose Origin does not match the Host, is refused with 403
// "forbidden" right after authorization, before anything happens. Clients that send neither header,
// such as curl or a Go program, are unaffected. [Config].TrustedOrigins
// admits named cross-origin callers.
//
// # JSON API
//
//	GET  {prefix}/plugin-updates                200 {"updates":[…], "next_cursor":"…"}
//	GET  {prefix}/plugin-updates/{id}           200 {"update":{…}}; 404
//	POST {prefix}/plugin-updates/{id}/apply     200 {"update":{…}}; 400; 404; 409 conflict, busy, confirmation_required, verification_required; 502 install_failed, restart_failed
//	POST {prefix}/plugin-updates/{id}/dismiss   200 {"update":{…}}; 404; 409 conflict
//	POST {prefix}/plugin-updates/{id}/restore   200 {"update":{…}}; 404; 409 conflict
//	POST {prefix}/bulk/apply                    200 {"results":[…], "succeeded":n, "failed":m}
//	POST {prefix}/bulk/dismiss                  200 the same
//	POST {prefix}/bulk/restore                  200 the same
//	POST {prefix}/sweeps                        200 {"report":{…}}; 202 {"sweep":{…}}; 501 not_implemented without a Sweeper
//	GET  {prefix}/sweeps/latest                 200 {"sweep":{…}}; 501 not_implemented without a Sweeper
//	POST {prefix}/upstreams/check               200 {"report":{…}}; 404; 501 not_implemented without a Sweeper
//	GET  {prefix}/installs                      200 {"installs":[…], "next_cursor":"…"}
//	GET  {prefix}/plugin-updates-pending        the pending list, as the system plugindrift replaces served it
//	POST {prefix}/installs/{workspace}/{plugin}/rollback  200 {"update":{…}, "hold":{…}}; 400; 404; 409 conflict, busy; 502 install_failed, restart_failed
//	GET  {prefix}/holds                         200 {"holds":[…]}; takes workspace_id, plugin_name, active=true
//	POST {prefix}/holds/{id}/release            200 {"hold":{…}}; 404
//	GET  {prefix}/installs/{workspace}/{plugin}/explain   200 {"install", "ring", "upstream", "open_update", "dismissed", "holds", "reasons"}; 404
//
// GET {prefix}/plugin-updates takes status (pending, applying, applied,
// dismissed, superseded; repeat it or separate with commas; default: all),
// workspace_id (exact), workspace_prefix (the beginning of workspace ids),
// plugin_name, kind (new-version, new-commit, tag-moved; repeatable like
// status), source (as the entries show it), order (oldest, the default;
// newest; or decided: decided entries only, newest decision first), limit
// (1 to 200, default 50) and cursor. An empty status or kind filters
// nothing. {prefix}/plugin-updates-pending takes the same without status;
// {prefix}/installs takes workspace_id, workspace_prefix, plugin_name,
// limit and cursor, and lists installs by workspace and plugin. The page's
// filters are read by the same functions, so both refuse the same
// values. A cursor is opaque:
// pass the next_cursor of the previous page unchanged; next_cursor is ""
// on the last page. Pages are keyset-based, so entries added meanwhile
// never make a page repeat or skip one. Unknown or repeated parameters
// are refused, and so is a query that does not parse (a pair holding ";",
// which Go's own parser would drop silently, or a bad % escape), so a typo
// is an error rather than an unfiltered list. {prefix}/sweeps/latest
// takes no parameters.
//
// Apply is idempotent: applying an applied entry returns it (200) without
// a second install; if its restart had failed, only the restart is
// retried. busy means another request is installing it right now. The
// bodies of 409 and 502 answers carry the entry's current state under
// "update" (for restart_failed, the applied entry with its
// restart_error). An integrity alarm (kind tag-moved) is applied only
// with the body {"confirm_tag_moved": true}, saying the caller compared
// the commits, as the page's confirmation box does; without it the
// answer is 409 confirmation_required and nothing is installed.
//
// An entry whose trust policy requires a verified signature that its
// commit lacks (its verification's "blocks" is true) is applied only
// with the body {"unverified_reason": "…"}: why the operator, having
// reviewed the commit, installs it unverified. The reason (1 to
// drift.MaxReasonLen bytes of UTF-8 after surrounding blanks are
// dropped; newline and tab are the only control characters allowed; 400
// otherwise, and nothing changes) is recorded as the applied entry's
// "override" ([drift.Updater.ApplyUnverified]). Without it the answer is
// 409 verification_required, saying so, and nothing is installed. An
// integrity alarm that is also blocked needs both confirm_tag_moved and
// unverified_reason. For an entry that is not blocked the reason is
// ignored and no override is recorded.
// Restore puts a dismissed entry back to pending while its change is
// still current (the install is still at from_sha and upstream still
// resolves to to_sha); otherwise it is 409 conflict. Restoring a pending
// entry returns it unchanged. Dismiss takes an optional body {"reason": "…"}
// (at most drift.MaxReasonLen bytes of UTF-8; newline and tab are the
// only control characters allowed); dismissing a dismissed entry returns
// it unchanged. Restore and sweeps take no body, or {}.
//
// The bulk routes make one decision on many entries: {"ids": [1, 2, …]}
// (1 to [MaxBulk] ids, each once), plus "confirm_tag_moved" and
// "unverified_reason" for apply and "reason" for dismiss, with the
// meanings above. Each entry is decided on
// its own, in the order given, exactly as its single route would; one
// that fails neither stops nor undoes the others. The answer is 200
// whenever the request was valid, with one result per id, in order:
//
//	{"id": 7, "ok": false, "error": {"code": "conflict", "message": "…"}, "update": {…}}
//
// ok is true and error null on success; on failure error has the code and
// message the single route would have answered, and update the entry's
// current state (null when it does not exist). "succeeded" and "failed"
// count the results. Each action is its own route, so that its operation
// is known, and authorized, before the body is read.
//
// # Sweeps
//
// POST {prefix}/sweeps starts a sweep with [drift.Sweeper.Trigger], or joins
// the one running (started by a request, the schedule or RunOnce). The
// sweep runs under the Sweeper's own lifetime, never under the request's:
// a client that gives up, or a proxy that times out, stops nothing. The
// handler waits up to [Config].SweepWait (default [DefaultSweepWait], 5
// seconds) for it: a sweep done by then is answered 200 with its report;
// otherwise the answer is 202 Accepted with a Location header naming
// {prefix}/sweeps/latest and the body {"sweep": …} below, state
// "running". A sweep that could not run (the store failed, the Sweeper
// was stopped) is answered 500 internal.
//
// GET {prefix}/sweeps/latest answers the latest sweep of any replica that
// shares the store ([drift.Sweeper.LatestSweep]): every sweep that ran is
// recorded there, so the GET of the 202's Location may reach any replica.
// A sweep running on another replica shows once it has ended: until
// then the answer is the sweep before it, and a client waiting for the
// one it started compares started_at with the 202's.
//
//	{"sweep": {"state": "done", "started_at": "2031-01-02T03:04:05Z",
//	 "finished_at": "2031-01-02T03:04:09Z", "report": {…}, "error": ""}}
//
// POST {prefix}/upstreams/check {"source": "…", "ref": "…"} checks that
// one upstream now with [drift.Sweeper.Check], even while it is backing
// off after failures, and answers with the check's report; 404 when no
// install tracks it.
//
// state is "none" (no sweep is known: the other keys are null or ""),
// "running" (report null), "done", or "failed" (the sweep stopped
// before it was done; report says what it did until then and error, in
// words written here, why).
//
// An update is
//
//	{"id": 7, "workspace_id": "ws-1", "plugin_name": "chat",
//	 "source": "github://acme/chat", "ref": "tag:latest",
//	 "from_sha": "…", "to_sha": "…", "from_version": "v1.0.0", "to_version": "v1.1.0",
//	 "kind": "new-version", "bump": "minor", "status": "pending",
//	 "detected_at": "2031-01-02T03:04:05Z", "last_seen_at": "…", "decided_at": null,
//	 "decided_by": "", "reason": "", "attempts": 0, "last_error": "", "restart_error": "",
//	 "verification": {"state": "verified", "signer": "release@acme.example", "by": "plugindrift",
//	   "detail": "…", "required": true, "blocks": false},
//	 "override": ""}
//
// verification is the signature check of to_sha (and, for tag refs, its
// annotated tag) under the source's trust policy: state is verified
// (signer names who signed), unsigned, untrusted-signer (signer names
// the key), bad-signature or not-checked (no policy applies); by names
// who judged ("plugindrift", or the upstream host); detail says in one
// line what was checked; required is set when the policy requires a
// verified signature, and blocks when it therefore refuses the entry
// without an override. override is the reason recorded when an operator
// applied a blocked entry ("" otherwise; decided_by names them).
// The list routes do not filter by verification.
//
// bump is how far a new-version entry's versions move: "major", "minor",
// "patch" or "prerelease" ("" for other kinds, and for versions that are
// not semantic versions). Every key is always present. Times are RFC 3339 in UTC; a time that is
// not set is null. last_error and restart_error are what the host's
// Installer and Restarter reported, recorded in the queue for operators,
// and shown as described under Errors.
// An install is {"workspace_id", "plugin_name", "source", "ref",
// "tracked", "installed_sha", "installed_version", "installed_at",
// "updated_at"}. A sweep report, on POST {prefix}/sweeps and under
// "report" of {prefix}/sweeps/latest, is the counts of [drift.Report]:
//
//	{"skipped": false, "upstreams": 12, "resolved": 11, "unchanged": 9,
//	 "failed": 1, "deferred": 0, "installs": 30, "queued": 2, "superseded": 1,
//	 "duration_ns": 1840000000,
//	 "errors": [{"source": "github://acme/chat", "ref": "tag:latest", "error": "…"}]}
//
// Every key but errors is always present; errors lists the first failing
// upstreams, one error each, and is left out when none failed.
// duration_ns is in nanoseconds. Each error is shown as described under
// Errors.
//
// # Errors
//
// Every error answer of the API is
//
//	{"error": {"code": "not_found", "message": "update 7 does not exist"}}
//
// with one of the stable codes bad_request (400), unauthorized (401),
// forbidden (403), not_found (404), method_not_allowed (405, with an
// Allow header), conflict, busy, confirmation_required and
// verification_required (409), payload_too_large (413),
// unsupported_media_type (415), internal (500), not_implemented (501),
// install_failed and restart_failed (502). Messages are written by this
// package; the text of the errors it ran into (from the store, the
// installer, the restarter, git or GitHub) is logged ([Config].Logger),
// never put in a message.
//
// What the installer, the restarter and upstream (git, GitHub, any
// resolver) wrote is shown, to authorized operators only, where it is the
// point: an entry's last_error and restart_error, and the errors of a
// sweep report, on the API and on the page alike. All of it passes through
// one function first: credentials are masked by the SDK's one redaction
// function ("https://***@host/…", "token=***", "ghp_***"), and every absolute
// local path is cut to its last element ("open …/chat: permission
// denied" for "open /srv/plugins/ws-1/chat: permission denied"), file://
// URLs included; the paths of other URLs are kept.
//
// Request bodies are capped at [Config].MaxBodyBytes (413 beyond). A
// non-empty body must be Content-Type application/json (415 otherwise),
// valid UTF-8, and exactly one JSON object with known keys, each once and
// spelled exactly; anything after the object is refused. Ids are positive
// decimal integers of at most 19 digits, without sign or leading zeros.
//
// # The page
//
// GET {prefix}/ is a server-rendered page (html/template, an embedded
// stylesheet, no JavaScript; it works with scripts off, and its
// Content-Security-Policy allows none). Its tabs are the queue (the
// default), the installs (?view=installs), upstream health
// (?view=upstreams) and the holds (?view=holds); one install's
// explanation is ?view=explain&workspace=…&plugin=…. Above them, a summary bar counts the whole queue:
// pending entries by kind, integrity alarms, failing upstreams, and when
// the last sweep of any replica ended ([drift.Sweeper.LatestSweep]) and
// this process's schedule's next one is due ([drift.Sweeper.Next]). The queue tab shows:
//
//   - integrity alarms (moved tags) first, newest first, each on its own
//     row: workspace, plugin and source, the tracked ref, from → to as
//     12-character SHAs (full SHA on hover), versions, a warning, and a
//     confirmation box to tick before Apply;
//   - then every other open entry grouped by change, one group per
//     (upstream, from → to), oldest change first: the plugin, versions,
//     kind and semver bump, source and ref, both commits, a link to
//     compare them, and one row per workspace it affects with how long
//     ago it was detected, the last install error (long ones folded into
//     a <details>) and its Apply and Dismiss; "Apply all" and "Dismiss
//     all" act on the group's pending entries, each on its own as the bulk
//     routes do, and the flash says how many ended as asked;
//   - on every entry, queued or decided, its signature check as a badge:
//     the state in words (verified, unsigned, untrusted signer, bad
//     signature, not checked), the signer or the detail as text, who
//     judged when it was not plugindrift itself, and "required" when the
//     policy requires a verified signature; dangerous for a bad signature
//     and for an entry the policy blocks. A pending entry that is blocked
//     has "Apply unverified" instead of Apply: a required reason field,
//     posted as unverified_reason (with the confirmation box too for an
//     alarm), which the history shows as "Applied unverified: …"; "Apply
//     all" leaves blocked entries out, as each needs its own reason;
//   - "Sweep now" (when a Sweeper is configured), which starts a sweep as
//     POST {prefix}/sweeps does and waits for it up to SweepWait, and a
//     "Last sweep" panel, of whichever replica swept last: running since
//     when, or finished when, with its report (counts and the first
//     failing upstreams);
//   - the history of decided entries (applied, dismissed, superseded),
//     newest decision first, with who decided, when and why, "Retry
//     restart" for an applied entry whose restart failed and "Restore to
//     pending" for a dismissed one;
//   - filters by workspace (the beginning of its id), plugin, kind, source
//     and status, as a GET form; 50 entries per page, with links to the
//     next ones.
//
// The installs tab lists installs by workspace and plugin, with the
// commit installed and a link to each one's explanation; the health tab lists upstreams, failing first, with
// when each was last checked, when a push webhook last named it (see
// package push), its last result, consecutive failures, when a sweep
// next retries it (the Sweeper's Backoff) and its last error, and
// "Check now", which checks it at once past its backoff.
//
// The holds tab lists the active holds, then the released ones, each
// 50 at a time in the order they were made, filtered by workspace (the
// beginning of its id) and plugin: the install (linking to its
// explanation), the held commit and version, who held it, when and why,
// who released it and when, and Release for an active one (POST
// {prefix}/ui/holds/{id}/release).
//
// The explanation (?view=explain&workspace=<the full workspace
// id>&plugin=<plugin>; 400 without both, 404 for an install that does not
// exist) says why that install is or is not updating, as GET
// {prefix}/installs/{workspace}/{plugin}/explain does: what it tracks,
// what is installed, its ring, the last check of its upstream, then each
// reason of [drift.Updater.Explain] with what would change it; its open
// entry with its signature check and a link to it in the queue; the
// entries dismissed from the installed commit; its active holds, with
// Release, and a link to all of them; and a rollback form (to_sha, the
// full commit id, and an optional reason; POST
// {prefix}/ui/installs/{workspace}/{plugin}/rollback). A rollback the
// Updater refuses before installing anything (a bad commit id or reason,
// an install that does not exist, that commit already installed, an apply
// under way) is answered with the error page, and nothing changes;
// otherwise it goes back to the explanation with the outcome.
//
// Compare and commit links: GitHub sources link to [Config].GitHubURL
// (github.com by default) or, written with a host, to that GitHub
// Enterprise host; git sources link through the [GitHost] templates of
// [Config].GitHosts for their host, and have no links otherwise.
//
// Below 700 pixels wide every table becomes a list of cards, the
// workspace's name right above its buttons. Buttons say what they act on
// to screen readers ("Apply chat v1.2.0 to acme"), tables have captions,
// and a skip link leads past the header.
//
// The page's query (the filters, view, the tables' cursors, and op,
// result, id and ids below) is read by the API's parser with the API's rules, so what
// the API refuses, the page refuses too: 400, not an unfiltered page.
//
// Forms post to {prefix}/ui/… and answer 303 See Other back to the page
// with the same filters (POST/redirect/GET), so reloading never repeats
// a decision. The redirect names the outcome by codes only, e.g.
// ?op=apply&result=ok&id=12 (op is apply, dismiss, restore or rollback,
// with the entry's id, or release, with the hold's; result is "ok",
// "confirm_tag_moved" or an error code above), ?op=bulk_apply&ids=3,4
// (or bulk_dismiss), or ?op=sweep. The page words the message itself from
// the current state of that entry (or hold) in the store, or of the latest sweep,
// and shows nothing when that state does not bear the outcome out: a
// crafted link can only say what is true, and no cookie or key is
// involved, so any replica can render it. Everything on the page is
// HTML-escaped.
package adminhttp
