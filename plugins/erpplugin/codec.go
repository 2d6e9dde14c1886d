package erpplugin

import (
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/encoding"
)

// CodecName is the gRPC content subtype of ERP plugin messages. The codec
// is registered with grpc when this package is imported, in the host and in
// the plugin alike.
const CodecName = "ordo-json"

// jsonCodec encodes messages as JSON because erp.proto has no generated Go
// code: there is no protoc in ordo's build, and JSON keeps the messages
// readable in a packet capture.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return data, nil
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

func (jsonCodec) Name() string { return CodecName }

func init() {
	encoding.RegisterCodec(jsonCodec{})
}
