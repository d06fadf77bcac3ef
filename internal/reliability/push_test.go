package reliability_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp/push"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

const pushSecret = "reliability-push-secret"

// postPush posts a generic push webhook for the source's repository and
// ref to the replica's receiver and returns the status.
func postPush(t *testing.T, r *replica, source, ref, delivery string) int {
	t.Helper()
	url := strings.TrimSuffix(r.base, "/admin") + "/hooks/plugindrift"
	repo := strings.TrimPrefix(source, "git+")
	body := []byte(fmt.Sprintf(`{"repository":%q,"ref":%q}`, repo, ref))
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(push.GenericSignatureHeader, push.Signature(body, pushSecret))
	req.Header.Set(push.GenericDeliveryHeader, delivery)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode
}

// TestPushCheckSurvivesTheReceivingReplica posts a webhook to replica A,
// which answers 202 and is SIGKILLed before it checks; replica B, on the
// same Postgres database, must perform the check and queue exactly the
// pushed upstream's entries:
//
//   - before-check-claim: A dies before its worker claimed the request,
//     which B (already running, polling) claims;
//   - after-check-claim: A's worker claimed the request and dies before
//     checking it; B takes it over once A's claim expires.
//
// Both repositories moved since the installs were recorded; only one is
// pushed, and no sweep runs (the schedule is hourly), so an entry of the
// other one would mean something other than the push check queued it.
func TestPushCheckSurvivesTheReceivingReplica(t *testing.T) {
	bin := buildReplica(t)
	for _, step := range []string{"before-check-claim", "after-check-claim"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			const perUpstream = 3
			const claimTTL = 2 * time.Second
			store, dsn := newStore(t)
			f := newFarm(t, 2)
			seedInstalls(t, store, f, perUpstream)
			f.move(0, true)
			f.move(1, true)
			fl := newFleet(t, bin, dsn)
			opts := replicaOpts{pushSecret: pushSecret, pushPoll: 100 * time.Millisecond, pushClaimTTL: claimTTL}

			aOpts := opts
			aOpts.holder, aOpts.block = "replica-a", step
			a := fl.start("a", aOpts)
			var b *replica
			bOpts := opts
			bOpts.holder = "replica-b"
			if step == "before-check-claim" {
				a.awaitMarker(step, 30*time.Second)
				b = fl.start("b", bOpts)
			}
			pushedAt := time.Now()
			require.Equal(t, http.StatusAccepted, postPush(t, a, f.source(0), "refs/heads/main", "delivery-1"), "A answers once the request is recorded")
			if step == "after-check-claim" {
				a.awaitMarker(step, 30*time.Second)
			}
			a.kill()
			if b == nil {
				b = fl.start("b", bOpts)
			}

			ctx := context.Background()
			deadline := time.Now().Add(60 * time.Second)
			var queued []tracking.Update
			for len(queued) < perUpstream {
				require.True(t, time.Now().Before(deadline), "replica B did not perform the check; B's log:\n%s", tail(b.logs, 30))
				time.Sleep(50 * time.Millisecond) // another process does the work
				var err error
				queued, err = store.ListUpdates(ctx, storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: storage.MaxLimit})
				require.NoError(t, err)
			}
			checkedAfter := time.Since(pushedAt)
			for _, u := range queued {
				assert.Equal(t, f.key(0), tracking.UpstreamKey{Source: u.Source, Ref: u.Ref}, "only the pushed upstream is checked")
				assert.Equal(t, f.want(0), u.ToSHA)
			}
			assert.Len(t, queued, perUpstream)
			if step == "after-check-claim" {
				assert.GreaterOrEqual(t, checkedAfter, claimTTL-200*time.Millisecond, "B waited for A's claim to expire")
			}
			up, err := store.GetUpstream(ctx, f.key(0))
			require.NoError(t, err)
			assert.False(t, up.LastPushAt.IsZero())
			assert.Equal(t, f.want(0), up.LastSHA, "B recorded the check on the upstream")
			other, err := store.GetUpstream(ctx, f.key(1))
			require.NoError(t, err)
			assert.Empty(t, other.LastSHA, "the other upstream was never resolved")

			// The request is done: the replayed delivery, sent to B, is
			// recognised and asks for nothing.
			require.Equal(t, http.StatusOK, postPush(t, b, f.source(0), "refs/heads/main", "delivery-1"))
			left, err := store.ClaimCheckRequests(ctx, storage.ClaimCheckRequestsParams{Holder: "inspector", TTL: time.Minute, Limit: 10})
			require.NoError(t, err)
			assert.Empty(t, left, "no request left behind")
		})
	}
}
