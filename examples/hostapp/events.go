package main

// Events, metrics and traces: the outbox delivered to a webhook and to
// Slack, Prometheus metrics on /metrics, and the observer both feed on.

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/drift/driftprom"
	"github.com/plugindrift/plugindrift/drift/notify"
	"github.com/plugindrift/plugindrift/storage"
)

// eventsConfig is the events flag block.
type eventsConfig struct {
	webhookURL    string
	webhookSecret string // $PLUGINDRIFT_WEBHOOK_SECRET only
	slackURL      string
	adminURL      string
}

func (c *eventsConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.webhookURL, "webhook-url", env("PLUGINDRIFT_WEBHOOK_URL", ""), "POST every event, signed (Standard Webhooks), to this https URL; needs $PLUGINDRIFT_WEBHOOK_SECRET ($PLUGINDRIFT_WEBHOOK_URL)")
	fs.StringVar(&c.slackURL, "slack-url", env("PLUGINDRIFT_SLACK_URL", ""), "post events to this Slack incoming-webhook URL; it is a credential, prefer the environment ($PLUGINDRIFT_SLACK_URL)")
	fs.StringVar(&c.adminURL, "admin-url", env("PLUGINDRIFT_ADMIN_URL", ""), "the admin page's public URL, linked from Slack messages ($PLUGINDRIFT_ADMIN_URL)")
}

// check reads the secret and says what is missing.
func (c *eventsConfig) check() error {
	c.webhookSecret = os.Getenv("PLUGINDRIFT_WEBHOOK_SECRET")
	if c.webhookURL != "" && c.webhookSecret == "" {
		return errors.New("-webhook-url needs PLUGINDRIFT_WEBHOOK_SECRET (whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32))")
	}
	return nil
}

// telemetry is what events wiring hands to run.
type telemetry struct {
	observer   drift.Observer
	dispatcher *drift.Dispatcher // nil without subscribers
}

// newTelemetry registers the metrics on mux (/metrics) and builds the
// dispatcher of the configured sinks.
func newTelemetry(cfg eventsConfig, store storage.Store, mux *http.ServeMux, log *slog.Logger) (telemetry, error) {
	metrics, err := driftprom.New(store, nil)
	if err != nil {
		return telemetry{}, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	var subs []drift.Subscriber
	if cfg.webhookURL != "" {
		hook, err := notify.NewWebhook(notify.WebhookConfig{URL: cfg.webhookURL, Secret: cfg.webhookSecret})
		if err != nil {
			return telemetry{}, err
		}
		subs = append(subs, drift.Subscriber{Name: "webhook", Deliver: hook.Deliver})
	}
	if cfg.slackURL != "" {
		slack, err := notify.NewSlack(notify.SlackConfig{WebhookURL: cfg.slackURL, AdminURL: cfg.adminURL})
		if err != nil {
			return telemetry{}, err
		}
		subs = append(subs, drift.Subscriber{Name: "slack", Deliver: slack.Deliver})
	}
	t := telemetry{observer: metrics}
	if len(subs) > 0 {
		if t.dispatcher, err = drift.NewDispatcher(store, subs, &drift.DispatcherConfig{Logger: log}); err != nil {
			return telemetry{}, err
		}
	}
	return t, nil
}

// start delivers events until ctx ends; the returned function waits for it.
func (t telemetry) start(ctx context.Context) (wait func()) {
	if t.dispatcher == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = t.dispatcher.Run(ctx)
	}()
	return func() { <-done }
}
