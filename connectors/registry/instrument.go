package registry

import (
	"context"
	"fmt"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/connectors/kingdee"
	"github.com/ordo-project/ordo/internal/notify"
)

// ChangeSource is the optional interface of an ERP connector that lists
// changed records for the scheduled sync; it matches erpsync.Source.
type ChangeSource interface {
	CustomersChangedSince(ctx context.Context, since kingdee.Watermark, limit int) ([]kingdee.CustomerRecord, error)
	DocumentStatesChangedSince(ctx context.Context, formID string, since kingdee.Watermark, limit int) ([]kingdee.DocumentStateRecord, error)
}

// Wrapper is implemented by every decorator Instrument returns.
type Wrapper interface {
	// Unwrap returns the decorated connector.
	Unwrap() any
}

// Instrument wraps a connector with the metrics decorator under id. It
// keeps the capability interfaces of the connector: connectors.ERP (with
// connectors.PriceLists and ChangeSource when the connector has them),
// connectors.EInvoice, connectors.Bank and notify.Channel. Any other value
// is returned unchanged.
func Instrument(id string, connector any) any {
	switch c := connector.(type) {
	case connectors.ERP:
		erp := &instrumentedERP{id: id, inner: c}
		if source, ok := c.(ChangeSource); ok {
			return &instrumentedSyncERP{instrumentedERP: erp, source: source}
		}
		return erp
	case connectors.EInvoice:
		return &instrumentedEInvoice{id: id, inner: c}
	case connectors.Bank:
		return &instrumentedBank{id: id, inner: c}
	case notify.Channel:
		return &instrumentedChannel{id: id, inner: c}
	}
	return connector
}

// InstrumentNotify returns a registry with every channel of channels
// wrapped by the metrics decorator under the id notify/<channel name>.
func InstrumentNotify(channels *notify.Registry) (*notify.Registry, error) {
	wrapped, err := notify.NewRegistry()
	if err != nil {
		return nil, err
	}
	for _, name := range channels.Names() {
		channel, _ := channels.Get(name)
		if _, done := channel.(*instrumentedChannel); !done {
			channel = &instrumentedChannel{id: string(Notify) + "/" + name, inner: channel}
		}
		if err := wrapped.Add(channel); err != nil {
			return nil, err
		}
	}
	return wrapped, nil
}

// Close closes a connector, or the connector a decorator wraps, when it
// has a Close method, as the plugin ERP does. Other connectors hold no
// process or file and need no closing.
func Close(connector any) {
	for {
		if closer, ok := connector.(interface{ Close() }); ok {
			closer.Close()
			return
		}
		wrapper, ok := connector.(Wrapper)
		if !ok {
			return
		}
		connector = wrapper.Unwrap()
	}
}

type instrumentedERP struct {
	id    string
	inner connectors.ERP
}

var (
	_ connectors.ERP        = (*instrumentedERP)(nil)
	_ connectors.PriceLists = (*instrumentedERP)(nil)
	_ ChangeSource          = (*instrumentedSyncERP)(nil)
)

func (e *instrumentedERP) Unwrap() any { return e.inner }

func (e *instrumentedERP) UpsertCustomer(ctx context.Context, customer connectors.Customer) (connectors.Document, error) {
	return measure(e.id, "UpsertCustomer", func() (connectors.Document, error) { return e.inner.UpsertCustomer(ctx, customer) })
}

func (e *instrumentedERP) EnsureSalesOrder(ctx context.Context, order connectors.SalesOrder) (connectors.Document, error) {
	return measure(e.id, "EnsureSalesOrder", func() (connectors.Document, error) { return e.inner.EnsureSalesOrder(ctx, order) })
}

func (e *instrumentedERP) EnsureProductionOrder(ctx context.Context, order connectors.ProductionOrder) (connectors.Document, error) {
	return measure(e.id, "EnsureProductionOrder", func() (connectors.Document, error) { return e.inner.EnsureProductionOrder(ctx, order) })
}

func (e *instrumentedERP) GetProductionStatus(ctx context.Context, number string) (connectors.ProductionStatus, error) {
	return measure(e.id, "GetProductionStatus", func() (connectors.ProductionStatus, error) { return e.inner.GetProductionStatus(ctx, number) })
}

func (e *instrumentedERP) EnsureDelivery(ctx context.Context, delivery connectors.Delivery) (connectors.Document, error) {
	return measure(e.id, "EnsureDelivery", func() (connectors.Document, error) { return e.inner.EnsureDelivery(ctx, delivery) })
}

func (e *instrumentedERP) EnsureReceivable(ctx context.Context, receivable connectors.Receivable) (connectors.Document, error) {
	return measure(e.id, "EnsureReceivable", func() (connectors.Document, error) { return e.inner.EnsureReceivable(ctx, receivable) })
}

func (e *instrumentedERP) EnsureWriteOff(ctx context.Context, writeOff connectors.WriteOff) (connectors.Document, error) {
	return measure(e.id, "EnsureWriteOff", func() (connectors.Document, error) { return e.inner.EnsureWriteOff(ctx, writeOff) })
}

func (e *instrumentedERP) CancelDocument(ctx context.Context, kind connectors.DocumentKind, number string) error {
	_, err := measure(e.id, "CancelDocument", func() (struct{}, error) { return struct{}{}, e.inner.CancelDocument(ctx, kind, number) })
	return err
}

// EnsurePriceChange calls the connector's price lists. A connector without
// them fails the call with a validation error, because no retry adds them.
func (e *instrumentedERP) EnsurePriceChange(ctx context.Context, change connectors.PriceChange) (connectors.Document, error) {
	return measure(e.id, "EnsurePriceChange", func() (connectors.Document, error) {
		prices, ok := e.inner.(connectors.PriceLists)
		if !ok {
			return connectors.Document{}, &connectors.Error{
				Kind: connectors.KindValidation, Connector: e.id, Operation: "EnsurePriceChange",
				Message: fmt.Sprintf("connector %s does not write price lists: write price change %s in the ERP by hand", e.id, change.Number),
			}
		}
		return prices.EnsurePriceChange(ctx, change)
	})
}

// instrumentedSyncERP is an instrumented ERP that also feeds the sync.
type instrumentedSyncERP struct {
	*instrumentedERP
	source ChangeSource
}

func (e *instrumentedSyncERP) CustomersChangedSince(ctx context.Context, since kingdee.Watermark, limit int) ([]kingdee.CustomerRecord, error) {
	return measure(e.id, "CustomersChangedSince", func() ([]kingdee.CustomerRecord, error) {
		return e.source.CustomersChangedSince(ctx, since, limit)
	})
}

func (e *instrumentedSyncERP) DocumentStatesChangedSince(ctx context.Context, formID string, since kingdee.Watermark, limit int) ([]kingdee.DocumentStateRecord, error) {
	return measure(e.id, "DocumentStatesChangedSince", func() ([]kingdee.DocumentStateRecord, error) {
		return e.source.DocumentStatesChangedSince(ctx, formID, since, limit)
	})
}

type instrumentedEInvoice struct {
	id    string
	inner connectors.EInvoice
}

var _ connectors.EInvoice = (*instrumentedEInvoice)(nil)

func (e *instrumentedEInvoice) Unwrap() any { return e.inner }

func (e *instrumentedEInvoice) Issue(ctx context.Context, request connectors.InvoiceRequest) (connectors.Invoice, error) {
	return measure(e.id, "Issue", func() (connectors.Invoice, error) { return e.inner.Issue(ctx, request) })
}

func (e *instrumentedEInvoice) Get(ctx context.Context, serialNo string) (connectors.Invoice, error) {
	return measure(e.id, "Get", func() (connectors.Invoice, error) { return e.inner.Get(ctx, serialNo) })
}

func (e *instrumentedEInvoice) RedLetter(ctx context.Context, request connectors.RedLetterRequest) (connectors.Invoice, error) {
	return measure(e.id, "RedLetter", func() (connectors.Invoice, error) { return e.inner.RedLetter(ctx, request) })
}

type instrumentedBank struct {
	id    string
	inner connectors.Bank
}

var _ connectors.Bank = (*instrumentedBank)(nil)

func (b *instrumentedBank) Unwrap() any { return b.inner }

type bankPage struct {
	lines []connectors.BankLine
	next  string
}

func (b *instrumentedBank) ListLines(ctx context.Context, cursor string, limit int) ([]connectors.BankLine, string, error) {
	page, err := measure(b.id, "ListLines", func() (bankPage, error) {
		lines, next, err := b.inner.ListLines(ctx, cursor, limit)
		return bankPage{lines, next}, err
	})
	return page.lines, page.next, err
}

type instrumentedChannel struct {
	id    string
	inner notify.Channel
}

var _ notify.Channel = (*instrumentedChannel)(nil)

func (c *instrumentedChannel) Unwrap() any  { return c.inner }
func (c *instrumentedChannel) Name() string { return c.inner.Name() }

// Paced keeps the wrapped channel's pacing visible, so the outbox still
// sends its messages.
func (c *instrumentedChannel) Paced() bool { return notify.IsPaced(c.inner) }

func (c *instrumentedChannel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	return measure(c.id, "Send", func() (notify.Receipt, error) { return c.inner.Send(ctx, msg) })
}
