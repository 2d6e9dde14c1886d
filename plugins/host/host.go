// Package host runs ERP plugins for ordo: it checks each executable's
// checksum, starts it with go-plugin over gRPC with mutual TLS, bridges its
// log into ordo's logger, and restarts it after a crash or a hang. A plugin
// failure fails only the call that met it, never the worker.
package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/plugins/erpplugin"
)

// DefaultCallTimeout bounds a call whose context has no deadline and whose
// plugin configuration sets no call_timeout.
const DefaultCallTimeout = time.Minute

// FileChecksum returns the hex SHA-256 checksum of the file at path.
func FileChecksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if !filepath.IsAbs(path) {
			return "", fmt.Errorf("open plugin executable: %w (a relative path is resolved from the directory ordo runs in: give plugins[].path as an absolute path)", err)
		}
		return "", fmt.Errorf("open plugin executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read plugin executable %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyChecksum compares the executable of cfg with its configured
// checksum and returns a *ChecksumError if they differ.
func VerifyChecksum(cfg config.Plugin) error {
	got, err := FileChecksum(cfg.Path)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", cfg.Name, err)
	}
	if got != cfg.SHA256 {
		return &ChecksumError{Plugin: cfg.Name, Path: cfg.Path, Want: cfg.SHA256, Got: got}
	}
	return nil
}

// ERP is a connectors.ERP and connectors.PriceLists served by a plugin
// process. The process starts on the first call and again on the call after
// it crashed, hung or exited. ERP is safe for concurrent use.
type ERP struct {
	cfg    config.Plugin
	logger *logrus.Entry

	mu      sync.Mutex
	process *plugin.Client
	client  *erpplugin.Client
	closed  bool
}

var (
	_ connectors.ERP        = (*ERP)(nil)
	_ connectors.PriceLists = (*ERP)(nil)
)

// NewERP returns an ERP that runs the plugin cfg describes. It starts no
// process yet; call Start to fail early on a bad binary.
func NewERP(cfg config.Plugin, logger *logrus.Logger) *ERP {
	return &ERP{cfg: cfg, logger: logger.WithField(logging.KeyPlugin, cfg.Name)}
}

// Name returns the configured plugin name.
func (e *ERP) Name() string { return e.cfg.Name }

// Start starts the plugin process unless it runs already.
func (e *ERP) Start() error {
	_, _, err := e.current()
	return err
}

// Close stops the plugin process. Calls after Close fail.
func (e *ERP) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.process != nil {
		e.process.Kill()
		e.process, e.client = nil, nil
	}
}

// current returns the running plugin, starting it if there is none or the
// previous process exited. Concurrent callers wait for one start.
func (e *ERP) current() (*plugin.Client, *erpplugin.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, e.startError(errors.New("the plugin host is closed"), connectors.KindTransient, "")
	}
	if e.process != nil && !e.process.Exited() {
		return e.process, e.client, nil
	}
	if e.process != nil {
		e.logger.Warn("Restarting ERP plugin after its process exited")
		e.process.Kill()
	}
	process, client, err := e.start()
	if err != nil {
		return nil, nil, err
	}
	e.process, e.client = process, client
	return process, client, nil
}

// discard kills process if it is still the current one, so the next call
// starts a fresh process. Killing waits up to two seconds for a graceful
// stop, so it runs in the background.
func (e *ERP) discard(process *plugin.Client) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.process != process {
		return
	}
	e.process, e.client = nil, nil
	go process.Kill()
}

// go-plugin v1.8.0 reports a version mismatch only as text, e.g.
// "incompatible API version with plugin. Plugin version: 0, Client versions: [1]".
var (
	incompatibleVersionPattern = regexp.MustCompile(`(?i)incompatible API version`)
	pluginVersionPattern       = regexp.MustCompile(`Plugin version: (-?\d+)`)
)

func (e *ERP) start() (*plugin.Client, *erpplugin.Client, error) {
	if err := VerifyChecksum(e.cfg); err != nil {
		var mismatch *ChecksumError
		if errors.As(err, &mismatch) {
			return nil, nil, e.startError(err, connectors.KindAuth, "checksum_mismatch")
		}
		return nil, nil, e.startError(err, connectors.KindTransient, "")
	}
	sum, err := hex.DecodeString(e.cfg.SHA256)
	if err != nil {
		return nil, nil, e.startError(fmt.Errorf("plugins[].sha256 of %s is not hex: %w", e.cfg.Name, err), connectors.KindAuth, "checksum_invalid")
	}

	cmd := exec.Command(e.cfg.Path, e.cfg.Args...)
	cmd.Env = append(os.Environ(), e.cfg.Env...)
	process := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: erpplugin.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			erpplugin.ProtocolVersion: {erpplugin.PluginName: &erpplugin.Plugin{}},
		},
		Cmd: cmd,
		// go-plugin hashes the file again right before it starts it, which
		// narrows the window between VerifyChecksum and exec.
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     e.cfg.StartTimeout,
		Logger:           logging.HCLog(e.logger, "plugin."+e.cfg.Name),
	})
	rpcClient, err := process.Client()
	if err != nil {
		process.Kill()
		return nil, nil, e.classifyStartError(err)
	}
	raw, err := rpcClient.Dispense(erpplugin.PluginName)
	if err != nil {
		process.Kill()
		return nil, nil, e.startError(fmt.Errorf("dispense the ERP plugin: %w", err), connectors.KindProtocol, "")
	}
	client, ok := raw.(*erpplugin.Client)
	if !ok {
		process.Kill()
		return nil, nil, e.startError(fmt.Errorf("dispense returned %T, expected *erpplugin.Client", raw), connectors.KindProtocol, "")
	}
	e.logger.WithField(logging.KeyFile, e.cfg.Path).Info("Started ERP plugin")
	return process, client.WithConnector("plugin " + e.cfg.Name), nil
}

func (e *ERP) classifyStartError(err error) error {
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		// The file changed between VerifyChecksum and exec.
		got, sumErr := FileChecksum(e.cfg.Path)
		if sumErr != nil {
			got = "unreadable (" + sumErr.Error() + ")"
		}
		return e.startError(&ChecksumError{Plugin: e.cfg.Name, Path: e.cfg.Path, Want: e.cfg.SHA256, Got: got}, connectors.KindAuth, "checksum_mismatch")
	case incompatibleVersionPattern.MatchString(err.Error()):
		version := -1
		if m := pluginVersionPattern.FindStringSubmatch(err.Error()); m != nil {
			version, _ = strconv.Atoi(m[1])
		}
		return e.startError(&VersionError{Plugin: e.cfg.Name, Path: e.cfg.Path, PluginVersion: version, Detail: err.Error()},
			connectors.KindProtocol, "protocol_version")
	}
	return e.startError(fmt.Errorf("start plugin %s (%s): %w", e.cfg.Name, e.cfg.Path, err), connectors.KindTransient, "")
}

func (e *ERP) startError(err error, kind connectors.ErrorKind, code string) error {
	e.logger.WithError(err).WithField(logging.KeyFile, e.cfg.Path).Error("ERP plugin did not start")
	return &connectors.Error{Kind: kind, Connector: "plugin " + e.cfg.Name, Operation: "start", Code: code, Err: err}
}

// call runs fn against the running plugin under the call timeout and
// discards the process when it did not respond.
func call[T any](ctx context.Context, e *ERP, method string, fn func(ctx context.Context, client *erpplugin.Client) (T, error)) (T, error) {
	var zero T
	if _, ok := ctx.Deadline(); !ok {
		timeout := e.cfg.CallTimeout
		if timeout == 0 {
			timeout = DefaultCallTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	process, client, err := e.current()
	if err != nil {
		return zero, err
	}
	result, err := fn(ctx, client)
	switch {
	case errors.Is(err, erpplugin.ErrUnavailable):
		e.logger.WithError(err).WithField(logging.KeyOperation, method).Warn("ERP plugin did not respond; it restarts on the next call")
		e.discard(process)
	case errors.Is(err, erpplugin.ErrInvalidReply):
		e.logger.WithError(err).WithField(logging.KeyOperation, method).Error("ERP plugin sent an invalid reply")
	}
	return result, err
}

// Ping makes a call that does nothing in the plugin.
func (e *ERP) Ping(ctx context.Context) error {
	_, err := call(ctx, e, "Ping", func(ctx context.Context, c *erpplugin.Client) (struct{}, error) {
		return struct{}{}, c.Ping(ctx)
	})
	return err
}

// Describe returns the plugin's connector name, release and protocol.
func (e *ERP) Describe(ctx context.Context) (erpplugin.DescribeResponse, error) {
	return call(ctx, e, "Describe", func(ctx context.Context, c *erpplugin.Client) (erpplugin.DescribeResponse, error) {
		return c.Describe(ctx)
	})
}

// UpsertCustomer calls the plugin's UpsertCustomer.
func (e *ERP) UpsertCustomer(ctx context.Context, customer connectors.Customer) (connectors.Document, error) {
	return call(ctx, e, "UpsertCustomer", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.UpsertCustomer(ctx, customer)
	})
}

// EnsureSalesOrder calls the plugin's EnsureSalesOrder.
func (e *ERP) EnsureSalesOrder(ctx context.Context, order connectors.SalesOrder) (connectors.Document, error) {
	return call(ctx, e, "EnsureSalesOrder", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.EnsureSalesOrder(ctx, order)
	})
}

// EnsureProductionOrder calls the plugin's EnsureProductionOrder.
func (e *ERP) EnsureProductionOrder(ctx context.Context, order connectors.ProductionOrder) (connectors.Document, error) {
	return call(ctx, e, "EnsureProductionOrder", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.EnsureProductionOrder(ctx, order)
	})
}

// GetProductionStatus calls the plugin's GetProductionStatus.
func (e *ERP) GetProductionStatus(ctx context.Context, number string) (connectors.ProductionStatus, error) {
	return call(ctx, e, "GetProductionStatus", func(ctx context.Context, c *erpplugin.Client) (connectors.ProductionStatus, error) {
		return c.GetProductionStatus(ctx, number)
	})
}

// EnsureDelivery calls the plugin's EnsureDelivery.
func (e *ERP) EnsureDelivery(ctx context.Context, delivery connectors.Delivery) (connectors.Document, error) {
	return call(ctx, e, "EnsureDelivery", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.EnsureDelivery(ctx, delivery)
	})
}

// EnsureReceivable calls the plugin's EnsureReceivable.
func (e *ERP) EnsureReceivable(ctx context.Context, receivable connectors.Receivable) (connectors.Document, error) {
	return call(ctx, e, "EnsureReceivable", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.EnsureReceivable(ctx, receivable)
	})
}

// EnsureWriteOff calls the plugin's EnsureWriteOff.
func (e *ERP) EnsureWriteOff(ctx context.Context, writeOff connectors.WriteOff) (connectors.Document, error) {
	return call(ctx, e, "EnsureWriteOff", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.EnsureWriteOff(ctx, writeOff)
	})
}

// EnsurePriceChange calls the plugin's EnsurePriceChange.
func (e *ERP) EnsurePriceChange(ctx context.Context, change connectors.PriceChange) (connectors.Document, error) {
	return call(ctx, e, "EnsurePriceChange", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.EnsurePriceChange(ctx, change)
	})
}

// GetDocument calls the plugin's GetDocument.
func (e *ERP) GetDocument(ctx context.Context, kind connectors.DocumentKind, number string) (connectors.Document, error) {
	return call(ctx, e, "GetDocument", func(ctx context.Context, c *erpplugin.Client) (connectors.Document, error) {
		return c.GetDocument(ctx, kind, number)
	})
}

// CancelDocument calls the plugin's CancelDocument.
func (e *ERP) CancelDocument(ctx context.Context, kind connectors.DocumentKind, number string) error {
	_, err := call(ctx, e, "CancelDocument", func(ctx context.Context, c *erpplugin.Client) (struct{}, error) {
		return struct{}{}, c.CancelDocument(ctx, kind, number)
	})
	return err
}
