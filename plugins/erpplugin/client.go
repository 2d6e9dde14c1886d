package erpplugin

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ordo-project/ordo/connectors"
)

// Sentinel errors wrapped in the *connectors.Error a Client returns when
// the call failed outside the connector.
var (
	// ErrUnavailable means the plugin process did not respond: it exited,
	// crashed or did not reply before the deadline. The call is retryable
	// and the host should restart the plugin.
	ErrUnavailable = errors.New("ERP plugin unavailable")
	// ErrInvalidReply means the plugin's reply could not be decoded or
	// carried neither a result nor an error. Retrying cannot help.
	ErrInvalidReply = errors.New("invalid reply from ERP plugin")
)

// Client calls an ERP plugin over gRPC. It implements ERP; every error it
// returns is a *connectors.Error, either the connector's own error from the
// plugin or one wrapping ErrUnavailable or ErrInvalidReply.
type Client struct {
	conn grpc.ClientConnInterface
	// connector names the plugin in errors that did not come from it.
	connector string
}

var _ ERP = (*Client)(nil)

// NewClient returns a client calling the ERP service over conn.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{conn: conn, connector: "erp-plugin"}
}

// WithConnector returns a copy of c that names connector in transport
// errors, e.g. "plugin sapb1".
func (c *Client) WithConnector(connector string) *Client {
	copied := *c
	copied.connector = connector
	return &copied
}

func (c *Client) invoke(ctx context.Context, method string, req, resp any) error {
	err := c.conn.Invoke(ctx, "/"+ServiceName+"/"+method, req, resp, grpc.CallContentSubtype(CodecName))
	if err == nil {
		return nil
	}
	return c.transportError(ctx, method, err)
}

// transportError classifies a failed gRPC call. Deadlines and lost
// connections are retryable; an undecodable reply, an unknown method and a
// panic in the plugin are not.
func (c *Client) transportError(ctx context.Context, method string, err error) error {
	st, _ := status.FromError(err)
	ce := &connectors.Error{Connector: c.connector, Operation: method, Code: st.Code().String(), Message: st.Message()}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted, codes.Aborted:
		ce.Kind = connectors.KindTransient
		ce.Err = ErrUnavailable
		if ctxErr := ctx.Err(); ctxErr != nil {
			ce.Err = errors.Join(ErrUnavailable, ctxErr)
		}
	default:
		ce.Kind = connectors.KindProtocol
		ce.Err = ErrInvalidReply
	}
	return ce
}

func (c *Client) invalid(method, format string, args ...any) error {
	return &connectors.Error{
		Kind: connectors.KindProtocol, Connector: c.connector, Operation: method,
		Message: fmt.Sprintf(format, args...), Err: ErrInvalidReply,
	}
}

func fromWire(w *wireError) error {
	kind := connectors.ErrorKind(w.Kind)
	switch kind {
	case connectors.KindTransient, connectors.KindThrottled, connectors.KindValidation, connectors.KindAuth,
		connectors.KindNotFound, connectors.KindConflict, connectors.KindProtocol:
	default:
		// An unknown kind from a newer plugin must not be retried forever.
		kind = connectors.KindProtocol
	}
	return &connectors.Error{
		Kind: kind, Connector: w.Connector, Operation: w.Operation, StatusCode: w.StatusCode,
		Code: w.Code, Message: w.Message, Fields: w.Fields,
	}
}

func (c *Client) document(ctx context.Context, method string, req any) (connectors.Document, error) {
	var resp documentResponse
	if err := c.invoke(ctx, method, req, &resp); err != nil {
		return connectors.Document{}, err
	}
	switch {
	case resp.Error != nil:
		return connectors.Document{}, fromWire(resp.Error)
	case resp.Document == nil:
		return connectors.Document{}, c.invalid(method, "the reply has neither a document nor an error")
	case resp.Document.Number == "":
		return connectors.Document{}, c.invalid(method, "the reply's document has no number")
	}
	return *resp.Document, nil
}

// Ping makes a call that does nothing in the plugin.
func (c *Client) Ping(ctx context.Context) error {
	return c.invoke(ctx, "Ping", &pingRequest{}, &pingResponse{})
}

// Describe returns the plugin's connector name, release and protocol.
func (c *Client) Describe(ctx context.Context) (DescribeResponse, error) {
	var resp DescribeResponse
	err := c.invoke(ctx, "Describe", &describeRequest{}, &resp)
	return resp, err
}

// UpsertCustomer calls the plugin's UpsertCustomer.
func (c *Client) UpsertCustomer(ctx context.Context, customer connectors.Customer) (connectors.Document, error) {
	return c.document(ctx, "UpsertCustomer", &upsertCustomerRequest{Customer: customer})
}

// EnsureSalesOrder calls the plugin's EnsureSalesOrder.
func (c *Client) EnsureSalesOrder(ctx context.Context, order connectors.SalesOrder) (connectors.Document, error) {
	return c.document(ctx, "EnsureSalesOrder", &ensureSalesOrderRequest{Order: order})
}

// EnsureProductionOrder calls the plugin's EnsureProductionOrder.
func (c *Client) EnsureProductionOrder(ctx context.Context, order connectors.ProductionOrder) (connectors.Document, error) {
	return c.document(ctx, "EnsureProductionOrder", &ensureProductionOrderRequest{Order: order})
}

// GetProductionStatus calls the plugin's GetProductionStatus.
func (c *Client) GetProductionStatus(ctx context.Context, number string) (connectors.ProductionStatus, error) {
	var resp productionStatusResponse
	if err := c.invoke(ctx, "GetProductionStatus", &getProductionStatusRequest{Number: number}, &resp); err != nil {
		return connectors.ProductionStatus{}, err
	}
	switch {
	case resp.Error != nil:
		return connectors.ProductionStatus{}, fromWire(resp.Error)
	case resp.Status == nil:
		return connectors.ProductionStatus{}, c.invalid("GetProductionStatus", "the reply has neither a status nor an error")
	}
	return *resp.Status, nil
}

// EnsureDelivery calls the plugin's EnsureDelivery.
func (c *Client) EnsureDelivery(ctx context.Context, delivery connectors.Delivery) (connectors.Document, error) {
	return c.document(ctx, "EnsureDelivery", &ensureDeliveryRequest{Delivery: delivery})
}

// EnsureReceivable calls the plugin's EnsureReceivable.
func (c *Client) EnsureReceivable(ctx context.Context, receivable connectors.Receivable) (connectors.Document, error) {
	return c.document(ctx, "EnsureReceivable", &ensureReceivableRequest{Receivable: receivable})
}

// EnsureWriteOff calls the plugin's EnsureWriteOff.
func (c *Client) EnsureWriteOff(ctx context.Context, writeOff connectors.WriteOff) (connectors.Document, error) {
	return c.document(ctx, "EnsureWriteOff", &ensureWriteOffRequest{WriteOff: writeOff})
}

// EnsurePriceChange calls the plugin's EnsurePriceChange.
func (c *Client) EnsurePriceChange(ctx context.Context, change connectors.PriceChange) (connectors.Document, error) {
	return c.document(ctx, "EnsurePriceChange", &ensurePriceChangeRequest{Change: change})
}

// GetDocument calls the plugin's GetDocument.
func (c *Client) GetDocument(ctx context.Context, kind connectors.DocumentKind, number string) (connectors.Document, error) {
	return c.document(ctx, "GetDocument", &getDocumentRequest{Kind: kind, Number: number})
}

// CancelDocument calls the plugin's CancelDocument.
func (c *Client) CancelDocument(ctx context.Context, kind connectors.DocumentKind, number string) error {
	var resp cancelDocumentResponse
	if err := c.invoke(ctx, "CancelDocument", &cancelDocumentRequest{Kind: kind, Number: number}, &resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return fromWire(resp.Error)
	}
	return nil
}
