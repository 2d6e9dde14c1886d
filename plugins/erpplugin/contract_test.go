package erpplugin

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// goMessages maps each RPC of erp.proto to the Go request and response
// types that carry it.
var goMessages = map[string][2]any{
	"Ping":                  {pingRequest{}, pingResponse{}},
	"Describe":              {describeRequest{}, DescribeResponse{}},
	"UpsertCustomer":        {upsertCustomerRequest{}, documentResponse{}},
	"EnsureSalesOrder":      {ensureSalesOrderRequest{}, documentResponse{}},
	"EnsureProductionOrder": {ensureProductionOrderRequest{}, documentResponse{}},
	"GetProductionStatus":   {getProductionStatusRequest{}, productionStatusResponse{}},
	"EnsureDelivery":        {ensureDeliveryRequest{}, documentResponse{}},
	"EnsureReceivable":      {ensureReceivableRequest{}, documentResponse{}},
	"EnsureWriteOff":        {ensureWriteOffRequest{}, documentResponse{}},
	"EnsurePriceChange":     {ensurePriceChangeRequest{}, documentResponse{}},
	"GetDocument":           {getDocumentRequest{}, documentResponse{}},
	"CancelDocument":        {cancelDocumentRequest{}, cancelDocumentResponse{}},
}

func compileProto(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	compiler := protocompile.Compiler{Resolver: &protocompile.SourceResolver{ImportPaths: []string{"."}}}
	files, err := compiler.Compile(context.Background(), "erp.proto")
	if err != nil {
		t.Fatalf("compile erp.proto: %v", err)
	}
	return files[0]
}

func TestProtocolVersionMatchesProto(t *testing.T) {
	file := compileProto(t)
	enum := file.Enums().ByName("ProtocolVersion")
	if enum == nil {
		t.Fatal("erp.proto has no ProtocolVersion enum")
	}
	highest := protoreflect.EnumNumber(0)
	for i := 0; i < enum.Values().Len(); i++ {
		highest = max(highest, enum.Values().Get(i).Number())
	}
	if int(highest) != ProtocolVersion {
		t.Errorf("erp.proto's highest ProtocolVersion is %d, ProtocolVersion is %d", highest, ProtocolVersion)
	}
	if int(Handshake.ProtocolVersion) != ProtocolVersion {
		t.Errorf("Handshake.ProtocolVersion is %d, ProtocolVersion is %d", Handshake.ProtocolVersion, ProtocolVersion)
	}
}

func TestServiceMatchesProto(t *testing.T) {
	file := compileProto(t)
	if file.Services().Len() != 1 {
		t.Fatalf("erp.proto has %d services, expected 1", file.Services().Len())
	}
	service := file.Services().Get(0)
	if string(service.FullName()) != ServiceName {
		t.Errorf("service is %s in erp.proto, ServiceName is %s", service.FullName(), ServiceName)
	}

	var protoMethods, goMethods []string
	for i := 0; i < service.Methods().Len(); i++ {
		protoMethods = append(protoMethods, string(service.Methods().Get(i).Name()))
	}
	for _, m := range serviceDesc.Methods {
		goMethods = append(goMethods, m.MethodName)
	}
	if strings.Join(protoMethods, ",") != strings.Join(goMethods, ",") {
		t.Errorf("methods differ:\nerp.proto: %v\nGo:        %v", protoMethods, goMethods)
	}

	for i := 0; i < service.Methods().Len(); i++ {
		method := service.Methods().Get(i)
		types, ok := goMessages[string(method.Name())]
		if !ok {
			t.Errorf("goMessages has no entry for %s", method.Name())
			continue
		}
		compareMessage(t, string(method.Name())+" request", method.Input(), reflect.TypeOf(types[0]))
		compareMessage(t, string(method.Name())+" response", method.Output(), reflect.TypeOf(types[1]))
	}
}

var (
	decimalType = reflect.TypeOf(decimal.Decimal{})
	timeType    = reflect.TypeOf(time.Time{})
)

// compareMessage checks that the JSON fields of goType are exactly the
// fields of message, with matching shapes, recursively.
func compareMessage(t *testing.T, path string, message protoreflect.MessageDescriptor, goType reflect.Type) {
	t.Helper()
	for goType.Kind() == reflect.Pointer {
		goType = goType.Elem()
	}
	if goType.Kind() != reflect.Struct {
		t.Errorf("%s: proto message %s is Go %s, expected a struct", path, message.Name(), goType)
		return
	}
	goFields := map[string]reflect.Type{}
	for i := 0; i < goType.NumField(); i++ {
		field := goType.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("%s: Go field %s.%s has no JSON name", path, goType.Name(), field.Name)
			continue
		}
		goFields[name] = field.Type
	}
	for i := 0; i < message.Fields().Len(); i++ {
		field := message.Fields().Get(i)
		name := string(field.Name())
		fieldPath := path + "." + name
		goField, ok := goFields[name]
		if !ok {
			t.Errorf("%s: in erp.proto but not in Go type %s", fieldPath, goType.Name())
			continue
		}
		delete(goFields, name)
		if field.IsList() {
			if goField.Kind() != reflect.Slice {
				t.Errorf("%s: repeated in erp.proto, Go type is %s", fieldPath, goField)
				continue
			}
			goField = goField.Elem()
		}
		compareField(t, fieldPath, field, goField)
	}
	for name := range goFields {
		t.Errorf("%s.%s: in Go type %s but not in erp.proto", path, name, goType.Name())
	}
}

func compareField(t *testing.T, path string, field protoreflect.FieldDescriptor, goField reflect.Type) {
	t.Helper()
	switch field.Kind() {
	case protoreflect.MessageKind:
		compareMessage(t, path, field.Message(), goField)
	case protoreflect.StringKind:
		if goField.Kind() != reflect.String && goField != decimalType && goField != timeType {
			t.Errorf("%s: string in erp.proto, Go type is %s", path, goField)
		}
	case protoreflect.BoolKind:
		if goField.Kind() != reflect.Bool {
			t.Errorf("%s: bool in erp.proto, Go type is %s", path, goField)
		}
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		if goField.Kind() != reflect.Int && goField.Kind() != reflect.Int32 && goField.Kind() != reflect.Int64 {
			t.Errorf("%s: %s in erp.proto, Go type is %s", path, field.Kind(), goField)
		}
	default:
		t.Errorf("%s: erp.proto uses %s, which the Go side does not map", path, field.Kind())
	}
}
