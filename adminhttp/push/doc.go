// Package push receives push webhooks from GitHub, GitLab, Gitea and
// Forgejo (and a generic signed JSON form) and turns each into a check of
// exactly the upstreams it concerns, recorded in the store, so that drift
// is found seconds after a push instead of at the next scheduled sweep.
// The sweep stays as the safety net: a webhook that is lost, refused or
// never configured only delays detection until then.
//
// # Mounting
//
// [Handler] is an http.Handler the host mounts on its own route, outside
// the admin handler's prefix: providers cannot pass the admin API's
// Authorize, so the receiver authenticates each request by its signature
// instead.
//
//	h, err := push.NewHandler(push.Config{
//		Store:   store,
//		Secrets: push.Secrets{GitHub: os.Getenv("PLUGINDRIFT_PUSH_SECRET_GITHUB")},
//		Wake:    worker.Wake, // a *drift.CheckWorker
//	})
//	mux.Handle("POST /hooks/plugindrift", h)
//
// One route serves every provider; the provider is recognised by its
// event header (X-Forgejo-Event, X-Gitea-Event, X-Gitlab-Event,
// X-GitHub-Event, in that order, since Gitea and Forgejo send GitHub's
// headers too), and a request with none of them is the generic form.
//
// # What is accepted
//
//   - GitHub: push, create, delete and release, signed with
//     X-Hub-Signature-256 (HMAC-SHA256); ping is answered "pong".
//   - GitLab: Push Hook and Tag Push Hook, with the secret token in
//     X-Gitlab-Token.
//   - Gitea and Forgejo: push, create, delete and release, signed with
//     X-Gitea-Signature or X-Forgejo-Signature (hex HMAC-SHA256).
//   - Generic: {"repository": "<url>", "ref": "refs/heads/main"} ("ref"
//     optional: without it every tracked ref of the repository is
//     checked), signed like GitHub in X-Plugindrift-Signature-256
//     ([Signature] computes it).
//
// Signatures are compared in constant time. A missing or wrong signature,
// or a provider without a configured secret, is answered 401 with the
// message "signature" and nothing else, whichever check failed; nothing
// is read from the store or written to it. A body over
// [Config].MaxBodyBytes is answered 413. Events that move no ref are
// answered 200 "ignored".
//
// # From payload to upstreams
//
// The repository named in the payload (its clone URLs, web URL, and full
// name on the web URL's host) becomes a [tracking.RepoKey], and the
// store's index on that identity gives its tracked upstreams
// ([storage.Store.ListRepositoryUpstreams]); installs are never scanned.
// Of those, the ones whose ref the push concerns are kept: a branch push
// concerns branch:<name> and head (when the branch is the default one, or
// the payload does not say); a tag concerns tag:<name>, tag:latest when
// it is a stable version and semver:<c> when it satisfies c, by the
// resolvers' own selection rules.
//
// # Durability and replays
//
// The handler records one check request per upstream with
// [storage.Store.RecordPush] and answers 202 only after that committed:
// if this replica dies right after answering, another replica's
// drift.CheckWorker claims the requests and performs the checks. Many
// pushes to one upstream before its check coalesce into one request.
// The provider's delivery id (X-GitHub-Delivery, X-Gitlab-Event-UUID,
// X-Gitea-Delivery, X-Forgejo-Delivery, X-Plugindrift-Delivery) is
// recorded in the same transaction, so a replayed delivery is answered
// 200 "replayed" and not processed twice within [Config].ReplayWindow.
package push
