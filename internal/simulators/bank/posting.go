package bank

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/money"
	"github.com/ordo-project/ordo/internal/simulators"
)

const (
	ledgerSystem = "bank"
	batchSize    = 50
)

var chinaStandardTime = time.FixedZone("CST", 8*60*60)

// PayerAccount returns the account number a simulated customer pays from:
// 19 digits derived from its name, the same on every run.
func PayerAccount(name string) string {
	sum := sha256.Sum256([]byte("ordo bank simulator\x00" + name))
	return fmt.Sprintf("6%018d", binary.BigEndian.Uint64(sum[:8])%1_000_000_000_000_000_000)
}

// runPayments posts due payments every PollInterval until ctx ends.
func (s *Simulator) runPayments(ctx context.Context) {
	simulators.Every(ctx, s.cfg.PollInterval, s.postDue, func(err error) {
		s.log.WithField(logging.KeyError, err).Error("posting due payments failed, will retry")
	})
}

// postDue posts every scheduled payment whose due time has passed.
func (s *Simulator) postDue(ctx context.Context) error {
	var keys []string
	err := s.cfg.DB.NewSelect().Model((*paymentRow)(nil)).Column("key").
		Where("status = ?", paymentScheduled).Where("due_at_ms <= ?", time.Now().UnixMilli()).
		Order("due_at_ms", "key").Limit(batchSize).Scan(ctx, &keys)
	if err != nil {
		return fmt.Errorf("list due payments: %w", err)
	}
	for _, key := range keys {
		if err := s.post(ctx, key); err != nil {
			s.log.WithFields(logrus.Fields{keyPaymentKey: key, logging.KeyError: err}).Error("posting payment failed, will retry")
		}
	}
	return nil
}

// post books one due payment as a statement line, with its partner when it
// is combined, and any stray lines that follow it. The line, the payment
// states and the ledger entries are written in one transaction, and the
// state is checked inside it, so a payment is never posted twice.
func (s *Simulator) post(ctx context.Context, key string) error {
	var posted *lineRow
	err := s.cfg.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		payment, err := findPayment(ctx, tx, key)
		if err != nil {
			return err
		}
		now := time.Now()
		if payment == nil || payment.Status != paymentScheduled || payment.DueAtMS > now.UnixMilli() {
			return nil
		}
		group := []*paymentRow{payment}
		if payment.CombineUntilMS > 0 {
			partner, err := s.findPartner(ctx, tx, payment)
			if err != nil {
				return err
			}
			switch {
			case partner != nil:
				group = append(group, partner)
			case now.UnixMilli() < payment.CombineUntilMS:
				// Wait for a second contract of the same payer.
				payment.DueAtMS = payment.CombineUntilMS
				_, err := tx.NewUpdate().Model(payment).Column("due_at_ms").WherePK().Exec(ctx)
				return err
			}
		}

		line, err := s.receiptLine(ctx, tx, group)
		if err != nil {
			return err
		}
		if err := s.appendLine(ctx, tx, line, now); err != nil {
			return err
		}
		for _, member := range group {
			member.Status = paymentPosted
			member.LineSerialNo = line.SerialNo
			if _, err := tx.NewUpdate().Model(member).Column("status", "line_serial_no").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("mark payment %s posted: %w", member.Key, err)
			}
			detail := fmt.Sprintf("amount %s, payer %s, remark %q", line.Amount, line.CounterpartyName, line.Remark)
			if err := simulators.RecordPart(ctx, tx, ledgerSystem, lineReceipt, line.SerialNo, member.ContractNo, member.instalment(), detail); err != nil {
				return err
			}
		}
		posted = line
		return s.appendStrayLines(ctx, tx, payment.Key, now)
	})
	if err != nil {
		return err
	}
	if posted != nil {
		s.log.WithFields(logrus.Fields{
			logging.KeyReceiptID:  posted.SerialNo,
			logging.KeyContractNo: posted.ContractNos,
			keyAmount:             posted.Amount,
		}).Info("customer payment booked")
	}
	return nil
}

// findPartner returns another scheduled whole balance payment of the same
// payer and currency for a different contract, or nil.
func (s *Simulator) findPartner(ctx context.Context, tx bun.IDB, payment *paymentRow) (*paymentRow, error) {
	var partners []*paymentRow
	err := tx.NewSelect().Model(&partners).
		Where("status = ?", paymentScheduled).Where("kind = ?", kindBalance).Where("part = 0").
		Where("payer_name = ?", payment.PayerName).Where("currency = ?", payment.Currency).
		Where("contract_no <> ?", payment.ContractNo).
		Order("due_at_ms", "key").Limit(1).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("find a payment to combine with %s: %w", payment.Key, err)
	}
	if len(partners) == 0 {
		return nil, nil
	}
	return partners[0], nil
}

// receiptLine builds the statement line that pays a group of one or two
// payments of the same payer.
func (s *Simulator) receiptLine(ctx context.Context, tx bun.IDB, group []*paymentRow) (*lineRow, error) {
	total := decimal.Zero
	contracts := make([]string, 0, len(group))
	for _, member := range group {
		principal, err := decimal.NewFromString(member.Principal)
		if err != nil {
			return nil, fmt.Errorf("stored principal %q of %s is not a number: %w", member.Principal, member.Key, err)
		}
		extra, err := decimal.NewFromString(member.Extra)
		if err != nil {
			return nil, fmt.Errorf("stored extra %q of %s is not a number: %w", member.Extra, member.Key, err)
		}
		total = total.Add(principal).Add(extra)
		contracts = append(contracts, member.ContractNo)
	}
	first := group[0]
	remark, err := s.remark(ctx, tx, group)
	if err != nil {
		return nil, err
	}
	return &lineRow{
		Amount:              total.StringFixed(2),
		Currency:            first.Currency,
		CounterpartyName:    first.PayerName,
		CounterpartyAccount: PayerAccount(first.PayerName),
		Remark:              remark,
		Kind:                lineReceipt,
		ContractNos:         strings.Join(contracts, ","),
	}, nil
}

// appendLine numbers a line, computes the balance after it and stores it.
// It must run in the write transaction, which serializes the numbering.
func (s *Simulator) appendLine(ctx context.Context, tx bun.IDB, line *lineRow, now time.Time) error {
	last, err := lastLine(ctx, tx)
	if err != nil {
		return err
	}
	previous := s.cfg.OpeningBalance
	line.Seq = 1
	if last != nil {
		if previous, err = decimal.NewFromString(last.Balance); err != nil {
			return fmt.Errorf("stored balance %q of line %s is not a number: %w", last.Balance, last.SerialNo, err)
		}
		line.Seq = last.Seq + 1
	}
	amount, err := decimal.NewFromString(line.Amount)
	if err != nil {
		return fmt.Errorf("line amount %q is not a number: %w", line.Amount, err)
	}
	local := now.In(chinaStandardTime)
	line.BusinessDate = local.Format("20060102")
	line.TradeTime = local.Format("150405")
	line.SerialNo = fmt.Sprintf("%s%012d", line.BusinessDate, line.Seq)
	line.Balance = previous.Add(amount).StringFixed(2)
	line.PostedAt = now.UTC()
	if _, err := tx.NewInsert().Model(line).Exec(ctx); err != nil {
		return fmt.Errorf("store statement line %s: %w", line.SerialNo, err)
	}
	return nil
}

// appendStrayLines adds the lines unrelated to any contract that may
// follow a customer payment: an incoming line from an unknown payer and an
// outgoing bank fee. The choice is drawn per payment key.
func (s *Simulator) appendStrayLines(ctx context.Context, tx bun.IDB, key string, now time.Time) error {
	pick := hashOf(key)
	if simulators.Chance(key, saltStray, s.behaviour.StrayRate) {
		payer := strayPayers[pick%uint32(len(strayPayers))]
		// 100.00 to 9,999.99, far from typical contract amounts.
		amount := decimal.New(10_000+int64(pick%990_000), -2)
		line := &lineRow{
			Amount:              amount.StringFixed(2),
			Currency:            "CNY",
			CounterpartyName:    payer.name,
			CounterpartyAccount: PayerAccount(payer.name),
			Remark:              payer.remark,
			Kind:                lineStray,
		}
		if err := s.appendLine(ctx, tx, line, now); err != nil {
			return err
		}
	}
	if simulators.Chance(key, saltFee, s.behaviour.FeeRate) {
		fee := bankFees[(pick/7)%uint32(len(bankFees))]
		line := &lineRow{
			Amount:   fee.amount,
			Currency: "CNY",
			Remark:   fee.remark,
			Kind:     lineFee,
		}
		if err := s.appendLine(ctx, tx, line, now); err != nil {
			return err
		}
	}
	return nil
}

var strayPayers = []struct{ name, remark string }{
	{"国家金库上海市分库", "出口退税"},
	{"宁波恒远物流有限公司", "退还投标保证金"},
	{"王磊", "往来款"},
	{"苏州新禾电子科技有限公司", ""},
}

var bankFees = []struct{ amount, remark string }{
	{"-15.50", "跨行汇款手续费"},
	{"-5.00", "短信通知服务费"},
	{"-100.00", "账户管理费"},
	{"-0.50", "网银转账手续费"},
}

// Remark templates. %[1]s is the contract number, %[2]s the invoice
// number, %[3]d the part of a partial payment.
var (
	advanceRemarks = []string{"%[1]s 首付款", "预付款 %[1]s", "%[1]s预付货款"}
	balanceRemarks = []string{"货款 %[1]s", "%[1]s 尾款", "支付%[1]s合同余款", "%[1]s 发票%[2]s 货款"}
	partRemarks    = []string{"%[1]s 尾款 第%[3]d笔", "货款 %[1]s（第%[3]d笔）"}
	// Remarks of customers who name no contract. "货款" alone marks a
	// payment for goods but names no contract.
	vagueRemarks = []string{"", "转账", "货款", "往来款", "汇款"}
)

// remark writes the remark of a payment group the way the customer would.
func (s *Simulator) remark(ctx context.Context, tx bun.IDB, group []*paymentRow) (string, error) {
	first := group[0]
	if len(group) > 1 {
		contracts := make([]string, len(group))
		for i, member := range group {
			contracts[i] = member.ContractNo
		}
		switch hashOf(first.PayerName) % 3 {
		case 0:
			return "货款 " + strings.Join(contracts, " "), nil
		case 1:
			return strings.Join(contracts, ",") + " 尾款", nil
		default:
			return "支付合同" + strings.Join(contracts, "、") + "余款", nil
		}
	}
	if exactBalance(first) && simulators.Chance(first.ContractNo, saltNoRemark, s.behaviour.NoRemarkRate) {
		unique, err := s.amountIdentifies(ctx, tx, first)
		if err != nil {
			return "", err
		}
		if unique {
			return vagueRemarks[hashOf(first.Key)%uint32(len(vagueRemarks))], nil
		}
	}
	templates := balanceRemarks
	switch {
	case first.Kind == kindAdvance:
		templates = advanceRemarks
	case first.Part > 0:
		templates = partRemarks
	}
	template := templates[hashOf(first.ContractNo+first.Kind)%uint32(len(templates))]
	return fmt.Sprintf(template, first.ContractNo, first.DocumentNo, first.Part), nil
}

// amountIdentifies reports whether payer and amount alone point at the
// payment's contract: no other contract of the payer has a total, advance or
// rest of the same amount. A simulated customer leaves the remark out only
// then, so the default behaviour stays matchable without a person.
func (s *Simulator) amountIdentifies(ctx context.Context, tx bun.IDB, payment *paymentRow) (bool, error) {
	amount, err := decimal.NewFromString(payment.Principal)
	if err != nil {
		return false, fmt.Errorf("stored principal %q of %s is not a number: %w", payment.Principal, payment.Key, err)
	}
	var others []orderRow
	err = tx.NewSelect().Model(&others).
		Where("payer_name = ?", payment.PayerName).Where("contract_no <> ?", payment.ContractNo).Scan(ctx)
	if err != nil {
		return false, fmt.Errorf("read other orders of %s: %w", payment.PayerName, err)
	}
	for _, order := range others {
		total, err := decimal.NewFromString(order.Total)
		if err != nil {
			return false, fmt.Errorf("stored order total %q of %s is not a number: %w", order.Total, order.ContractNo, err)
		}
		advance := money.Round(total.Mul(s.behaviour.AdvanceRatio))
		if amount.Equal(total) || amount.Equal(advance) || amount.Equal(total.Sub(advance)) {
			return false, nil
		}
	}
	return true, nil
}

// exactBalance reports whether a payment is the whole rest of an invoice
// with nothing extra. Only such a payment may carry a vague remark, because
// its payer and amount still identify the invoice: the amount equals the
// invoice total minus what the customer paid before.
func exactBalance(payment *paymentRow) bool {
	extra, err := decimal.NewFromString(payment.Extra)
	return payment.Kind == kindBalance && payment.Part == 0 && err == nil && extra.IsZero()
}

func hashOf(text string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(text))
	return h.Sum32()
}
