package drift_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

type ctxKey string

// chainObserver logs each start and end it sees, with what the earlier
// observers put in the context and what the end was given, and adds its
// own name to the context it hands on.
type chainObserver struct {
	name string
	log  *[]string
}

func (o chainObserver) start(ctx context.Context, step string) context.Context {
	prev, _ := ctx.Value(ctxKey("chain")).(string)
	*o.log = append(*o.log, fmt.Sprintf("%s start %s after %q", o.name, step, prev))
	return context.WithValue(ctx, ctxKey("chain"), prev+o.name)
}

func (o chainObserver) end(step string, got any) {
	*o.log = append(*o.log, fmt.Sprintf("%s end %s %v", o.name, step, got))
}

func (o chainObserver) Sweep(ctx context.Context) (context.Context, func(drift.Report, error)) {
	return o.start(ctx, "sweep"), func(r drift.Report, err error) { o.end("sweep", []any{r.Queued, err}) }
}

func (o chainObserver) Check(ctx context.Context) (context.Context, func(drift.Report, error)) {
	return o.start(ctx, "check"), func(r drift.Report, err error) { o.end("check", []any{r.Queued, err}) }
}

func (o chainObserver) Resolve(ctx context.Context, k tracking.UpstreamKey) (context.Context, func(drift.ResolveOutcome)) {
	return o.start(ctx, "resolve "+k.String()), func(out drift.ResolveOutcome) { o.end("resolve", out.SHA) }
}

func (o chainObserver) Reconcile(ctx context.Context, k tracking.UpstreamKey) (context.Context, func(storage.ReconcileResult, error)) {
	return o.start(ctx, "reconcile "+k.String()), func(_ storage.ReconcileResult, err error) { o.end("reconcile", err) }
}

func (o chainObserver) Apply(ctx context.Context, id int64) (context.Context, func(tracking.Update, error)) {
	return o.start(ctx, fmt.Sprint("apply ", id)), func(u tracking.Update, err error) { o.end("apply", []any{u.ID, err}) }
}

func (o chainObserver) ApplyStep(ctx context.Context, step drift.ApplyStep, e tracking.Update) (context.Context, func(error)) {
	return o.start(ctx, fmt.Sprint(step, " ", e.ID)), func(err error) { o.end(string(step), err) }
}

// TestObserversChainsEachStep: Observers shows each step to each
// observer in order, hands each one's context to the next, ends them in
// reverse with what the step ended with, and skips nil entries.
func TestObserversChainsEachStep(t *testing.T) {
	var log []string
	obs := drift.Observers(chainObserver{"a", &log}, nil, chainObserver{"b", &log})
	k := key(srcA, "branch:main")
	boom := errors.New("boom")
	steps := []struct {
		start, end string // the step's name at its start and at its end
		run        func(ctx context.Context) context.Context
	}{
		{"sweep", "sweep [2 boom]", func(ctx context.Context) context.Context {
			ctx, end := obs.Sweep(ctx)
			end(drift.Report{Queued: 2}, boom)
			return ctx
		}},
		{"check", "check [3 <nil>]", func(ctx context.Context) context.Context {
			ctx, end := obs.Check(ctx)
			end(drift.Report{Queued: 3}, nil)
			return ctx
		}},
		{"resolve " + k.String(), "resolve " + sha(2), func(ctx context.Context) context.Context {
			ctx, end := obs.Resolve(ctx, k)
			end(drift.ResolveOutcome{SHA: sha(2)})
			return ctx
		}},
		{"reconcile " + k.String(), "reconcile boom", func(ctx context.Context) context.Context {
			ctx, end := obs.Reconcile(ctx, k)
			end(storage.ReconcileResult{}, boom)
			return ctx
		}},
		{"apply 7", "apply [7 <nil>]", func(ctx context.Context) context.Context {
			ctx, end := obs.Apply(ctx, 7)
			end(tracking.Update{ID: 7}, nil)
			return ctx
		}},
		{"install 8", "install boom", func(ctx context.Context) context.Context {
			ctx, end := obs.ApplyStep(ctx, drift.StepInstall, tracking.Update{ID: 8})
			end(boom)
			return ctx
		}},
	}
	for _, st := range steps {
		t.Run(st.start, func(t *testing.T) {
			log = nil
			ctx := st.run(t.Context())
			assert.Equal(t, "ab", ctx.Value(ctxKey("chain")), "the context of the last observer is returned")
			assert.Equal(t, []string{
				`a start ` + st.start + ` after ""`,
				`b start ` + st.start + ` after "a"`,
				`b end ` + st.end,
				`a end ` + st.end,
			}, log)
		})
	}
}
