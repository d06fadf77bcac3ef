package tracking

import (
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// Install is one plugin installed in one workspace: the row the host reports
// through [Tracker.RecordInstall]. (WorkspaceID, PluginName) is its identity.
//
// In JSON, fields have the admin API's snake_case names, Source and Ref are
// their canonical strings and times are RFC 3339, so hosts can return the
// value as it is; the same holds for [Update], [Upstream] and [UpstreamKey].
type Install struct {
	WorkspaceID string `json:"workspace_id"`
	PluginName  string `json:"plugin_name"`
	// Source is where the plugin comes from.
	Source Source `json:"source"`
	// Ref is what the install follows upstream.
	Ref Ref `json:"ref"`
	// InstalledSHA is the full commit id installed (lowercase hex). It may be
	// empty only for local sources.
	InstalledSHA string `json:"installed_sha"`
	// InstalledVersion is the tag name installed, when known.
	InstalledVersion string    `json:"installed_version"`
	InstalledAt      time.Time `json:"installed_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	// Ring is the install's rollout ring: 0 is the canary, then 1, 2, …
	// up to MaxRing. Auto-apply in ring n waits for ring n-1 (see
	// drift.UpdaterConfig.Soak). Stores set it when they create the row
	// and change it only through SetInstallRing.
	Ring int `json:"ring"`
}

// Tracked reports whether the sweeper looks at this install: it follows a
// moving ref (not none, not a pinned sha) of a source that has an upstream.
// This is the one place that rule lives; stores record it beside the row.
func (in Install) Tracked() bool {
	return in.Ref.Tracked() && in.Source.HasUpstream()
}

// UpstreamKey identifies one upstream: a source followed at one ref. Many
// installs share one upstream, and the sweeper resolves each upstream once.
type UpstreamKey struct {
	Source Source `json:"source"`
	Ref    Ref    `json:"ref"`
}

// Tracked reports whether the sweeper resolves this upstream: a source with
// an upstream followed at a moving ref, the rule of [Install.Tracked].
func (k UpstreamKey) Tracked() bool {
	return Install{Source: k.Source, Ref: k.Ref}.Tracked()
}

// String is "<source> @ <ref>", both canonical, for messages and logs.
func (k UpstreamKey) String() string { return k.Source.String() + " @ " + k.Ref.String() }

// Upstream is what plugindrift last learned about an [UpstreamKey].
type Upstream struct {
	// ID orders upstreams for keyset pagination; it is assigned by the store.
	ID  int64       `json:"id"`
	Key UpstreamKey `json:"key"`
	// LastSHA and LastVersion are the last successful resolution.
	LastSHA     string `json:"last_sha"`
	LastVersion string `json:"last_version"`
	// Validator is an opaque value a resolver hands back for a conditional
	// request next time (an ETag, say).
	Validator     string    `json:"validator"`
	LastCheckedAt time.Time `json:"last_checked_at"`
	// LastError is the last resolution error (empty after a success), and
	// ConsecutiveFailures counts failures since the last success.
	LastError           string `json:"last_error"`
	ConsecutiveFailures int    `json:"consecutive_failures"`
	// LastPushAt is when a push webhook last named the upstream's
	// repository and ref; zero when none did.
	LastPushAt time.Time `json:"last_push_at"`
	// Verification is the signature check of LastSHA, kept so that an
	// unchanged sweep does not check it again under the same policy.
	Verification Verification `json:"verification"`
}

// UpdateStatus is the state of a queue entry.
//
//	pending ──► applying ──► applied
//	   │  ▲         │
//	   │  └─────────┘ (install failed)
//	   ├──► dismissed
//	   └──► superseded ◄── applying
type UpdateStatus string

const (
	StatusPending    UpdateStatus = "pending"
	StatusApplying   UpdateStatus = "applying"
	StatusApplied    UpdateStatus = "applied"
	StatusDismissed  UpdateStatus = "dismissed"
	StatusSuperseded UpdateStatus = "superseded"
)

// Open reports whether the status is pending or applying. At most one open
// entry exists per (workspace, plugin).
func (s UpdateStatus) Open() bool { return s == StatusPending || s == StatusApplying }

// Terminal reports whether no further transition leaves the status.
func (s UpdateStatus) Terminal() bool {
	return s == StatusApplied || s == StatusDismissed || s == StatusSuperseded
}

// Valid reports whether s is one of the five statuses.
func (s UpdateStatus) Valid() bool { return s.Open() || s.Terminal() }

// ParseUpdateStatus parses one of the five status names.
func ParseUpdateStatus(s string) (UpdateStatus, error) {
	st := UpdateStatus(s)
	if !st.Valid() {
		return "", fmt.Errorf("tracking: unknown update status %s (want pending, applying, applied, dismissed or superseded): %w", redact.Quote(s), ErrInvalidArgument)
	}
	return st, nil
}

// UpdateKind says what kind of upstream movement an entry reports.
type UpdateKind string

const (
	// KindNewVersion: a newer release was selected (tag:latest, semver:).
	KindNewVersion UpdateKind = "new-version"
	// KindNewCommit: a followed branch moved.
	KindNewCommit UpdateKind = "new-commit"
	// KindTagMoved: an exact tag now points at another commit. This is an
	// integrity alarm and is never applied automatically.
	KindTagMoved UpdateKind = "tag-moved"
)

// Reasons recorded on entries that leave the queue without being applied.
const (
	ReasonUpToDate      = "up-to-date"     // the install already has the upstream commit
	ReasonNewerUpstream = "newer-upstream" // upstream moved again before a decision
	ReasonUninstalled   = "uninstalled"    // the install was removed
	ReasonReinstalled   = "reinstalled"    // the host reinstalled another commit, source or ref
)

// Update is one entry of the update queue: "install X in workspace W should
// go from FromSHA to ToSHA".
type Update struct {
	ID          int64        `json:"id"`
	WorkspaceID string       `json:"workspace_id"`
	PluginName  string       `json:"plugin_name"`
	Source      Source       `json:"source"`
	Ref         Ref          `json:"ref"`
	FromSHA     string       `json:"from_sha"`
	ToSHA       string       `json:"to_sha"`
	FromVersion string       `json:"from_version"`
	ToVersion   string       `json:"to_version"`
	Kind        UpdateKind   `json:"kind"`
	Status      UpdateStatus `json:"status"`
	DetectedAt  time.Time    `json:"detected_at"`
	LastSeenAt  time.Time    `json:"last_seen_at"`
	// DecidedAt, DecidedBy and Reason are set when the entry leaves the
	// queue (applied, dismissed, superseded). DecidedBy is the actor.
	DecidedAt time.Time `json:"decided_at"`
	DecidedBy string    `json:"decided_by"`
	Reason    string    `json:"reason"`
	// Attempts counts failed installs; LastError is the last one.
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
	// RestartError is set when the install succeeded but the restart did not.
	RestartError string `json:"restart_error"`
	// ClaimedUntil is when the current apply claim expires, by the store's
	// clock (the database's), which alone judges it.
	ClaimedUntil time.Time `json:"claimed_until"`
	// Verification is the signature check of ToSHA (and, for tag refs, its
	// annotated tag) under the source's trust policy.
	Verification Verification `json:"verification"`
	// Override is the reason an operator gave for applying the entry
	// although its Verification blocks it (DecidedBy names the operator);
	// empty otherwise.
	Override string `json:"override"`
}

// Validate holds an install to the rules RecordInstall applies to its
// input, for installs built in code (stores call it before writing): valid
// workspace id and plugin name; a source that is set (Source and Ref are
// valid by construction, so only the zero Source can be wrong); a moving
// ref only on a source with an upstream; a full lowercase commit id
// (optional for local sources); a version, when set, that is a tag name.
func (in Install) Validate() error {
	if err := validateIdentity(in.WorkspaceID, in.PluginName); err != nil {
		return err
	}
	return in.validateContent()
}

// validateIdentity checks the (workspace, plugin) identity of an install.
func validateIdentity(workspaceID, pluginName string) error {
	if err := ValidateWorkspaceID(workspaceID); err != nil {
		return err
	}
	return ValidatePluginName(pluginName)
}

// validateContent checks everything of an install but its identity.
func (in Install) validateContent() error {
	if err := ValidateRing(in.Ring); err != nil {
		return err
	}
	if !in.Source.IsValid() {
		return fmt.Errorf("tracking: the source of %s is not set: build it with ParseSource: %w", redact.Quote(in.PluginName), ErrInvalidSource)
	}
	if in.Ref.Tracked() && !in.Source.HasUpstream() {
		return fmt.Errorf("tracking: %s has no upstream, so it cannot track %s: record it with ref \"none\": %w", redact.Quote(in.Source.String()), redact.Quote(in.Ref.String()), ErrInvalidRef)
	}
	if in.InstalledSHA != "" || in.Source.HasUpstream() {
		if err := ValidateSHA(in.InstalledSHA); err != nil {
			return fmt.Errorf("tracking: installed commit of %s: %w", redact.Quote(in.Source.String()), err)
		}
	}
	if in.InstalledVersion != "" {
		if err := ValidateRefName(in.InstalledVersion); err != nil {
			return fmt.Errorf("tracking: installed version must be a tag name: %w", err)
		}
	}
	return nil
}
