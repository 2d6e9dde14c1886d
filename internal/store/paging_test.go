package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

func TestPageLimit(t *testing.T) {
	cases := []struct{ in, want int }{{-1, 100}, {0, 100}, {1, 1}, {1000, 1000}, {1001, 100}}
	for _, c := range cases {
		if got := store.PageLimit(c.in); got != c.want {
			t.Errorf("PageLimit(%d) = %d, expected %d", c.in, got, c.want)
		}
	}
}

func TestAttentionKeysetPages(t *testing.T) {
	storetest.ForEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			item := store.AttentionItem{Kind: store.AttentionUnmatchedLine, Reference: fmt.Sprintf("LINE-%d", i), Message: "m"}
			if _, err := store.AddAttention(ctx, s.DB, &item); err != nil {
				t.Fatalf("add item %d: %v", i, err)
			}
		}
		filter := store.AttentionFilter{Limit: 2}
		first, err := s.ListAttention(ctx, filter)
		if err != nil || len(first) != 2 {
			t.Fatalf("first page: %d items, err %v; expected 2", len(first), err)
		}
		if first[0].ID <= first[1].ID {
			t.Errorf("first page ids %d, %d are not newest first", first[0].ID, first[1].ID)
		}
		filter.After = first[1].ID
		remaining, err := s.CountAttention(ctx, filter)
		if err != nil || remaining != 3 {
			t.Errorf("remaining after the first page = %d, err %v; expected 3", remaining, err)
		}
		second, err := s.ListAttention(ctx, filter)
		if err != nil || len(second) != 2 || second[0].ID >= first[1].ID {
			t.Errorf("second page = %+v, err %v; expected 2 items older than id %d", second, err, first[1].ID)
		}
	})
}
