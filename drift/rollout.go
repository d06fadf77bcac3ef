package drift

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Reason codes of the ring gate.
const (
	ReasonRingWaiting    = "ring-waiting"
	ReasonRingSoaking    = "ring-soaking"
	ReasonRolloutStopped = "rollout-stopped"
)

// ringGate is the rollout rule of AutoApply, the one place it lives:
// entry e of an install in ring n > 0 is taken only once its commit has
// been applied in ring n-1 for at least UpdaterConfig.Soak, and never
// after a rollback away from it, or a failed restart with it, in ring
// n-1: that stops the rollout to every later ring. It returns nil when
// the gate is open, else the reason it is shut.
func (u *Updater) ringGate(ctx context.Context, e tracking.Update) (*Reason, error) {
	in, err := u.store.GetInstall(ctx, e.WorkspaceID, e.PluginName)
	if errors.Is(err, tracking.ErrNotFound) {
		return nil, nil // uninstalled meanwhile: Apply answers for it
	}
	if err != nil {
		return nil, fmt.Errorf("drift: ring of %s/%s: %w", e.WorkspaceID, e.PluginName, err)
	}
	if in.Ring == 0 {
		return nil, nil
	}
	prev := in.Ring - 1
	ev, err := u.store.RingEvidence(ctx, storage.RingEvidenceParams{SHA: e.ToSHA, Ring: prev})
	if err != nil {
		return nil, fmt.Errorf("drift: ring evidence of %s: %w", short(e.ToSHA), err)
	}
	manual := fmt.Sprintf("or apply update %d by hand (POST {prefix}/plugin-updates/%d/apply)", e.ID, e.ID)
	switch {
	case ev.Rollbacks > 0:
		return &Reason{Code: ReasonRolloutStopped,
			Message: fmt.Sprintf("%s was rolled back in ring %d, so its rollout stops before ring %d", short(e.ToSHA), prev, in.Ring),
			Change:  "a newer upstream commit starts a new rollout, " + manual}, nil
	case ev.FailedRestarts > 0:
		return &Reason{Code: ReasonRolloutStopped,
			Message: fmt.Sprintf("a workspace of ring %d failed to restart with %s, so its rollout stops before ring %d", prev, short(e.ToSHA), in.Ring),
			Change:  "retry that restart (apply its entry again) once the workspace is fixed, " + manual}, nil
	case ev.FirstApplied.IsZero():
		return &Reason{Code: ReasonRingWaiting,
			Message: fmt.Sprintf("%s has not been applied in ring %d yet; ring %d follows it", short(e.ToSHA), prev, in.Ring),
			Change:  fmt.Sprintf("apply it in ring %d first, ", prev) + manual}, nil
	case u.clock().Before(ev.FirstApplied.Add(u.soak)):
		return &Reason{Code: ReasonRingSoaking,
			Message: fmt.Sprintf("%s is soaking in ring %d until %s (UpdaterConfig.Soak %s)", short(e.ToSHA), prev, ev.FirstApplied.Add(u.soak).Format(time.RFC3339), u.soak),
			Change:  "wait, " + manual}, nil
	}
	return nil, nil
}
