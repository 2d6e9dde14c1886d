package kingdee

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/validation"
)

// GenerateOptions sizes a set of generated customers.
type GenerateOptions struct {
	// Count is the number of customers to create.
	Count int
	// InvalidEvery makes every n-th customer invalid for ordo's sync,
	// alternating between a missing name and a wrong tax number. 0 makes
	// every customer valid.
	InvalidEvery int
	// Start is the modification time of the first customer. The others
	// follow ten to a second, so several share a FModifyDate. Zero means
	// 2026-01-01 00:00 China time.
	Start time.Time
}

// GenerateCustomers inserts audited BD_Customer documents numbered
// GEN000001, GEN000002 and so on straight into the database, without the
// checks Save applies, the way records imported into a real Kingdee skip
// them. It is for load tests of the ERP sync and adds nothing to the ledger.
// Numbers that exist already are left as they are.
func (s *Simulator) GenerateCustomers(ctx context.Context, opts GenerateOptions) error {
	start := opts.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, chinaTime)
	}
	const batchSize = 1000
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		batch := make([]document, 0, batchSize)
		for i := 1; i <= opts.Count; i++ {
			doc, err := generatedCustomer(i, opts.InvalidEvery, start)
			if err != nil {
				return err
			}
			batch = append(batch, doc)
			if len(batch) == batchSize || i == opts.Count {
				if _, err := tx.NewInsert().Model(&batch).On("CONFLICT (form_id, number) DO NOTHING").Exec(ctx); err != nil {
					return fmt.Errorf("insert generated customers up to GEN%06d: %w", i, err)
				}
				batch = batch[:0]
			}
		}
		return nil
	})
}

func generatedCustomer(i, invalidEvery int, start time.Time) (document, error) {
	number := fmt.Sprintf("GEN%06d", i)
	body := fmt.Sprintf("91310000MA%07d", i)
	check, err := validation.TaxNoCheckChar(body)
	if err != nil {
		return document{}, err
	}
	name := fmt.Sprintf("生成客户 %06d 有限公司", i)
	taxNo := body + string(check)
	if invalidEvery > 0 && i%invalidEvery == 0 {
		if (i/invalidEvery)%2 == 1 {
			name = ""
		} else {
			taxNo = body + "I"
		}
	}
	modified := wallClock(start.Add(time.Duration(i) * 100 * time.Millisecond))
	doc := document{
		FormID: FormCustomer, Number: number, DocumentStatus: StatusAudited,
		CreatedAt: modified, ModifiedAt: modified, ApprovedAt: modified,
	}
	model := map[string]any{"FNumber": number, "FName": name, "FTaxRegisterCode": taxNo}
	if err := doc.setModel(model); err != nil {
		return document{}, err
	}
	return doc, nil
}
