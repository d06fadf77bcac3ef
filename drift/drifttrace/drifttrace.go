// Package drifttrace traces sweeps and applies with OpenTelemetry
// (go.opentelemetry.io/otel). The core packages never import it: a host
// makes a Tracer from its TracerProvider and passes it as the Observer of
// its Sweeper and Updater (drift.Observers combines it with metrics):
//
//	tr := drifttrace.New(otel.GetTracerProvider())
//	sweeper, err := drift.NewSweeper(store, res, &drift.SweeperConfig{Observer: tr})
//	updater, err := drift.NewUpdater(store, installer, restarter, &drift.UpdaterConfig{Observer: tr})
//
// # Spans
//
//	plugindrift.sweep                 one sweep that took the lease
//	plugindrift.check                 Sweeper.Check of chosen upstreams (a push webhook, "check now")
//	  plugindrift.resolve             one upstream of either (source, ref, result, sha, version)
//	    plugindrift.reconcile         its queue write (installs, queued, superseded)
//	plugindrift.apply                 Updater.Apply (update id, source, ref, kind, from/to, outcome)
//	  plugindrift.install             the Installer
//	  plugindrift.record              the store write of its outcome
//	  plugindrift.restart             the Restarter
//
// Attributes carry what an operator needs and no secret: sources are
// credential-free by construction, errors were redacted where they
// entered, and no workspace's data but its id is recorded.
package drifttrace

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/plugindrift/plugindrift/drift"

// Attribute keys.
const (
	AttrSource     = attribute.Key("plugindrift.source")
	AttrRef        = attribute.Key("plugindrift.ref")
	AttrResult     = attribute.Key("plugindrift.result")
	AttrSHA        = attribute.Key("plugindrift.sha")
	AttrVersion    = attribute.Key("plugindrift.version")
	AttrUpdateID   = attribute.Key("plugindrift.update_id")
	AttrWorkspace  = attribute.Key("plugindrift.workspace_id")
	AttrPlugin     = attribute.Key("plugindrift.plugin_name")
	AttrKind       = attribute.Key("plugindrift.kind")
	AttrFromSHA    = attribute.Key("plugindrift.from_sha")
	AttrToSHA      = attribute.Key("plugindrift.to_sha")
	AttrOutcome    = attribute.Key("plugindrift.outcome")
	AttrInstalls   = attribute.Key("plugindrift.installs")
	AttrQueued     = attribute.Key("plugindrift.queued")
	AttrSuperseded = attribute.Key("plugindrift.superseded")
	AttrUpstreams  = attribute.Key("plugindrift.upstreams")
	AttrFailed     = attribute.Key("plugindrift.failed")
)

// Tracer is a drift.Observer that records spans.
type Tracer struct {
	tr trace.Tracer
}

var _ drift.Observer = (*Tracer)(nil)

// New returns a Tracer using tp.
func New(tp trace.TracerProvider) *Tracer { return &Tracer{tr: tp.Tracer(ScopeName)} }

func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func keyAttrs(k tracking.UpstreamKey) []attribute.KeyValue {
	return []attribute.KeyValue{AttrSource.String(k.Source.String()), AttrRef.String(k.Ref.String())}
}

func updateAttrs(u tracking.Update) []attribute.KeyValue {
	return []attribute.KeyValue{
		AttrUpdateID.Int64(u.ID), AttrWorkspace.String(u.WorkspaceID), AttrPlugin.String(u.PluginName),
		AttrSource.String(u.Source.String()), AttrRef.String(u.Ref.String()), AttrKind.String(string(u.Kind)),
		AttrFromSHA.String(u.FromSHA), AttrToSHA.String(u.ToSHA),
	}
}

// Sweep implements drift.Observer.
func (t *Tracer) Sweep(ctx context.Context) (context.Context, func(drift.Report, error)) {
	ctx, span := t.tr.Start(ctx, "plugindrift.sweep")
	return ctx, func(rep drift.Report, err error) {
		span.SetAttributes(AttrUpstreams.Int(rep.Upstreams), AttrFailed.Int(rep.Failed),
			AttrQueued.Int(rep.Queued), AttrSuperseded.Int(rep.Superseded), AttrInstalls.Int(rep.Installs))
		end(span, err)
	}
}

// Check implements drift.Observer.
func (t *Tracer) Check(ctx context.Context) (context.Context, func(drift.Report, error)) {
	ctx, span := t.tr.Start(ctx, "plugindrift.check")
	return ctx, func(rep drift.Report, err error) {
		span.SetAttributes(AttrUpstreams.Int(rep.Upstreams), AttrFailed.Int(rep.Failed),
			AttrQueued.Int(rep.Queued), AttrSuperseded.Int(rep.Superseded), AttrInstalls.Int(rep.Installs))
		end(span, err)
	}
}

// Resolve implements drift.Observer.
func (t *Tracer) Resolve(ctx context.Context, k tracking.UpstreamKey) (context.Context, func(drift.ResolveOutcome)) {
	ctx, span := t.tr.Start(ctx, "plugindrift.resolve", trace.WithAttributes(keyAttrs(k)...))
	return ctx, func(o drift.ResolveOutcome) {
		span.SetAttributes(AttrResult.String(o.Result))
		if o.SHA != "" {
			span.SetAttributes(AttrSHA.String(o.SHA), AttrVersion.String(o.Version))
		}
		end(span, o.Err)
	}
}

// Reconcile implements drift.Observer.
func (t *Tracer) Reconcile(ctx context.Context, k tracking.UpstreamKey) (context.Context, func(storage.ReconcileResult, error)) {
	ctx, span := t.tr.Start(ctx, "plugindrift.reconcile", trace.WithAttributes(keyAttrs(k)...))
	return ctx, func(r storage.ReconcileResult, err error) {
		span.SetAttributes(AttrInstalls.Int(r.Installs), AttrQueued.Int(r.Queued), AttrSuperseded.Int(r.Superseded))
		end(span, err)
	}
}

// Apply implements drift.Observer.
func (t *Tracer) Apply(ctx context.Context, id int64) (context.Context, func(tracking.Update, error)) {
	ctx, span := t.tr.Start(ctx, "plugindrift.apply", trace.WithAttributes(AttrUpdateID.Int64(id)))
	return ctx, func(u tracking.Update, err error) {
		if u.ID != 0 {
			span.SetAttributes(updateAttrs(u)...)
		}
		span.SetAttributes(AttrOutcome.String(drift.ApplyOutcome(err)))
		end(span, err)
	}
}

// ApplyStep implements drift.Observer.
func (t *Tracer) ApplyStep(ctx context.Context, step drift.ApplyStep, u tracking.Update) (context.Context, func(error)) {
	ctx, span := t.tr.Start(ctx, "plugindrift."+string(step), trace.WithAttributes(updateAttrs(u)...))
	return ctx, func(err error) { end(span, err) }
}
