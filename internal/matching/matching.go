// Package matching decides which contracts a bank receipt pays. It is pure
// logic over balances the caller loads, so every rule has a unit test.
//
// The rules, in order:
//  1. A line that is not money received (zero or negative) is ignored.
//  2. Contract numbers found in the remark win: the amount goes to them in
//     the order written, each up to its open balance, and whatever is left
//     goes to the last one as over-payment.
//     A remark may name a contract that is already paid or closed; the
//     money still goes to it, as over-payment for a person to refund.
//  3. Without a usable number, the payer's open contracts are tried: the
//     one whose open balance equals the amount, then the one with an open
//     instalment equal to the amount, then all of them when their balances
//     add up to the amount exactly (a combined payment), then the only open
//     contract of the payer whatever the amount (partial or over-payment).
//     When two contracts fit a rule equally, the line is ambiguous: paying
//     the wrong one would close it and leave the other waiting, so a person
//     decides.
//  4. Anything else is unmatched and waits for a person.
package matching

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Methods that explain an allocation.
const (
	MethodRemark      = "remark"
	MethodPayerAmount = "payer_amount"
)

// Balance is the open position of one contract.
type Balance struct {
	ContractNo  string
	AccountName string
	SignedOn    time.Time
	Total       decimal.Decimal
	// Allocated is the sum of earlier allocations.
	Allocated decimal.Decimal
	// Instalments are the plan amounts in order.
	Instalments []decimal.Decimal
}

// Open returns the unpaid part of the contract, never below zero.
func (b *Balance) Open() decimal.Decimal {
	open := b.Total.Sub(b.Allocated)
	if open.IsNegative() {
		return decimal.Zero
	}
	return open
}

// openInstalments returns what is still unpaid of each instalment, filling
// them in plan order with the allocated amount.
func (b *Balance) openInstalments() []decimal.Decimal {
	remaining := b.Allocated
	open := make([]decimal.Decimal, 0, len(b.Instalments))
	for _, amount := range b.Instalments {
		paid := decimal.Min(amount, decimal.Max(remaining, decimal.Zero))
		remaining = remaining.Sub(paid)
		if left := amount.Sub(paid); left.IsPositive() {
			open = append(open, left)
		}
	}
	return open
}

// Line is the part of a bank line matching reads.
type Line struct {
	LineID    string
	Amount    decimal.Decimal
	PayerName string
	Remark    string
}

// Allocation assigns part of a line to a contract.
type Allocation struct {
	ContractNo string
	Amount     decimal.Decimal
	Method     string
}

// Outcome kinds.
const (
	OutcomeMatched   = "matched"
	OutcomeUnmatched = "unmatched"
	OutcomeIgnored   = "ignored"
)

// Result is the decision for one line.
type Result struct {
	Outcome     string
	Allocations []Allocation
	// Note explains the decision in a sentence for the operator.
	Note string
}

// Book holds the balances of open contracts, and of closed ones that
// remarks name, and applies decisions to them, so lines of one batch see
// the allocations of the lines before them.
type Book struct {
	byNo    map[string]*Balance
	byPayer map[string][]*Balance
	pattern *regexp.Regexp
}

// DefaultContractPattern finds ordo contract numbers in free text.
var DefaultContractPattern = regexp.MustCompile(`(?i)\bCT-[A-Z0-9]{4,}\b`)

// NewBook indexes balances by contract number and by payer name. pattern
// finds contract numbers in remarks; nil uses DefaultContractPattern.
// Balances of closed contracts should carry Allocated equal to Total, so
// only a remark can direct money to them.
func NewBook(balances []*Balance, pattern *regexp.Regexp) *Book {
	if pattern == nil {
		pattern = DefaultContractPattern
	}
	book := &Book{byNo: map[string]*Balance{}, byPayer: map[string][]*Balance{}, pattern: pattern}
	for _, b := range balances {
		book.byNo[b.ContractNo] = b
		key := payerKey(b.AccountName)
		book.byPayer[key] = append(book.byPayer[key], b)
	}
	for _, list := range book.byPayer {
		sort.Slice(list, func(i, j int) bool {
			if !list[i].SignedOn.Equal(list[j].SignedOn) {
				return list[i].SignedOn.Before(list[j].SignedOn)
			}
			return list[i].ContractNo < list[j].ContractNo
		})
	}
	return book
}

// Match decides the allocations of one line and books them.
func (b *Book) Match(line Line) Result {
	if !line.Amount.IsPositive() {
		return Result{Outcome: OutcomeIgnored, Note: "not money received (amount " + line.Amount.String() + ")"}
	}
	if result, ok := b.matchRemark(line); ok {
		b.apply(result.Allocations)
		return result
	}
	if result, ok := b.matchPayer(line); ok {
		b.apply(result.Allocations)
		return result
	}
	note := "no contract number in the remark and no single open contract of payer " + quote(line.PayerName) + " fits " + line.Amount.StringFixed(2)
	return Result{Outcome: OutcomeUnmatched, Note: note}
}

func (b *Book) matchRemark(line Line) (Result, bool) {
	var found []*Balance
	for _, m := range b.pattern.FindAllString(line.Remark, -1) {
		balance, ok := b.byNo[strings.ToUpper(m)]
		if !ok || containsBalance(found, balance) {
			continue
		}
		found = append(found, balance)
	}
	if len(found) == 0 {
		return Result{}, false
	}
	remaining := line.Amount
	var allocations []Allocation
	for i, balance := range found {
		give := decimal.Min(balance.Open(), remaining)
		if i == len(found)-1 {
			give = remaining
		}
		if !give.IsPositive() {
			continue
		}
		allocations = append(allocations, Allocation{ContractNo: balance.ContractNo, Amount: give, Method: MethodRemark})
		remaining = remaining.Sub(give)
	}
	return Result{Outcome: OutcomeMatched, Allocations: allocations, Note: "contract number in the remark"}, true
}

func (b *Book) matchPayer(line Line) (Result, bool) {
	var open []*Balance
	for _, balance := range b.byPayer[payerKey(line.PayerName)] {
		if balance.Open().IsPositive() {
			open = append(open, balance)
		}
	}
	if len(open) == 0 {
		return Result{}, false
	}
	single := func(balance *Balance, note string) (Result, bool) {
		return Result{
			Outcome:     OutcomeMatched,
			Allocations: []Allocation{{ContractNo: balance.ContractNo, Amount: line.Amount, Method: MethodPayerAmount}},
			Note:        note,
		}, true
	}
	var byBalance, byInstalment []*Balance
	for _, balance := range open {
		if balance.Open().Equal(line.Amount) {
			byBalance = append(byBalance, balance)
		}
		for _, instalment := range balance.openInstalments() {
			if instalment.Equal(line.Amount) {
				byInstalment = append(byInstalment, balance)
				break
			}
		}
	}
	switch {
	case len(byBalance) == 1:
		return single(byBalance[0], "payer and open balance match")
	case len(byBalance) > 1:
		return Result{}, false
	case len(byInstalment) == 1:
		return single(byInstalment[0], "payer and an open instalment match")
	case len(byInstalment) > 1:
		return Result{}, false
	}
	sum := decimal.Zero
	for _, balance := range open {
		sum = sum.Add(balance.Open())
	}
	if len(open) > 1 && sum.Equal(line.Amount) {
		allocations := make([]Allocation, 0, len(open))
		for _, balance := range open {
			allocations = append(allocations, Allocation{ContractNo: balance.ContractNo, Amount: balance.Open(), Method: MethodPayerAmount})
		}
		return Result{Outcome: OutcomeMatched, Allocations: allocations, Note: "combined payment of all open contracts of the payer"}, true
	}
	if len(open) == 1 {
		return single(open[0], "the payer's only open contract")
	}
	return Result{}, false
}

// Assign books a manual allocation made by a person.
func (b *Book) Assign(contractNo string, amount decimal.Decimal) {
	b.apply([]Allocation{{ContractNo: contractNo, Amount: amount}})
}

func (b *Book) apply(allocations []Allocation) {
	for _, a := range allocations {
		if balance, ok := b.byNo[a.ContractNo]; ok {
			balance.Allocated = balance.Allocated.Add(a.Amount)
		}
	}
}

func containsBalance(list []*Balance, b *Balance) bool {
	for _, v := range list {
		if v == b {
			return true
		}
	}
	return false
}

// payerKey normalises a payer name for comparison: case, surrounding
// spaces and runs of inner spaces do not matter.
func payerKey(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), " "))
}

func quote(s string) string {
	if s == "" {
		return "(no name)"
	}
	return "\"" + s + "\""
}

// ContractNumbers returns the contract numbers a remark names, upper-cased,
// in the order written and without repeats.
func ContractNumbers(remark string, pattern *regexp.Regexp) []string {
	if pattern == nil {
		pattern = DefaultContractPattern
	}
	var numbers []string
	for _, m := range pattern.FindAllString(remark, -1) {
		number := strings.ToUpper(m)
		if !slices.Contains(numbers, number) {
			numbers = append(numbers, number)
		}
	}
	return numbers
}
