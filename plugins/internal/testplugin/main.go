// Command testplugin is an ERP plugin for ordo's plugin host tests. It keeps
// documents in memory and misbehaves on request: a customer named "crash"
// kills the process mid-call, "hang" never answers, and the customer
// numbers GARBAGE and EMPTY make it send an undecodable and an empty reply.
// ORDO_TEST_PLUGIN_PROTOCOL makes it announce another protocol version.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/encoding"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/plugins/erpplugin"
)

type memoryERP struct {
	mu        sync.Mutex
	documents map[string]connectors.Document
}

func (m *memoryERP) Describe() (string, string) { return "memory", "test" }

func (m *memoryERP) ensure(kind connectors.DocumentKind, number string) (connectors.Document, error) {
	if number == "" {
		return connectors.Document{}, &connectors.Error{
			Kind: connectors.KindValidation, Connector: "memory", Operation: "ensure " + string(kind),
			Message: "the number is empty", Fields: []connectors.FieldError{{Field: "number", Message: "required", Index: -1}},
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := string(kind) + "/" + number
	if doc, ok := m.documents[key]; ok {
		doc.Created = false
		return doc, nil
	}
	doc := connectors.Document{Kind: kind, FormID: string(kind), Number: number, ID: strconv.Itoa(len(m.documents) + 1), Status: "C", Created: true}
	m.documents[key] = doc
	erpplugin.Logger().Info("created document", "kind", string(kind), "document_no", number)
	return doc, nil
}

func (m *memoryERP) UpsertCustomer(_ context.Context, c connectors.Customer) (connectors.Document, error) {
	switch c.Name {
	case "crash":
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	}
	return m.ensure(connectors.KindCustomer, c.Number)
}

func (m *memoryERP) EnsureSalesOrder(_ context.Context, o connectors.SalesOrder) (connectors.Document, error) {
	return m.ensure(connectors.KindSalesOrder, o.Number)
}

func (m *memoryERP) EnsureProductionOrder(_ context.Context, o connectors.ProductionOrder) (connectors.Document, error) {
	return m.ensure(connectors.KindProductionOrder, o.Number)
}

func (m *memoryERP) GetProductionStatus(_ context.Context, number string) (connectors.ProductionStatus, error) {
	return connectors.ProductionStatus{Number: number, Status: "released"}, nil
}

func (m *memoryERP) EnsureDelivery(_ context.Context, d connectors.Delivery) (connectors.Document, error) {
	return m.ensure(connectors.KindDelivery, d.Number)
}

func (m *memoryERP) EnsureReceivable(_ context.Context, r connectors.Receivable) (connectors.Document, error) {
	return m.ensure(connectors.KindReceivable, r.Number)
}

func (m *memoryERP) EnsureWriteOff(_ context.Context, w connectors.WriteOff) (connectors.Document, error) {
	return m.ensure(connectors.KindWriteOff, w.Number)
}

func (m *memoryERP) EnsurePriceChange(_ context.Context, p connectors.PriceChange) (connectors.Document, error) {
	return m.ensure(connectors.KindPriceList, p.Number)
}

func (m *memoryERP) GetDocument(_ context.Context, kind connectors.DocumentKind, number string) (connectors.Document, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if doc, ok := m.documents[string(kind)+"/"+number]; ok {
		return doc, nil
	}
	return connectors.Document{}, &connectors.Error{Kind: connectors.KindNotFound, Connector: "memory", Operation: "get " + string(kind), Message: number + " does not exist"}
}

func (m *memoryERP) CancelDocument(_ context.Context, kind connectors.DocumentKind, number string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.documents, string(kind)+"/"+number)
	return nil
}

// faultyCodec replaces erpplugin's codec and corrupts replies about the
// documents GARBAGE and EMPTY.
type faultyCodec struct{}

func (faultyCodec) Marshal(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	switch {
	case err != nil:
		return nil, err
	case strings.Contains(string(data), `"number":"GARBAGE"`):
		return []byte("\x00\x01 this is not JSON"), nil
	case strings.Contains(string(data), `"number":"EMPTY"`):
		return []byte(`{"unexpected":true}`), nil
	}
	return data, nil
}

func (faultyCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func (faultyCodec) Name() string { return erpplugin.CodecName }

func main() {
	encoding.RegisterCodec(faultyCodec{})
	impl := &memoryERP{documents: map[string]connectors.Document{}}
	handshake := erpplugin.Handshake
	if v := os.Getenv("ORDO_TEST_PLUGIN_PROTOCOL"); v != "" {
		version, err := strconv.Atoi(v)
		if err != nil {
			panic("ORDO_TEST_PLUGIN_PROTOCOL is not a number: " + v)
		}
		handshake.ProtocolVersion = uint(version)
	}
	plugin.Serve(erpplugin.ServeConfig(impl, handshake))
}
