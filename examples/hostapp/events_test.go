package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage/memstore"
)

func TestMetricsEndpoint(t *testing.T) {
	cfg := testConfig(t)
	a := start(t, cfg)
	code, _ := a.call("POST", "/admin/sweeps", "s3cret-token")
	require.Equal(t, http.StatusOK, code)
	code, body := a.call("GET", "/metrics", "")
	require.Equal(t, http.StatusOK, code)
	text := string(body)
	assert.Contains(t, text, `plugindrift_sweep_duration_seconds_count{result="ok"} 1`, "the sweep was observed")
	assert.Contains(t, text, "go_goroutines")
}

func TestEventsFlags(t *testing.T) {
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "long-enough-secret")
	t.Setenv("PLUGINDRIFT_WEBHOOK_SECRET", "")
	_, err := loadConfig([]string{"-webhook-url", "https://hooks.example.com/plugindrift"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PLUGINDRIFT_WEBHOOK_SECRET")

	t.Setenv("PLUGINDRIFT_WEBHOOK_SECRET", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	t.Setenv("PLUGINDRIFT_SLACK_URL", "https://hooks.slack.com/services/T/B/X")
	cfg, err := loadConfig([]string{"-webhook-url", "https://hooks.example.com/plugindrift", "-admin-url", "https://ops.example.com/admin/"})
	require.NoError(t, err)
	tel, err := newTelemetry(cfg.events, memstore.New(), http.NewServeMux(), nil)
	require.NoError(t, err)
	require.NotNil(t, tel.dispatcher, "both sinks subscribed")

	cfg.events.slackURL = "http://hooks.slack.com/services/T/B/secretpart"
	_, err = newTelemetry(cfg.events, memstore.New(), http.NewServeMux(), nil)
	require.Error(t, err, "only https")
	assert.False(t, strings.Contains(err.Error(), "secretpart"))
}
