package bank_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/connectors"
	bankconn "github.com/ordo-project/ordo/connectors/bank"
	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/simulators/bank"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

const (
	testClientID     = "ordo-test"
	testClientSecret = "test-secret-not-real"
)

func dec(t *testing.T, text string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(text)
	if err != nil {
		t.Fatalf("bad test decimal %q: %v", text, err)
	}
	return d
}

func openDB(t *testing.T, path string) *bun.DB {
	t.Helper()
	db, err := sqlitedb.Open(path, 4)
	if err != nil {
		t.Fatalf("open SQLite %s: %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// quietBehaviour pays at once with no variation; cases switch on what they
// test.
func quietBehaviour(t *testing.T) bank.Behaviour {
	return bank.Behaviour{
		AdvanceRatio: dec(t, "0.30"),
		OverpayExtra: dec(t, "100.00"),
	}
}

func startBank(t *testing.T, db *bun.DB, behaviour bank.Behaviour) *bank.Simulator {
	t.Helper()
	ctx := context.Background()
	simulator, err := bank.New(ctx, bank.Config{
		DB:           db,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		PollInterval: 20 * time.Millisecond,
		Behaviour:    &behaviour,
	})
	if err != nil {
		t.Fatalf("create bank simulator: %v", err)
	}
	if err := simulator.Start(ctx); err != nil {
		t.Fatalf("start bank simulator: %v", err)
	}
	t.Cleanup(func() { _ = simulator.Close() })
	return simulator
}

func newClient(t *testing.T, simulator *bank.Simulator) *bankconn.Client {
	t.Helper()
	client, err := bankconn.New(bankconn.Config{
		BaseURL:      simulator.URL(),
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		AccountNo:    simulator.AccountNo(),
		Timeout:      2 * time.Second,
	})
	if err != nil {
		t.Fatalf("create bank client: %v", err)
	}
	return client
}

type payment struct {
	Key    string `json:"key"`
	Status string `json:"status"`
}

// waitAllPosted waits until the schedule has want payments and all of them
// are posted.
func waitAllPosted(t *testing.T, simulator *bank.Simulator, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var payments []payment
	for time.Now().Before(deadline) {
		payments = listPayments(t, simulator)
		posted := 0
		for _, p := range payments {
			if p.Status == "posted" {
				posted++
			}
		}
		if len(payments) == want && posted == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("schedule after %s = %+v, want %d payments, all posted", timeout, payments, want)
}

func listPayments(t *testing.T, simulator *bank.Simulator) []payment {
	t.Helper()
	response, err := http.Get(simulator.URL() + "/sim/payments")
	if err != nil {
		t.Fatalf("GET /sim/payments: %v", err)
	}
	defer response.Body.Close()
	var reply struct {
		Data []payment `json:"data"`
	}
	if err := json.NewDecoder(response.Body).Decode(&reply); err != nil {
		t.Fatalf("decode /sim/payments: %v", err)
	}
	return reply.Data
}

// allLines reads the whole statement through the connector.
func allLines(t *testing.T, client *bankconn.Client) []connectors.BankLine {
	t.Helper()
	var lines []connectors.BankLine
	cursor := ""
	for range 100 {
		page, next, err := client.ListLines(context.Background(), cursor, 50)
		if err != nil {
			t.Fatalf("list lines after %q: %v", cursor, err)
		}
		if len(page) == 0 {
			return lines
		}
		lines = append(lines, page...)
		cursor = next
	}
	t.Fatal("statement did not end within 100 pages")
	return nil
}

// receipts returns the ledger's receipt line serials of a contract.
func receipts(t *testing.T, db bun.IDB, contractNo string) []string {
	t.Helper()
	entries, err := simulators.NewLedger(db).Entries(context.Background(), contractNo)
	if err != nil {
		t.Fatalf("read ledger of %s: %v", contractNo, err)
	}
	var serials []string
	for _, entry := range entries {
		if entry.System == "bank" && entry.Kind == "receipt" {
			serials = append(serials, entry.Number)
		}
	}
	return serials
}

func lineBySerial(lines []connectors.BankLine) map[string]connectors.BankLine {
	index := make(map[string]connectors.BankLine, len(lines))
	for _, line := range lines {
		index[line.LineID] = line
	}
	return index
}

type contract struct {
	number, customer, total string
}

// payContract reports the audited order and the issued invoice of a
// contract, the events the ERP and e-invoice simulators would send.
func payContract(t *testing.T, simulator *bank.Simulator, c contract) {
	t.Helper()
	ctx := context.Background()
	total := dec(t, c.total)
	if err := simulator.SalesOrderAudited(ctx, simulators.SalesOrderAudited{
		Number: "SO-" + c.number, ContractNo: c.number, CustomerName: c.customer, Currency: "CNY", Total: total,
	}); err != nil {
		t.Fatalf("report audited order of %s: %v", c.number, err)
	}
	if err := simulator.InvoiceIssued(ctx, simulators.InvoiceIssued{
		SerialNo: c.number + "-INV-1", InvoiceNo: "2431000000000" + strings.TrimPrefix(c.number, "CT-"),
		ContractNo: c.number, BuyerName: c.customer, Currency: "CNY", TotalInclusive: total,
	}); err != nil {
		t.Fatalf("report issued invoice of %s: %v", c.number, err)
	}
}

func TestCustomerBehaviours(t *testing.T) {
	first := contract{"CT-0000001", "上海启明机械有限公司", "10000.00"}
	second := contract{"CT-0000002", "上海启明机械有限公司", "5000.00"}

	cases := []struct {
		name      string
		behaviour func(*bank.Behaviour)
		contracts []contract
		// payments is the size of the schedule once everything is posted.
		payments int
		// amounts lists the expected customer lines in statement order.
		amounts []string
		// check inspects the customer lines and the whole statement.
		check func(t *testing.T, customer, all []connectors.BankLine)
	}{
		{
			name:      "advance then rest",
			contracts: []contract{first},
			payments:  2,
			amounts:   []string{"3000.00", "7000.00"},
			check: func(t *testing.T, customer, _ []connectors.BankLine) {
				for _, line := range customer {
					if !strings.Contains(line.Remark, first.number) {
						t.Errorf("remark %q does not name contract %s", line.Remark, first.number)
					}
				}
			},
		},
		{
			name:      "partial rest in two lines",
			behaviour: func(b *bank.Behaviour) { b.PartialRate = 1 },
			contracts: []contract{first},
			payments:  3,
			amounts:   []string{"3000.00", "4200.00", "2800.00"},
		},
		{
			name:      "over-payment",
			behaviour: func(b *bank.Behaviour) { b.OverpayRate = 1 },
			contracts: []contract{first},
			payments:  2,
			amounts:   []string{"3000.00", "7100.00"},
		},
		{
			name:      "no remark",
			behaviour: func(b *bank.Behaviour) { b.NoRemarkRate = 1 },
			contracts: []contract{first},
			payments:  2,
			amounts:   []string{"3000.00", "7000.00"},
			check: func(t *testing.T, customer, _ []connectors.BankLine) {
				if len(customer) != 2 {
					return
				}
				if !strings.Contains(customer[0].Remark, first.number) {
					t.Errorf("advance remark %q does not name %s, want only the exact rest to lose it", customer[0].Remark, first.number)
				}
				if rest := customer[1].Remark; strings.Contains(rest, "CT-") || strings.Contains(rest, "2431") {
					t.Errorf("rest remark %q names a contract or invoice, want none", rest)
				}
			},
		},
		{
			name: "no remark never hides an over-payment",
			behaviour: func(b *bank.Behaviour) {
				b.NoRemarkRate = 1
				b.OverpayRate = 1
			},
			contracts: []contract{first},
			payments:  2,
			amounts:   []string{"3000.00", "7100.00"},
			check: func(t *testing.T, customer, _ []connectors.BankLine) {
				for _, line := range customer {
					if !strings.Contains(line.Remark, first.number) {
						t.Errorf("remark %q does not name %s", line.Remark, first.number)
					}
				}
			},
		},
		{
			name: "combined rest of two contracts",
			behaviour: func(b *bank.Behaviour) {
				b.AdvanceRatio = decimal.Zero
				b.CombinedRate = 1
				b.CombineWindow = 5 * time.Second
			},
			contracts: []contract{first, second},
			payments:  2,
			amounts:   []string{"15000.00"},
			check: func(t *testing.T, customer, _ []connectors.BankLine) {
				if len(customer) == 1 && (!strings.Contains(customer[0].Remark, first.number) || !strings.Contains(customer[0].Remark, second.number)) {
					t.Errorf("remark %q does not name both %s and %s", customer[0].Remark, first.number, second.number)
				}
			},
		},
		{
			name: "combined without a partner is paid alone",
			behaviour: func(b *bank.Behaviour) {
				b.AdvanceRatio = decimal.Zero
				b.CombinedRate = 1
				b.CombineWindow = 200 * time.Millisecond
			},
			contracts: []contract{first},
			payments:  1,
			amounts:   []string{"10000.00"},
		},
		{
			name: "stray lines and fees",
			behaviour: func(b *bank.Behaviour) {
				b.StrayRate = 1
				b.FeeRate = 1
			},
			contracts: []contract{first},
			payments:  2,
			amounts:   []string{"3000.00", "7000.00"},
			check: func(t *testing.T, customer, all []connectors.BankLine) {
				var incoming, outgoing int
				for _, line := range all {
					if line.PayerName == first.customer {
						continue
					}
					if line.Amount.IsNegative() {
						outgoing++
					} else {
						incoming++
					}
				}
				if incoming != 2 || outgoing != 2 {
					t.Errorf("stray lines: %d incoming and %d outgoing, want 2 of each (one per payment)", incoming, outgoing)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, filepath.Join(t.TempDir(), "bank.db"))
			behaviour := quietBehaviour(t)
			if tc.behaviour != nil {
				tc.behaviour(&behaviour)
			}
			simulator := startBank(t, db, behaviour)
			for _, c := range tc.contracts {
				payContract(t, simulator, c)
			}
			waitAllPosted(t, simulator, tc.payments, 8*time.Second)

			all := allLines(t, newClient(t, simulator))
			var customer []connectors.BankLine
			for _, line := range all {
				if line.PayerName == first.customer {
					customer = append(customer, line)
				}
			}
			if len(customer) != len(tc.amounts) {
				t.Fatalf("customer lines = %d, want %d: %+v", len(customer), len(tc.amounts), customer)
			}
			for i, line := range customer {
				if !line.Amount.Equal(dec(t, tc.amounts[i])) {
					t.Errorf("customer line %d amount = %s, want %s", i+1, line.Amount, tc.amounts[i])
				}
				if line.PayerAccount != bank.PayerAccount(first.customer) {
					t.Errorf("customer line %d payer account = %q, want %q", i+1, line.PayerAccount, bank.PayerAccount(first.customer))
				}
				if line.Currency != "CNY" || len(line.BusinessDate) != 8 {
					t.Errorf("customer line %d currency %q date %q, want CNY and YYYYMMDD", i+1, line.Currency, line.BusinessDate)
				}
			}

			// Every contract is paid in full: the ledger's receipt lines of
			// each contract add up to at least its total.
			index := lineBySerial(all)
			for _, c := range tc.contracts {
				paid := decimal.Zero
				for _, serial := range receipts(t, db, c.number) {
					paid = paid.Add(index[serial].Amount)
				}
				if paid.LessThan(dec(t, c.total)) {
					t.Errorf("contract %s received %s, want at least %s", c.number, paid, c.total)
				}
			}
			if tc.check != nil {
				tc.check(t, customer, all)
			}
		})
	}
}

func TestEventsReportedTwicePayOnce(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "bank.db"))
	simulator := startBank(t, db, quietBehaviour(t))
	c := contract{"CT-0000003", "宁波海曙仪表有限公司", "2000.00"}
	payContract(t, simulator, c)
	payContract(t, simulator, c)
	waitAllPosted(t, simulator, 2, 5*time.Second)

	// A reissued invoice after a red-letter reversal finds the contract
	// paid in full and schedules nothing.
	err := simulator.InvoiceIssued(context.Background(), simulators.InvoiceIssued{
		SerialNo: c.number + "-INV-2", InvoiceNo: "24310000000009999", ContractNo: c.number,
		BuyerName: c.customer, Currency: "CNY", TotalInclusive: dec(t, c.total),
	})
	if err != nil {
		t.Fatalf("report reissued invoice: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := len(listPayments(t, simulator)); got != 2 {
		t.Errorf("schedule has %d payments, want 2", got)
	}
	if got := receipts(t, db, c.number); len(got) != 2 {
		t.Errorf("ledger has %d receipts for %s, want 2: %v", len(got), c.number, got)
	}
}

func TestInvoiceBeforeAuditSkipsAdvance(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "bank.db"))
	simulator := startBank(t, db, quietBehaviour(t))
	ctx := context.Background()
	total := dec(t, "800.00")
	if err := simulator.InvoiceIssued(ctx, simulators.InvoiceIssued{
		SerialNo: "S", InvoiceNo: "24310000000000077", ContractNo: "CT-0000004", BuyerName: "买方", TotalInclusive: total,
	}); err != nil {
		t.Fatalf("report invoice: %v", err)
	}
	if err := simulator.SalesOrderAudited(ctx, simulators.SalesOrderAudited{
		Number: "SO-4", ContractNo: "CT-0000004", CustomerName: "买方", Total: total,
	}); err != nil {
		t.Fatalf("report audited order: %v", err)
	}
	waitAllPosted(t, simulator, 1, 5*time.Second)
	lines := allLines(t, newClient(t, simulator))
	if len(lines) != 1 || !lines[0].Amount.Equal(total) {
		t.Errorf("statement = %+v, want one line of %s", lines, total)
	}
}

func TestRestartKeepsScheduleAndPaysOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	behaviour := quietBehaviour(t)
	behaviour.AdvanceDelay = 500 * time.Millisecond

	firstDB := openDB(t, path)
	first := startBank(t, firstDB, behaviour)
	order := simulators.SalesOrderAudited{
		Number: "SO-5", ContractNo: "CT-0000005", CustomerName: "苏州工业园区瑞达有限公司", Total: dec(t, "1000.00"),
	}
	if err := first.SalesOrderAudited(context.Background(), order); err != nil {
		t.Fatalf("report audited order: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("stop first simulator: %v", err)
	}
	if err := firstDB.Close(); err != nil {
		t.Fatalf("close first database: %v", err)
	}

	secondDB := openDB(t, path)
	second := startBank(t, secondDB, behaviour)
	if err := second.SalesOrderAudited(context.Background(), order); err != nil {
		t.Fatalf("report the same order again: %v", err)
	}
	waitAllPosted(t, second, 1, 5*time.Second)
	// Give a second posting, if there were one, time to happen.
	time.Sleep(150 * time.Millisecond)

	lines := allLines(t, newClient(t, second))
	if len(lines) != 1 || !lines[0].Amount.Equal(dec(t, "300.00")) {
		t.Errorf("statement after restart = %+v, want one advance of 300.00", lines)
	}
	if got := receipts(t, secondDB, "CT-0000005"); len(got) != 1 {
		t.Errorf("ledger has %d receipts for CT-0000005, want 1: %v", len(got), got)
	}
}

func TestPayerAccountIsStable(t *testing.T) {
	a := bank.PayerAccount("上海启明机械有限公司")
	if a != bank.PayerAccount("上海启明机械有限公司") {
		t.Error("account differs between calls for the same name")
	}
	if len(a) != 19 || strings.Trim(a, "0123456789") != "" {
		t.Errorf("account %q is not 19 digits", a)
	}
	if a == bank.PayerAccount("宁波海曙仪表有限公司") {
		t.Error("two customers got the same account")
	}
}

func TestDefaultBehaviourPaysInFull(t *testing.T) {
	behaviour := bank.DefaultBehaviour()
	behaviour.AdvanceDelay, behaviour.BalanceDelay, behaviour.PartialGap = 0, 0, 0
	behaviour.CombineWindow = 300 * time.Millisecond
	db := openDB(t, filepath.Join(t.TempDir(), "bank.db"))
	simulator := startBank(t, db, behaviour)

	customers := []string{"客户甲有限公司", "客户乙有限公司", "客户丙有限公司"}
	var contracts []contract
	for i := range 24 {
		c := contract{
			number:   "CT-D" + strings.Repeat("0", 4) + string(rune('A'+i)),
			customer: customers[i%len(customers)],
			total:    decimal.NewFromInt(int64(1000 + 137*i)).StringFixed(2),
		}
		contracts = append(contracts, c)
		payContract(t, simulator, c)
	}

	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		pending := 0
		for _, p := range listPayments(t, simulator) {
			if p.Status != "posted" {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	index := lineBySerial(allLines(t, newClient(t, simulator)))
	for _, c := range contracts {
		paid := decimal.Zero
		for _, serial := range receipts(t, db, c.number) {
			line, ok := index[serial]
			if !ok {
				t.Fatalf("ledger receipt %s of %s is not on the statement", serial, c.number)
			}
			paid = paid.Add(line.Amount)
		}
		if paid.LessThan(dec(t, c.total)) {
			t.Errorf("contract %s received %s, want at least %s", c.number, paid, c.total)
		}
	}
}

func TestForeignCurrencyOrderPaidInItsCurrency(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "bank.db"))
	simulator := startBank(t, db, quietBehaviour(t))
	ctx := context.Background()
	if err := simulator.SalesOrderAudited(ctx, simulators.SalesOrderAudited{
		Number: "SO-CT-FX1", ContractNo: "CT-FX1", CustomerName: "Cancity", Currency: "USD", Total: dec(t, "1000.00"),
	}); err != nil {
		t.Fatalf("report audited order: %v", err)
	}
	// The VAT invoice is in CNY at an exchange rate; the customer still
	// owes the rest of the contract in USD.
	if err := simulator.InvoiceIssued(ctx, simulators.InvoiceIssued{
		SerialNo: "INV-CT-FX1", InvoiceNo: "26310000000000000123", ContractNo: "CT-FX1", BuyerName: "Cancity",
		Currency: "CNY", TotalInclusive: dec(t, "7100.00"),
	}); err != nil {
		t.Fatalf("report invoice: %v", err)
	}
	waitAllPosted(t, simulator, 2, 5*time.Second)
	lines := allLines(t, newClient(t, simulator))
	total := decimal.Zero
	for _, line := range lines {
		if line.Currency != "USD" {
			t.Errorf("line %s in %s, want USD", line.LineID, line.Currency)
		}
		total = total.Add(line.Amount)
	}
	if !total.Equal(dec(t, "1000")) {
		t.Errorf("customer paid %s, want the order total 1000.00 USD", total)
	}
}

func TestNoRemarkOnlyWhenAmountIsUnique(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "bank.db"))
	behaviour := quietBehaviour(t)
	behaviour.NoRemarkRate = 1
	simulator := startBank(t, db, behaviour)
	// Two contracts of one payer with the same total: the rest of either
	// would match both, so the customer must name the contract.
	payContract(t, simulator, contract{"CT-SAME0001", "Finhigh", "60.00"})
	payContract(t, simulator, contract{"CT-SAME0002", "Finhigh", "60.00"})
	// A third payer's only contract may be paid without a remark.
	payContract(t, simulator, contract{"CT-ALONE001", "Isdom", "4514.00"})
	waitAllPosted(t, simulator, 6, 5*time.Second)

	for _, line := range allLines(t, newClient(t, simulator)) {
		if line.PayerName == "Finhigh" && !strings.Contains(line.Remark, "CT-SAME") {
			t.Errorf("line %s of %s has remark %q, want the contract named", line.LineID, line.Amount, line.Remark)
		}
		if line.PayerName == "Isdom" && line.Amount.Equal(dec(t, "3159.80")) && strings.Contains(line.Remark, "CT-") {
			t.Errorf("rest of the payer's only contract has remark %q, want a vague one", line.Remark)
		}
	}
}
