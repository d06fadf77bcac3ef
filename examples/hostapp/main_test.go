package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
)

func TestConfigNeedsAdminToken(t *testing.T) {
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "")
	_, err := loadConfig(nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PLUGINDRIFT_ADMIN_TOKEN")

	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "long-enough-secret")
	t.Setenv("PLUGINDRIFT_SCHEDULE", "@every 5m")
	cfg, err := loadConfig([]string{"-addr", "127.0.0.1:9999"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", cfg.addr, "flags win")
	assert.Equal(t, "@every 5m", cfg.schedule, "environment fills the rest")
}

func TestBearer(t *testing.T) {
	auth := bearer("s3cret-token")
	for header, want := range map[string]error{
		"":                    adminhttp.ErrUnauthenticated,
		"Basic czNjcmV0":      adminhttp.ErrUnauthenticated,
		"Bearer wrong":        adminhttp.ErrForbidden,
		"Bearer s3cret-token": nil,
	} {
		r, _ := http.NewRequest("GET", "/admin/", nil)
		r.Header.Set("Authorization", header)
		actor, err := auth(r)
		if want == nil {
			require.NoError(t, err)
			assert.Equal(t, "admin-token", actor)
			continue
		}
		assert.ErrorIs(t, err, want, header)
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	cfg := config{
		addr: "127.0.0.1:0", db: "sqlite://" + filepath.Join(t.TempDir(), "host.db"),
		schedule: "@hourly", adminToken: "s3cret-token", pluginsDir: t.TempDir(), applyTimeout: time.Minute,
	}
	ctx, cancel := context.WithCancel(t.Context())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), func(a net.Addr) { addrs <- a }) }()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	get := func(path, token string) int {
		req, err := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get("/healthz", ""))
	assert.Equal(t, http.StatusUnauthorized, get("/admin/plugin-updates", ""))
	assert.Equal(t, http.StatusForbidden, get("/admin/plugin-updates", "wrong"))
	assert.Equal(t, http.StatusOK, get("/admin/plugin-updates?status=pending", "s3cret-token"))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
}
