package erpplugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ordo-project/ordo/connectors"
)

// Serve runs impl as an ERP plugin until ordo stops it. It never returns
// normally: go-plugin exits the process when the host goes away. Started by
// hand instead of by ordo, it prints a short explanation and exits with
// status 1.
func Serve(impl ERP) {
	plugin.Serve(ServeConfig(impl, Handshake))
}

// ServeConfig returns the go-plugin configuration Serve uses, for plugins
// that need to adjust it, such as tests that announce another protocol
// version.
func ServeConfig(impl ERP, handshake plugin.HandshakeConfig) *plugin.ServeConfig {
	return &plugin.ServeConfig{
		HandshakeConfig: handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			int(handshake.ProtocolVersion): {PluginName: &Plugin{Impl: impl}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		Logger:     Logger(),
	}
}

var pluginLogger = hclog.New(&hclog.LoggerOptions{
	Name:   "erp-plugin",
	Level:  hclog.Trace,
	Output: os.Stderr,
	// ordo's go-plugin host parses JSON lines into its own logger, with
	// the key-value pairs as fields.
	JSONFormat: true,
})

// Logger returns the plugin's logger. Its output reaches ordo's log with the
// plugin's name; ordo's log level decides which lines are kept.
func Logger() hclog.Logger { return pluginLogger }

// Plugin adapts ERP to go-plugin. The host sets no Impl; the plugin sets
// Impl to its connector.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl ERP
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the ERP service on the plugin's gRPC server.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("erpplugin.Plugin.Impl is nil: pass the connector to erpplugin.Serve")
	}
	s.RegisterService(&serviceDesc, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns a *Client calling the plugin over conn.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn), nil
}

// server is the plugin side of the ERP service.
type server struct {
	impl ERP
}

// serverAPI is the handler type grpc checks the registered server against.
type serverAPI interface {
	call(ctx context.Context, method string, fn func() error) error
}

// call runs fn and turns a panic in the connector into a gRPC Internal
// error, so one bad document fails its call instead of the plugin process.
func (s *server) call(ctx context.Context, method string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pluginLogger.Error("ERP call panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = status.Errorf(codes.Internal, "%s panicked in the plugin: %v", method, r)
		}
	}()
	return fn()
}

// unary builds the method description of one RPC. handle receives the
// decoded request and returns the reply; connector errors travel inside
// the reply, so handle itself never fails.
func unary[Req any, Resp any](name string, handle func(s *server, ctx context.Context, req *Req) *Resp) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			req := new(Req)
			if err := dec(req); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "decode %s request: %v", name, err)
			}
			s := srv.(*server)
			run := func(ctx context.Context, req any) (any, error) {
				var resp *Resp
				err := s.call(ctx, name, func() error {
					resp = handle(s, ctx, req.(*Req))
					return nil
				})
				return resp, err
			}
			if interceptor == nil {
				return run(ctx, req)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + ServiceName + "/" + name}
			return interceptor(ctx, req, info, run)
		},
	}
}

func documentReply(doc connectors.Document, err error) *documentResponse {
	if err != nil {
		return &documentResponse{Error: toWire(err)}
	}
	return &documentResponse{Document: &doc}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*serverAPI)(nil),
	Metadata:    "erp.proto",
	Methods: []grpc.MethodDesc{
		unary("Ping", func(*server, context.Context, *pingRequest) *pingResponse { return &pingResponse{} }),
		unary("Describe", func(s *server, _ context.Context, _ *describeRequest) *DescribeResponse {
			resp := &DescribeResponse{ProtocolVersion: ProtocolVersion}
			if d, ok := s.impl.(Describer); ok {
				resp.Connector, resp.Version = d.Describe()
			}
			return resp
		}),
		unary("UpsertCustomer", func(s *server, ctx context.Context, req *upsertCustomerRequest) *documentResponse {
			return documentReply(s.impl.UpsertCustomer(ctx, req.Customer))
		}),
		unary("EnsureSalesOrder", func(s *server, ctx context.Context, req *ensureSalesOrderRequest) *documentResponse {
			return documentReply(s.impl.EnsureSalesOrder(ctx, req.Order))
		}),
		unary("EnsureProductionOrder", func(s *server, ctx context.Context, req *ensureProductionOrderRequest) *documentResponse {
			return documentReply(s.impl.EnsureProductionOrder(ctx, req.Order))
		}),
		unary("GetProductionStatus", func(s *server, ctx context.Context, req *getProductionStatusRequest) *productionStatusResponse {
			st, err := s.impl.GetProductionStatus(ctx, req.Number)
			if err != nil {
				return &productionStatusResponse{Error: toWire(err)}
			}
			return &productionStatusResponse{Status: &st}
		}),
		unary("EnsureDelivery", func(s *server, ctx context.Context, req *ensureDeliveryRequest) *documentResponse {
			return documentReply(s.impl.EnsureDelivery(ctx, req.Delivery))
		}),
		unary("EnsureReceivable", func(s *server, ctx context.Context, req *ensureReceivableRequest) *documentResponse {
			return documentReply(s.impl.EnsureReceivable(ctx, req.Receivable))
		}),
		unary("EnsureWriteOff", func(s *server, ctx context.Context, req *ensureWriteOffRequest) *documentResponse {
			return documentReply(s.impl.EnsureWriteOff(ctx, req.WriteOff))
		}),
		unary("EnsurePriceChange", func(s *server, ctx context.Context, req *ensurePriceChangeRequest) *documentResponse {
			return documentReply(s.impl.EnsurePriceChange(ctx, req.Change))
		}),
		unary("GetDocument", func(s *server, ctx context.Context, req *getDocumentRequest) *documentResponse {
			return documentReply(s.impl.GetDocument(ctx, req.Kind, req.Number))
		}),
		unary("CancelDocument", func(s *server, ctx context.Context, req *cancelDocumentRequest) *cancelDocumentResponse {
			return &cancelDocumentResponse{Error: toWire(s.impl.CancelDocument(ctx, req.Kind, req.Number))}
		}),
	},
}

// toWire converts a connector failure for the reply. An error that is not
// a *connectors.Error becomes a transient one, as connectors.IsRetryable
// treats it in process.
func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return &wireError{Kind: string(connectors.KindTransient), Message: err.Error()}
	}
	message := ce.Message
	if ce.Err != nil {
		if message != "" {
			message += ": "
		}
		message += ce.Err.Error()
	}
	return &wireError{
		Kind: string(ce.Kind), Connector: ce.Connector, Operation: ce.Operation, StatusCode: ce.StatusCode,
		Code: ce.Code, Message: message, Fields: ce.Fields,
	}
}
