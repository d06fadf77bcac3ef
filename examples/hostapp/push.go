package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/adminhttp/push"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
)

// Environment variables holding the webhook secrets, one per provider.
// Secrets come from the environment only, like the admin token: flags
// show in ps.
const (
	envWebhookGitHub  = "PLUGINDRIFT_PUSH_SECRET_GITHUB"
	envWebhookGitLab  = "PLUGINDRIFT_PUSH_SECRET_GITLAB"
	envWebhookGitea   = "PLUGINDRIFT_PUSH_SECRET_GITEA"
	envWebhookGeneric = "PLUGINDRIFT_PUSH_SECRET"
)

// webhookConfig is the push webhook receiver's configuration (README
// "Push webhooks"): it is mounted at route when at least one secret is
// set.
type webhookConfig struct {
	route   string
	poll    time.Duration
	secrets push.Secrets
}

func (c *webhookConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.route, "push-route", env("PLUGINDRIFT_PUSH_ROUTE", "/hooks/plugindrift"),
		"path of the push webhook receiver, outside /admin/; on when "+envWebhookGitHub+", "+envWebhookGitLab+", "+envWebhookGitea+" or "+envWebhookGeneric+" is set ($PLUGINDRIFT_PUSH_ROUTE)")
	fs.DurationVar(&c.poll, "push-poll", 10*time.Second, "how often to look for checks other replicas received")
}

// load reads the secrets and checks the route.
func (c *webhookConfig) load() error {
	c.secrets = push.Secrets{
		GitHub: os.Getenv(envWebhookGitHub), GitLab: os.Getenv(envWebhookGitLab),
		Gitea: os.Getenv(envWebhookGitea), Generic: os.Getenv(envWebhookGeneric),
	}
	if c.on() && (!strings.HasPrefix(c.route, "/") || strings.HasPrefix(c.route, "/admin/")) {
		return fmt.Errorf("-push-route %q: want a path such as /hooks/plugindrift, outside /admin/ (providers cannot pass the admin API's bearer token)", c.route)
	}
	return nil
}

// on reports whether a webhook secret is set.
func (c webhookConfig) on() bool {
	s := c.secrets
	return s.GitHub != "" || s.GitLab != "" || s.Gitea != "" || s.Generic != ""
}

// mount mounts the receiver on mux and returns the check worker to start,
// or nil when webhooks are off. The receiver records checks in the store
// and wakes the worker; the worker also performs the checks other
// replicas received.
func (c webhookConfig) mount(mux *http.ServeMux, store storage.Store, sweeper *drift.Sweeper, log *slog.Logger) (*drift.CheckWorker, error) {
	if !c.on() {
		return nil, nil
	}
	checks, err := drift.NewCheckWorker(sweeper, &drift.CheckWorkerConfig{PollInterval: c.poll, Logger: log})
	if err != nil {
		return nil, err
	}
	receiver, err := push.NewHandler(push.Config{Store: store, Secrets: c.secrets, Wake: checks.Wake, Logger: log})
	if err != nil {
		return nil, err
	}
	mux.Handle("POST "+c.route, receiver)
	log.Info("push webhooks on", "route", c.route)
	return checks, nil
}
