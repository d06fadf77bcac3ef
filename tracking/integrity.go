package tracking

import (
	"fmt"
	"time"
)

// KindHistoryRewritten: a followed branch (or head) moved to a commit that
// does not descend from the installed one, so it was force-pushed and
// what is installed is no longer in its history. Like [KindTagMoved] it is
// an integrity alarm and is never applied automatically.
const KindHistoryRewritten UpdateKind = "history-rewritten"

// Alarm reports whether the kind is an integrity alarm (tag-moved,
// history-rewritten): shown as dangerous, never applied automatically.
// This is the one place that list lives.
func (k UpdateKind) Alarm() bool { return k == KindTagMoved || k == KindHistoryRewritten }

// Rewritable reports whether a movement of this ref can rewrite history
// under an install: a branch or head, whose new tip may not descend from
// the installed commit. Tags are judged by tag-moved instead.
func (r Ref) Rewritable() bool { return r.kind == RefBranch || r.kind == RefHead }

// KindRollback: an operator rolled the install back to an earlier commit
// (drift.Updater.Rollback). It is installed at once and never offered to
// auto-apply.
const KindRollback UpdateKind = "rollback"

// ReasonRolledBack is recorded on open entries that a rollback retired.
const ReasonRolledBack = "rolled-back"

// Hold keeps a commit an install was rolled back from from being queued
// for it again; for version refs (tag:latest, semver:) it also holds any
// version not newer than Version. A newer upstream is queued as usual.
// Releasing the hold lets the next check queue the commit again.
type Hold struct {
	ID          int64  `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	PluginName  string `json:"plugin_name"`
	// SHA is the commit rolled back from, Version its tag name when known.
	SHA       string    `json:"sha"`
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Reason    string    `json:"reason"`
	// ReleasedAt and ReleasedBy are set when an operator released it.
	ReleasedAt time.Time `json:"released_at"`
	ReleasedBy string    `json:"released_by"`
}

// Active reports whether the hold still keeps its commit out of the queue.
func (h Hold) Active() bool { return h.ReleasedAt.IsZero() }

// MaxRing is the highest rollout ring.
const MaxRing = 99

// ValidateRing checks a rollout ring: 0 (the canary) to MaxRing. Errors
// wrap ErrInvalidArgument.
func ValidateRing(ring int) error {
	if ring < 0 || ring > MaxRing {
		return fmt.Errorf("tracking: ring %d out of range: want 0 (the canary) to %d: %w", ring, MaxRing, ErrInvalidArgument)
	}
	return nil
}
