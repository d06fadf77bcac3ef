package drift

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// FetchInstaller is a ready-made Installer for hosts that keep each
// workspace's plugins as directories on disk. It materialises the exact
// commit with a resolver.Fetcher into a staging directory next to the
// target, then swaps it in with renames, so the target directory is at any
// moment either the old tree or the new one, never half of each.
type FetchInstaller struct {
	// Fetcher materialises one commit (gitcli.Resolver is one).
	Fetcher resolver.Fetcher
	// Dir returns the directory that holds a workspace's plugin. Its parent
	// must exist or be creatable; the swap happens inside that parent.
	Dir func(workspaceID, pluginName string) string
}

var _ Installer = (*FetchInstaller)(nil)

// Install implements Installer.
func (f *FetchInstaller) Install(ctx context.Context, req InstallRequest) error {
	if err := tracking.ValidateSHA(req.SHA); err != nil {
		return fmt.Errorf("drift: install %s/%s: %w", req.WorkspaceID, req.PluginName, err)
	}
	dir := filepath.Clean(f.Dir(req.WorkspaceID, req.PluginName))
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("drift: install %s/%s: %w", req.WorkspaceID, req.PluginName, err)
	}
	suffix := randomSuffix()
	staging := filepath.Join(parent, "."+filepath.Base(dir)+".staging-"+suffix)
	if err := f.Fetcher.Fetch(ctx, req.Source, req.SHA, staging); err != nil {
		_ = os.RemoveAll(staging)
		return fmt.Errorf("drift: fetch %s at %s: %w", req.Source, req.SHA, err)
	}
	old := filepath.Join(parent, "."+filepath.Base(dir)+".old-"+suffix)
	hadOld := true
	if err := os.Rename(dir, old); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			_ = os.RemoveAll(staging)
			return fmt.Errorf("drift: install %s/%s: move old tree aside: %w", req.WorkspaceID, req.PluginName, err)
		}
		hadOld = false
	}
	if err := os.Rename(staging, dir); err != nil {
		if hadOld {
			_ = os.Rename(old, dir)
		}
		_ = os.RemoveAll(staging)
		return fmt.Errorf("drift: install %s/%s: swap in new tree: %w", req.WorkspaceID, req.PluginName, err)
	}
	if hadOld {
		_ = os.RemoveAll(old)
	}
	return nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
