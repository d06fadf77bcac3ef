package drift

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenameSwap covers the swap of systems that cannot exchange two
// directories, which Linux tests never reach through Install.
func TestRenameSwap(t *testing.T) {
	tree := func(t *testing.T, dir, content string) {
		t.Helper()
		require.NoError(t, os.Mkdir(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "COMMIT"), []byte(content), 0o644))
	}
	contents := func(t *testing.T, parent string) map[string]string {
		t.Helper()
		got := map[string]string{}
		entries, err := os.ReadDir(parent)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(parent, e.Name(), "COMMIT"))
			require.NoError(t, err)
			got[e.Name()] = string(b)
		}
		return got
	}

	t.Run("replaces the previous tree", func(t *testing.T) {
		parent := t.TempDir()
		dir, staging := filepath.Join(parent, "p"), filepath.Join(parent, ".p.staging-1")
		tree(t, dir, "old")
		tree(t, staging, "new")
		require.NoError(t, renameSwap(staging, dir))
		assert.Equal(t, map[string]string{"p": "new"}, contents(t, parent))
	})
	t.Run("first install", func(t *testing.T) {
		parent := t.TempDir()
		dir, staging := filepath.Join(parent, "p"), filepath.Join(parent, ".p.staging-1")
		tree(t, staging, "new")
		require.NoError(t, renameSwap(staging, dir))
		assert.Equal(t, map[string]string{"p": "new"}, contents(t, parent))
	})
	t.Run("a failed move puts the previous tree back", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "p")
		tree(t, dir, "old")
		err := renameSwap(filepath.Join(parent, ".p.staging-missing"), dir)
		require.ErrorContains(t, err, "move the new tree in")
		assert.Equal(t, map[string]string{"p": "old"}, contents(t, parent))
	})
}
