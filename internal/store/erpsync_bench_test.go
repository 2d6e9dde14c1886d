package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// BenchmarkUpsertERPCustomers upserts 100,000 customers per operation in
// one transaction, the first operation as inserts and later ones as
// updates, and reports rows/s. Run it with
//
//	go test ./internal/store/ -run '^$' -bench UpsertERPCustomers -benchtime 3x
//
// and ORDO_TEST_POSTGRES_DSN set to include PostgreSQL.
func BenchmarkUpsertERPCustomers(b *testing.B) {
	const rows = 100_000
	for _, driver := range storetest.Drivers() {
		b.Run(driver, func(b *testing.B) {
			s := storetest.Open(b, driver)
			ctx := context.Background()
			modified := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				customers := erpCustomers(rows, modified.Add(time.Duration(i)*time.Second), "customer")
				err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					return store.UpsertERPCustomers(ctx, tx, customers)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
