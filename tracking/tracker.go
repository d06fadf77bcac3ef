package tracking

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// TrackerStore is the part of a store the Tracker needs. Every
// storage.Store satisfies it; it is declared here so that tracking imports
// nothing else of the module.
type TrackerStore interface {
	// UpsertInstall stores a validated install and supersedes the open
	// entries it made stale (see storage.Store).
	UpsertInstall(ctx context.Context, in Install) (Install, error)
	// DeleteInstall removes an install and supersedes its open entries; it
	// returns ErrNotFound when there is none.
	DeleteInstall(ctx context.Context, workspaceID, pluginName string, at time.Time) error
}

// TrackerConfig configures a Tracker. The zero value (or nil) is valid.
type TrackerConfig struct {
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// DefaultRing is the rollout ring of installs recorded for the first
	// time (0 to MaxRing); a reinstall keeps the install's ring. Defaults
	// to 0, the canary ring.
	DefaultRing int
}

// Tracker records what hosts install and uninstall. It is the one place
// that turns a host's raw strings into validated, canonical installs, so
// that nothing malformed reaches a store. It is safe for concurrent use.
type Tracker struct {
	store TrackerStore
	now   func() time.Time
	ring  int // TrackerConfig.DefaultRing
}

// NewTracker returns a Tracker writing to store. cfg may be nil. A nil
// store returns an error wrapping ErrInvalidArgument.
func NewTracker(store TrackerStore, cfg *TrackerConfig) (*Tracker, error) {
	if store == nil {
		return nil, fmt.Errorf("tracking: NewTracker needs a store (any storage.Store, such as memstore.New() or a bunstore.Store): %w", ErrInvalidArgument)
	}
	t := &Tracker{store: store, now: time.Now}
	if cfg != nil {
		if cfg.Now != nil {
			t.now = cfg.Now
		}
		if err := ValidateRing(cfg.DefaultRing); err != nil {
			return nil, fmt.Errorf("tracking: TrackerConfig.DefaultRing: %w", err)
		}
		t.ring = cfg.DefaultRing
	}
	return t, nil
}

// InstallRecord is what a host reports after installing a plugin, as raw
// strings; RecordInstall validates and canonicalises every field.
type InstallRecord struct {
	WorkspaceID string
	PluginName  string
	// Source is parsed with ParseSource.
	Source string
	// Ref is the ref to track, parsed with ParseRef ("" tracks nothing).
	Ref string
	// SHA is the full commit installed (40 or 64 hex; upper case is
	// accepted and lowered). It may be empty only for local sources.
	SHA string
	// Version is the tag installed, when there is one.
	Version string
}

// RecordInstall validates rec, then records it: a new install, or a
// reinstall that replaces the previous one. When the SHA, source or ref
// changed, open queue entries of that install are superseded (reason
// up-to-date when the new SHA is the one they proposed, reinstalled
// otherwise): an entry describes a move from a commit that is no longer
// installed, and the next sweep queues a fresh one if upstream is still
// ahead.
//
// Invalid input returns an error wrapping ErrInvalidWorkspaceID,
// ErrInvalidPluginName, ErrInvalidSource, ErrInvalidRef or ErrInvalidSHA,
// and nothing is written.
func (t *Tracker) RecordInstall(ctx context.Context, rec InstallRecord) (Install, error) {
	in, err := rec.install()
	if err != nil {
		return Install{}, err
	}
	in.UpdatedAt = t.now().UTC().Truncate(time.Microsecond)
	in.Ring = t.ring
	out, err := t.store.UpsertInstall(ctx, in)
	if err != nil {
		return Install{}, fmt.Errorf("tracking: record install %s: %w", redact.Quote(in.WorkspaceID+"/"+in.PluginName), err)
	}
	return out, nil
}

func (rec InstallRecord) install() (Install, error) {
	// Identity first: its errors name what the host got wrong most often.
	if err := validateIdentity(rec.WorkspaceID, rec.PluginName); err != nil {
		return Install{}, err
	}
	src, err := ParseSource(rec.Source)
	if err != nil {
		return Install{}, err
	}
	ref, err := ParseRef(rec.Ref)
	if err != nil {
		return Install{}, err
	}
	in := Install{
		WorkspaceID:      rec.WorkspaceID,
		PluginName:       rec.PluginName,
		Source:           src,
		Ref:              ref,
		InstalledSHA:     strings.ToLower(rec.SHA),
		InstalledVersion: rec.Version,
	}
	return in, in.validateContent()
}

// RecordUninstall records that a plugin was removed from a workspace: the
// install is deleted and its open entries are superseded (reason
// uninstalled). It returns an error wrapping ErrNotFound when there was no
// such install.
func (t *Tracker) RecordUninstall(ctx context.Context, workspaceID, pluginName string) error {
	if err := ValidateWorkspaceID(workspaceID); err != nil {
		return err
	}
	if err := ValidatePluginName(pluginName); err != nil {
		return err
	}
	at := t.now().UTC().Truncate(time.Microsecond)
	if err := t.store.DeleteInstall(ctx, workspaceID, pluginName, at); err != nil {
		return fmt.Errorf("tracking: record uninstall %s: %w", redact.Quote(workspaceID+"/"+pluginName), err)
	}
	return nil
}
