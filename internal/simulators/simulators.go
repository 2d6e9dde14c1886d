// Package simulators contains the parts shared by ordo's simulators of
// outside systems: the ledger of created documents, fault injection and the
// simulated world that links them (customers pay what the ERP sold and the
// e-invoice service invoiced).
//
// The simulators exist so the whole contract-to-cash chain runs on one
// machine without an ERP, a tax platform or a bank. Each speaks the same
// protocol as the real system and keeps its state in SQLite, so it survives
// a restart of ordo dev exactly as ordo does.
package simulators

import (
	"context"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// SalesOrderAudited describes a sales order that reached the audited state
// in the simulated ERP.
type SalesOrderAudited struct {
	Number       string
	ContractNo   string
	CustomerName string
	Currency     string
	Total        decimal.Decimal
	AuditedAt    time.Time
}

// InvoiceIssued describes a blue invoice issued by the simulated e-invoice
// service.
type InvoiceIssued struct {
	SerialNo       string
	InvoiceNo      string
	ContractNo     string
	BuyerName      string
	Currency       string
	TotalInclusive decimal.Decimal
	IssuedAt       time.Time
}

// World receives business events from one simulator so another can react,
// the way real customers pay after they sign and after they are invoiced.
// The simulated bank implements it. Implementations must be idempotent on
// the order or invoice number, because a simulator may report an event
// again after a restart.
type World interface {
	SalesOrderAudited(ctx context.Context, event SalesOrderAudited) error
	InvoiceIssued(ctx context.Context, event InvoiceIssued) error
}

// NopWorld ignores every event.
type NopWorld struct{}

func (NopWorld) SalesOrderAudited(context.Context, SalesOrderAudited) error { return nil }
func (NopWorld) InvoiceIssued(context.Context, InvoiceIssued) error         { return nil }

// ForEachConcurrently calls fn for every item, at most limit calls at a
// time, and returns when all have returned. Simulators deliver callbacks
// with it, because one slow receiver must not hold up the others.
func ForEachConcurrently[T any](items []T, limit int, fn func(T)) {
	if limit < 1 {
		limit = 1
	}
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, item := range items {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			fn(item)
		}()
	}
	wg.Wait()
}
