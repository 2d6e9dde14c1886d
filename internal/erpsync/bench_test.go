package erpsync_test

import (
	"testing"

	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// BenchmarkSyncCustomers measures the whole sync of 100,000 ERP customers,
// simulator to connector to upsert, with pages of 2,000 over loopback
// HTTP, and reports records/s. Generating the customers is not timed. Run
// it with
//
//	go test ./internal/erpsync/ -run '^$' -bench SyncCustomers -benchtime 1x
//
// and ORDO_TEST_POSTGRES_DSN set to include PostgreSQL.
func BenchmarkSyncCustomers(b *testing.B) {
	const customers = 100_000
	for _, driver := range storetest.Drivers() {
		b.Run(driver, func(b *testing.B) {
			_, client := newERP(b, customers, 0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := storetest.Open(b, driver)
				syncer := &erpsync.Syncer{Store: s, Source: client}
				b.StartTimer()
				syncAll(b, syncer, erpsync.StreamCustomers, 2000)
			}
			b.ReportMetric(float64(customers*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
