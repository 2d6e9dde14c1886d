package store_test

import (
	"context"
	"testing"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func TestMigrateTwice(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("second migration run: %v", err)
		}
	})
}
