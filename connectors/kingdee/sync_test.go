package kingdee

import (
	"context"
	"testing"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/simulators"
	sim "github.com/ordo-project/ordo/internal/simulators/kingdee"
)

func TestCustomersChangedSincePagesAll(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := env.sim.GenerateCustomers(ctx, sim.GenerateOptions{Count: 2500, InvalidEvery: 100}); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	var since Watermark
	pages := 0
	for {
		records, err := env.client.CustomersChangedSince(ctx, since, 1000)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, record := range records {
			if seen[record.Number] {
				t.Fatalf("customer %s returned twice", record.Number)
			}
			seen[record.Number] = true
			after := record.Watermark()
			if after.ModifiedAt < since.ModifiedAt || (after.ModifiedAt == since.ModifiedAt && after.ID <= since.ID) {
				t.Fatalf("customer %s at %+v is not after %+v", record.Number, after, since)
			}
			since = after
		}
		if len(records) < 1000 {
			break
		}
	}
	if len(seen) != 2500 {
		t.Errorf("customers read = %d, want 2500", len(seen))
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}

	records, err := env.client.CustomersChangedSince(ctx, Watermark{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].Number != "GEN000001" || records[0].TaxNo == "" || records[0].Name == "" {
		t.Errorf("first record = %+v, want GEN000001 with name and tax number", records)
	}
}

func TestCustomersChangedSinceSeesUpdates(t *testing.T) {
	env := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := env.sim.GenerateCustomers(ctx, sim.GenerateOptions{Count: 10}); err != nil {
		t.Fatal(err)
	}
	records, err := env.client.CustomersChangedSince(ctx, Watermark{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	last := records[len(records)-1].Watermark()

	if _, err := env.client.UpsertCustomer(ctx, connectors.Customer{Number: "GEN000003", Name: "改名客户"}); err != nil {
		t.Fatal(err)
	}
	changed, err := env.client.CustomersChangedSince(ctx, last, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].Number != "GEN000003" || changed[0].Name != "改名客户" {
		t.Errorf("changed = %+v, want only the renamed GEN000003", changed)
	}
}

func TestCustomersChangedSinceServerError(t *testing.T) {
	env := newEnv(t, envOptions{client: func(cfg *Config) { cfg.ReadRetries = -1 }})
	ctx := context.Background()
	env.sim.Faults().SetConfig(simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultServerError}})
	_, err := env.client.CustomersChangedSince(ctx, Watermark{}, 100)
	if err == nil {
		t.Fatal("query under a server-error fault succeeded, want an error")
	}
}
