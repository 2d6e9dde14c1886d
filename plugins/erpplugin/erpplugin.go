// Package erpplugin is the whole contract between ordo and an out-of-process
// ERP connector: the go-plugin handshake, the protocol version, the gRPC
// service described in erp.proto, the host-side client and the plugin-side
// SDK. A plugin author implements ERP and calls Serve from main:
//
//	func main() { erpplugin.Serve(myConnector{}) }
package erpplugin

import (
	"context"

	"github.com/hashicorp/go-plugin"

	"github.com/ordo-project/ordo/connectors"
)

// ProtocolVersion is the ERP plugin protocol this package speaks; it equals
// the largest value of the ProtocolVersion enum in erp.proto. Raise it when a
// change to erp.proto would make an older plugin or host misread a message,
// and record the reason here.
//
// Version history:
//   - 1: first published contract.
const ProtocolVersion = 1

// PluginName is the key of the ERP plugin in go-plugin's plugin set.
const PluginName = "erp"

// ServiceName is the full gRPC service name from erp.proto.
const ServiceName = "ordo.erp.v1.ERP"

// Handshake is the go-plugin handshake. The magic cookie only keeps a user
// from starting a plugin binary by hand by mistake; it is no security
// measure. Checksums and mutual TLS protect the plugin.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ORDO_ERP_PLUGIN",
	MagicCookieValue: "8d1f0c62-ordo-erp-plugin-b7e4a3",
}

// ERP is what a plugin author implements: connectors.ERP, price lists and a
// document lookup. Errors should be *connectors.Error so ordo can decide
// whether to retry; any other error reaches ordo as a transient error.
type ERP interface {
	connectors.ERP
	connectors.PriceLists
	// GetDocument looks a document up by kind and number. A missing
	// document is a *connectors.Error of kind KindNotFound.
	GetDocument(ctx context.Context, kind connectors.DocumentKind, number string) (connectors.Document, error)
}

// Describer is optionally implemented by a plugin's ERP to name its
// connector and release in `ordo plugin verify`.
type Describer interface {
	Describe() (connector, version string)
}
