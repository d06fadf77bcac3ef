// Package tracking holds the domain types every other plugindrift package
// shares: what is installed where ([Install]), what it follows ([Ref]),
// where it comes from ([Source]), what upstream says ([Upstream]) and the
// queue of proposed changes ([Update]). It also owns the input grammar
// ([ParseRef], [ParseSource], [ValidatePluginName], [ValidateWorkspaceID])
// and the sentinel errors that stores, resolvers and the drift engine
// return.
//
// tracking is a leaf: it imports nothing else from this module but
// internal/redact, through which every error quotes its input, so that a
// credential written into a source, ref or name is never repeated.
//
// # Refs
//
// A tracked ref is written as one of:
//
//	"", none                 not tracked
//	sha:<40 or 64 hex>       pinned to one commit; never drifts
//	tag:v1.2.3               that exact tag (drift: tag-moved)
//	tag:latest               highest stable semver tag (drift: new-version)
//	semver:<constraint>      highest tag satisfying a constraint (drift: new-version)
//	branch:<name>, <name>    branch tip (drift: new-commit)
//	head                     the remote's default branch (drift: new-commit)
//
// [Ref.String] is canonical and ParseRef(r.String()) returns r.
//
// # Sources
//
//	github://owner/repo[#ref]              (the default GitHub host)
//	github://host.example.com/owner/repo[#ref] (another GitHub host)
//	git+https://host/path[.git][#ref], git+http://…, git+ssh://…
//	git+file:///abs/path[#ref]
//	local://name, <name>
//
// # Recording installs
//
// A [Tracker] validates and canonicalises what a host reports it installed
// and keeps the update queue consistent with it.
package tracking
