package drift

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// FetchInstaller is a ready-made Installer for hosts that keep each
// workspace's plugins as directories on disk. It materialises exactly the
// commit of the request (InstallRequest.SHA, the reviewed one: the ref is
// never resolved again, even when the Fetcher could) with a
// resolver.Fetcher into a staging directory beside the target, then swaps
// the two and removes the previous tree. The target stays an ordinary
// directory at the path Dir returns.
//
// A reader of the target never sees half of the old tree and half of the
// new one. On Linux the swap is a single renameat2(RENAME_EXCHANGE), so
// the target is at every moment the old tree or the new one. Where the
// system or the filesystem cannot exchange two directories (systems other
// than Linux; NFS), the old tree is renamed aside and the new one renamed
// in, and between those two renames the target does not exist. A first
// install, with no previous tree, is one rename everywhere.
//
// Install must not run twice at once for the same plugin; the Updater's
// claim on an entry sees to that.
type FetchInstaller struct {
	// Fetcher materialises one commit (gitcli.Resolver is one).
	Fetcher resolver.Fetcher
	// Dir returns the directory that holds a workspace's plugin. Its parent
	// must exist or be creatable; the staging happens inside that parent.
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
	staging := filepath.Join(parent, "."+filepath.Base(dir)+".staging-"+randomSuffix())
	if err := f.Fetcher.Fetch(ctx, req.Source, req.SHA, staging); err != nil {
		_ = os.RemoveAll(staging)
		return fmt.Errorf("drift: fetch %s at %s: %w", req.Source, req.SHA, err)
	}
	if err := swapIn(staging, dir); err != nil {
		_ = os.RemoveAll(staging)
		return fmt.Errorf("drift: install %s/%s: %w", req.WorkspaceID, req.PluginName, err)
	}
	return nil
}

// swapIn puts the tree at staging in place of dir and removes the tree
// that was there. On error dir is as it was, and the caller removes
// staging.
func swapIn(staging, dir string) error {
	err := exchange(staging, dir)
	switch {
	case err == nil:
		// staging now holds the previous tree.
		_ = os.RemoveAll(staging)
		return nil
	case errors.Is(err, fs.ErrNotExist):
		// No previous tree: one rename is atomic everywhere.
		if err := os.Rename(staging, dir); err != nil {
			return fmt.Errorf("move the new tree in: %w", err)
		}
		return nil
	case errors.Is(err, errors.ErrUnsupported):
		return renameSwap(staging, dir)
	default:
		return fmt.Errorf("swap in the new tree: %w", err)
	}
}

// renameSwap is swapIn for systems that cannot exchange: two renames, with
// a moment between them in which dir does not exist.
func renameSwap(staging, dir string) error {
	old := staging + ".old"
	hadOld := true
	if err := os.Rename(dir, old); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move the old tree aside: %w", err)
		}
		hadOld = false
	}
	if err := os.Rename(staging, dir); err != nil {
		if hadOld {
			_ = os.Rename(old, dir)
		}
		return fmt.Errorf("move the new tree in: %w", err)
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
