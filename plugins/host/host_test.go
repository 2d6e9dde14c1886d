package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/plugins/erpplugin"
)

// testPluginPath is the testplugin binary, built once per test binary.
var testPluginPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ordo-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create temp dir:", err)
		os.Exit(1)
	}
	testPluginPath = filepath.Join(dir, "testplugin")
	build := exec.Command("go", "build", "-o", testPluginPath, "github.com/ordo-project/ordo/plugins/internal/testplugin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testplugin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects log output written from go-plugin's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(t *testing.T, path string) config.Plugin {
	t.Helper()
	sum, err := FileChecksum(path)
	if err != nil {
		t.Fatal(err)
	}
	return config.Plugin{Name: "memory", Path: path, SHA256: sum, CallTimeout: 5 * time.Second}
}

func newTestERP(t *testing.T, cfg config.Plugin) (*ERP, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	logger := logrus.New()
	logger.SetOutput(logs)
	logger.SetLevel(logrus.DebugLevel)
	logger.SetFormatter(&logrus.JSONFormatter{})
	erp := NewERP(cfg, logger)
	t.Cleanup(erp.Close)
	return erp, logs
}

func connectorError(t *testing.T, err error) *connectors.Error {
	t.Helper()
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *connectors.Error", err, err)
	}
	return ce
}

func TestERPCallsAndIdempotency(t *testing.T) {
	erp, logs := newTestERP(t, testConfig(t, testPluginPath))
	ctx := context.Background()

	first, err := erp.UpsertCustomer(ctx, connectors.Customer{Number: "C-1", Name: "Acme"})
	if err != nil {
		t.Fatalf("UpsertCustomer: %v", err)
	}
	if !first.Created || first.Number != "C-1" || first.Kind != connectors.KindCustomer {
		t.Errorf("first UpsertCustomer returned %+v, expected a created customer C-1", first)
	}
	second, err := erp.UpsertCustomer(ctx, connectors.Customer{Number: "C-1", Name: "Acme"})
	if err != nil {
		t.Fatalf("second UpsertCustomer: %v", err)
	}
	if second.Created || second.ID != first.ID {
		t.Errorf("second UpsertCustomer returned %+v, expected the existing document %s", second, first.ID)
	}

	if _, err := erp.GetDocument(ctx, connectors.KindSalesOrder, "SO-404"); !connectors.IsNotFound(err) {
		t.Errorf("GetDocument of a missing order returned %v, expected not_found", err)
	}
	_, err = erp.EnsureSalesOrder(ctx, connectors.SalesOrder{})
	ce := connectorError(t, err)
	if ce.Kind != connectors.KindValidation || len(ce.Fields) != 1 || ce.Fields[0].Field != "number" {
		t.Errorf("EnsureSalesOrder without number returned %+v, expected a validation error on number", ce)
	}
	if err := erp.CancelDocument(ctx, connectors.KindCustomer, "C-1"); err != nil {
		t.Errorf("CancelDocument: %v", err)
	}
	info, err := erp.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if info.Connector != "memory" || info.ProtocolVersion != erpplugin.ProtocolVersion {
		t.Errorf("Describe returned %+v", info)
	}

	// The plugin's hclog line reaches the logrus logger with its fields.
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(logs.String(), `"document_no":"C-1"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"msg":"created document"`) || !strings.Contains(logs.String(), `"plugin":"memory"`) {
		t.Errorf("plugin log line missing from ordo's log:\n%s", logs.String())
	}
}

func TestChecksumMismatchRefused(t *testing.T) {
	cfg := testConfig(t, testPluginPath)
	changed := filepath.Join(t.TempDir(), "changed-plugin")
	data, err := os.ReadFile(testPluginPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(changed, append(data, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	newSum, err := FileChecksum(changed)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Path = changed
	erp, _ := newTestERP(t, cfg)

	_, err = erp.UpsertCustomer(context.Background(), connectors.Customer{Number: "C-1", Name: "Acme"})
	var mismatch *ChecksumError
	if !errors.As(err, &mismatch) {
		t.Fatalf("UpsertCustomer returned %v, expected a *ChecksumError", err)
	}
	for _, want := range []string{changed, cfg.SHA256, newSum} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if connectors.IsRetryable(err) {
		t.Error("a checksum mismatch is retryable, expected non-retryable")
	}
}

func TestOldProtocolVersionRefused(t *testing.T) {
	cfg := testConfig(t, testPluginPath)
	cfg.Env = []string{"ORDO_TEST_PLUGIN_PROTOCOL=0"}
	erp, _ := newTestERP(t, cfg)

	err := erp.Start()
	var version *VersionError
	if !errors.As(err, &version) {
		t.Fatalf("Start returned %v, expected a *VersionError", err)
	}
	if version.PluginVersion != 0 {
		t.Errorf("PluginVersion is %d, expected 0", version.PluginVersion)
	}
	want := fmt.Sprintf("speaks ERP plugin protocol 0, but ordo speaks version %d: rebuild the plugin", erpplugin.ProtocolVersion)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if ce := connectorError(t, err); ce.Kind != connectors.KindProtocol || ce.Retryable() {
		t.Errorf("error kind is %s, expected a non-retryable protocol error", ce.Kind)
	}
}

func TestCrashMidCallRecovered(t *testing.T) {
	erp, _ := newTestERP(t, testConfig(t, testPluginPath))
	ctx := context.Background()
	if err := erp.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}

	_, err := erp.UpsertCustomer(ctx, connectors.Customer{Number: "C-2", Name: "crash"})
	if !errors.Is(err, erpplugin.ErrUnavailable) {
		t.Fatalf("call into a crashing plugin returned %v, expected ErrUnavailable", err)
	}
	if !connectors.IsRetryable(err) {
		t.Error("a crashed call is not retryable, expected retryable")
	}

	doc, err := erp.UpsertCustomer(ctx, connectors.Customer{Number: "C-2", Name: "Acme"})
	if err != nil {
		t.Fatalf("call after the crash: %v", err)
	}
	if doc.Number != "C-2" {
		t.Errorf("call after the crash returned %+v", doc)
	}
}

func TestHangMidCallTimesOut(t *testing.T) {
	erp, _ := newTestERP(t, testConfig(t, testPluginPath))
	if err := erp.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	started := time.Now()
	_, err := erp.UpsertCustomer(ctx, connectors.Customer{Number: "C-3", Name: "hang"})
	if !errors.Is(err, erpplugin.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call into a hanging plugin returned %v, expected ErrUnavailable and a deadline", err)
	}
	if elapsed := time.Since(started); elapsed > 2*time.Second {
		t.Errorf("hanging call returned after %s, expected about 300ms", elapsed)
	}

	if err := erp.Ping(context.Background()); err != nil {
		t.Fatalf("call after the hang: %v", err)
	}
}

func TestGarbageReplyNonRetryable(t *testing.T) {
	erp, _ := newTestERP(t, testConfig(t, testPluginPath))
	ctx := context.Background()

	for _, number := range []string{"GARBAGE", "EMPTY"} {
		t.Run(number, func(t *testing.T) {
			_, err := erp.UpsertCustomer(ctx, connectors.Customer{Number: number, Name: "Acme"})
			if !errors.Is(err, erpplugin.ErrInvalidReply) {
				t.Fatalf("UpsertCustomer returned %v, expected ErrInvalidReply", err)
			}
			ce := connectorError(t, err)
			if ce.Kind != connectors.KindProtocol || ce.Retryable() {
				t.Errorf("error kind is %s, expected a non-retryable protocol error", ce.Kind)
			}
		})
	}
	if err := erp.Ping(ctx); err != nil {
		t.Errorf("Ping after invalid replies: %v", err)
	}
}
