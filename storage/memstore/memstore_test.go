package memstore_test

import (
	"testing"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/storage/storetest"
)

func TestConformance(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storage.Store { return memstore.New() })
	})
}
