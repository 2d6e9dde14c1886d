package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/money"
	"github.com/ordo-project/ordo/internal/simulators"
)

var _ simulators.World = (*Simulator)(nil)

// Salts of simulators.Chance, one per behaviour, so the behaviours of a
// contract are drawn independently.
const (
	saltPartial  = "bank.partial"
	saltCombined = "bank.combined"
	saltOverpay  = "bank.overpay"
	saltNoRemark = "bank.no_remark"
	saltStray    = "bank.stray"
	saltFee      = "bank.fee"
)

// partialRatios splits the rest of a partial payment.
var partialRatios = []decimal.Decimal{decimal.RequireFromString("0.6"), decimal.RequireFromString("0.4")}

// SalesOrderAudited schedules the customer's advance for the order. It
// does nothing for an order seen before, when the advance ratio is zero,
// or when the contract's invoice came first.
func (s *Simulator) SalesOrderAudited(ctx context.Context, event simulators.SalesOrderAudited) error {
	if event.Number == "" || event.ContractNo == "" || event.CustomerName == "" {
		return fmt.Errorf("invalid sales order event %q for contract %q: order number, contract number and customer name are required",
			event.Number, event.ContractNo)
	}
	log := s.log.WithFields(logrus.Fields{logging.KeyContractNo: event.ContractNo, logging.KeyDocumentNo: event.Number})
	var scheduled *paymentRow
	err := s.cfg.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := markEvent(ctx, tx, "order:"+event.Number)
		if err != nil || !fresh {
			return err
		}
		order := &orderRow{ContractNo: event.ContractNo, PayerName: event.CustomerName,
			Total: event.Total.StringFixed(2), Currency: currencyOr(event.Currency)}
		if _, err := tx.NewInsert().Model(order).On("CONFLICT (contract_no) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("record order total of %s: %w", event.ContractNo, err)
		}
		if !s.behaviour.AdvanceRatio.IsPositive() {
			return nil
		}
		balances, err := tx.NewSelect().Model((*paymentRow)(nil)).
			Where("contract_no = ?", event.ContractNo).Where("kind = ?", kindBalance).Count(ctx)
		if err != nil {
			return fmt.Errorf("read payments of contract %s: %w", event.ContractNo, err)
		}
		if balances > 0 {
			log.Info("invoice was paid before the advance was due, skipping the advance")
			return nil
		}
		amount := money.Round(event.Total.Mul(s.behaviour.AdvanceRatio))
		if !amount.IsPositive() {
			return nil
		}
		now := time.Now().UTC()
		scheduled = &paymentRow{
			Key:        "advance:" + event.Number,
			Kind:       kindAdvance,
			ContractNo: event.ContractNo,
			DocumentNo: event.Number,
			PayerName:  event.CustomerName,
			Currency:   currencyOr(event.Currency),
			Principal:  amount.StringFixed(2),
			Extra:      "0.00",
			DueAtMS:    now.Add(s.behaviour.AdvanceDelay).UnixMilli(),
			Status:     paymentScheduled,
			CreatedAt:  now,
		}
		if _, err := tx.NewInsert().Model(scheduled).Exec(ctx); err != nil {
			return fmt.Errorf("schedule advance of %s: %w", event.Number, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule advance for sales order %s: %w", event.Number, err)
	}
	if scheduled != nil {
		log.WithField(keyAmount, scheduled.Principal).Info("customer will pay the advance")
	}
	return nil
}

// InvoiceIssued schedules the rest of the contract: the invoice total minus
// every payment already made or scheduled for the contract. It does
// nothing for an invoice seen before or a contract already paid in full,
// such as an invoice reissued after a red-letter reversal.
func (s *Simulator) InvoiceIssued(ctx context.Context, event simulators.InvoiceIssued) error {
	if event.InvoiceNo == "" || event.ContractNo == "" || event.BuyerName == "" {
		return fmt.Errorf("invalid invoice event %q for contract %q: invoice number, contract number and buyer name are required",
			event.InvoiceNo, event.ContractNo)
	}
	log := s.log.WithFields(logrus.Fields{logging.KeyContractNo: event.ContractNo, logging.KeyDocumentNo: event.InvoiceNo})
	var scheduled []*paymentRow
	err := s.cfg.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := markEvent(ctx, tx, "invoice:"+event.InvoiceNo)
		if err != nil || !fresh {
			return err
		}
		paid, err := s.contractPrincipal(ctx, tx, event.ContractNo)
		if err != nil {
			return err
		}
		total, currency, err := contractTotal(ctx, tx, event)
		if err != nil {
			return err
		}
		event.TotalInclusive, event.Currency = total, currency
		rest := total.Sub(paid)
		if !rest.IsPositive() {
			log.WithField(keyAmount, paid.StringFixed(2)).Info("contract already paid in full, nothing more to pay")
			return nil
		}
		scheduled, err = s.planBalance(event, rest)
		if err != nil {
			return err
		}
		for _, payment := range scheduled {
			if _, err := tx.NewInsert().Model(payment).Exec(ctx); err != nil {
				return fmt.Errorf("schedule payment %s: %w", payment.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule payment for invoice %s: %w", event.InvoiceNo, err)
	}
	for _, payment := range scheduled {
		log.WithFields(logrus.Fields{keyAmount: payment.Principal, keyPaymentKey: payment.Key}).Info("customer will pay the invoice")
	}
	return nil
}

// contractTotal returns what the customer owes under the invoice's
// contract: the audited order's total in the order's currency when the
// order is known, else the invoice's own total.
func contractTotal(ctx context.Context, tx bun.IDB, event simulators.InvoiceIssued) (decimal.Decimal, string, error) {
	order := new(orderRow)
	err := tx.NewSelect().Model(order).Where("contract_no = ?", event.ContractNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return event.TotalInclusive, currencyOr(event.Currency), nil
	}
	if err != nil {
		return decimal.Zero, "", fmt.Errorf("read order total of %s: %w", event.ContractNo, err)
	}
	total, err := decimal.NewFromString(order.Total)
	if err != nil {
		return decimal.Zero, "", fmt.Errorf("stored order total %q of %s is not a number: %w", order.Total, event.ContractNo, err)
	}
	return total, order.Currency, nil
}

// contractPrincipal adds up the principal of every payment of the
// contract, posted or scheduled.
func (s *Simulator) contractPrincipal(ctx context.Context, tx bun.IDB, contractNo string) (decimal.Decimal, error) {
	var principals []string
	err := tx.NewSelect().Model((*paymentRow)(nil)).Column("principal").
		Where("contract_no = ?", contractNo).Scan(ctx, &principals)
	if err != nil {
		return decimal.Zero, fmt.Errorf("read payments of contract %s: %w", contractNo, err)
	}
	total := decimal.Zero
	for _, text := range principals {
		amount, err := decimal.NewFromString(text)
		if err != nil {
			return decimal.Zero, fmt.Errorf("stored principal %q of contract %s is not a number: %w", text, contractNo, err)
		}
		total = total.Add(amount)
	}
	return total, nil
}

// planBalance returns the payments of the rest, shaped by the contract's
// behaviour: one payment, one that waits to be combined, or two parts.
func (s *Simulator) planBalance(event simulators.InvoiceIssued, rest decimal.Decimal) ([]*paymentRow, error) {
	behaviour := s.behaviour
	contract := event.ContractNo
	now := time.Now().UTC()
	due := now.Add(behaviour.BalanceDelay)
	extra := decimal.Zero
	if simulators.Chance(contract, saltOverpay, behaviour.OverpayRate) {
		extra = behaviour.OverpayExtra
	}
	base := paymentRow{
		Kind:       kindBalance,
		ContractNo: contract,
		DocumentNo: event.InvoiceNo,
		PayerName:  event.BuyerName,
		Currency:   currencyOr(event.Currency),
		Extra:      "0.00",
		Status:     paymentScheduled,
		CreatedAt:  now,
	}

	if simulators.Chance(contract, saltPartial, behaviour.PartialRate) {
		parts, err := money.Split(rest, partialRatios)
		if err != nil {
			return nil, fmt.Errorf("split the rest of contract %s: %w", contract, err)
		}
		first, second := base, base
		first.Key = "balance:" + event.InvoiceNo + ":1"
		first.Part = 1
		first.Principal = parts[0].StringFixed(2)
		first.DueAtMS = due.UnixMilli()
		second.Key = "balance:" + event.InvoiceNo + ":2"
		second.Part = 2
		second.Principal = parts[1].StringFixed(2)
		second.Extra = extra.StringFixed(2)
		second.DueAtMS = due.Add(behaviour.PartialGap).UnixMilli()
		return []*paymentRow{&first, &second}, nil
	}

	whole := base
	whole.Key = "balance:" + event.InvoiceNo
	whole.Principal = rest.StringFixed(2)
	whole.Extra = extra.StringFixed(2)
	whole.DueAtMS = due.UnixMilli()
	if simulators.Chance(contract, saltCombined, behaviour.CombinedRate) {
		whole.CombineUntilMS = due.Add(behaviour.CombineWindow).UnixMilli()
	}
	return []*paymentRow{&whole}, nil
}

func currencyOr(currency string) string {
	if currency == "" {
		return "CNY"
	}
	return currency
}
