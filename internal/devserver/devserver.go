// Package devserver runs a Temporal server and the Temporal Web UI inside the
// ordo process, persisting to a SQLite file. It is the embedded default of
// `ordo dev`; production sites point ordo at their own Temporal cluster.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives/timestamp"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/ordo-project/ordo/internal/logging"
)

// DatabaseFile is the name of the Temporal SQLite file inside the data dir.
const DatabaseFile = "temporal.db"

// SearchAttributes are registered on every namespace the embedded server
// creates, so operators can filter ordo's workflows in the Web UI, for
// example `OrdoState = "needs_attention"`.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	"OrdoContractNo": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"OrdoState":      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"OrdoCustomer":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"OrdoKind":       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// Config selects where the embedded server keeps its data and listens.
type Config struct {
	// DataDir contains temporal.db. It is created if missing.
	DataDir string
	// FrontendAddress is the gRPC address SDK clients dial, host:port.
	FrontendAddress string
	// UIAddress is the Web UI address, host:port; empty disables the UI.
	UIAddress string
	// Namespace is registered on first start.
	Namespace string
	// Retention is how long closed workflows stay visible.
	Retention time.Duration
	// DynamicConfig overrides server settings; see DefaultDynamicConfig.
	DynamicConfig dynamicconfig.StaticClient
	// SQLiteConnections is the size of the server's SQLite connection pool.
	// Values above 1 rely on WAL mode, which the server enables here.
	SQLiteConnections int
	// Logger receives the server's warnings and errors.
	Logger *logrus.Logger
	// ServerLogLevel is the lowest server log level forwarded to Logger.
	ServerLogLevel logrus.Level
}

// Server is a running embedded Temporal server and Web UI.
type Server struct {
	temporal        temporal.Server
	serverLogger    *logging.ServerLogger
	ui              *uiserver.Server
	frontendAddress string
	uiAddress       string
	namespace       string
	logger          *logrus.Entry
}

// DefaultDynamicConfig returns the server settings ordo uses on a single
// machine. They raise the single shard's timer and transfer throughput, so
// many deadlines due at one instant fire promptly, and keep the defaults
// that a development server relies on.
func DefaultDynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():   true,
		dynamicconfig.EnableReadFromSecondaryVisibility.Key():       false,
		// One partition per task queue: with a single matching host,
		// more partitions only add forwarding between them.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
		// The only shard's events cache defaults to 512 KiB, far below the
		// recent events of thousands of open workflows; misses read history
		// back from SQLite.
		dynamicconfig.EventsCacheMaxSizeBytes.Key(): 64 << 20,
		// Delete a workflow task's timeout timer once the task completes,
		// instead of leaving it for the timer queue to load and discard, so
		// user timers do not queue behind them.
		dynamicconfig.EnableBestEffortDeleteTasksOnWorkflowUpdate.Key(): true,
	}
}

// Start creates the schema and namespace on first use, then starts the
// server and, if configured, the Web UI. It returns once the frontend accepts
// calls or ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 30 * 24 * time.Hour
	}
	if cfg.SQLiteConnections <= 0 {
		cfg.SQLiteConnections = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	if cfg.ServerLogLevel == 0 {
		cfg.ServerLogLevel = logrus.WarnLevel
	}
	logger := cfg.Logger.WithField(logging.KeyComponent, "temporal")

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
	}
	dbPath, err := filepath.Abs(filepath.Join(cfg.DataDir, DatabaseFile))
	if err != nil {
		return nil, fmt.Errorf("resolve data dir %s: %w", cfg.DataDir, err)
	}

	frontendHost, frontendPort, err := splitHostPort(cfg.FrontendAddress)
	if err != nil {
		return nil, fmt.Errorf("invalid frontend address %q: %w", cfg.FrontendAddress, err)
	}
	if err := checkPortFree(cfg.FrontendAddress); err != nil {
		return nil, err
	}
	if cfg.UIAddress != "" {
		if err := checkPortFree(cfg.UIAddress); err != nil {
			return nil, err
		}
	}

	sqlConfig := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbPath,
		ConnectAttributes: map[string]string{
			"mode": "rwc",
			// WAL keeps every committed transaction across a kill -9 of the
			// process; synchronous=normal skips the fsync per commit, which
			// only matters if the machine itself loses power.
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "10000",
		},
		MaxConns:     cfg.SQLiteConnections,
		MaxIdleConns: cfg.SQLiteConnections,
	}

	// Visibility records live in a file of their own, so their writes do
	// not wait for the execution store's write lock. Two connections on one
	// SQLite file take turns through the busy timeout. A data directory
	// created before keeps visibility in temporal.db.
	visPath := filepath.Join(filepath.Dir(dbPath), "temporal-visibility.db")
	visConfig := sqlConfig
	_, dbErr := os.Stat(dbPath)
	_, visErr := os.Stat(visPath)
	if errors.Is(dbErr, os.ErrNotExist) || visErr == nil {
		copied := *sqlConfig
		copied.DatabaseName = visPath
		copied.ConnectAttributes = maps.Clone(sqlConfig.ConnectAttributes)
		visConfig = &copied
	}
	stores := []*config.SQL{sqlConfig}
	if visConfig != sqlConfig {
		stores = append(stores, visConfig)
	}
	for _, store := range stores {
		if _, statErr := os.Stat(store.DatabaseName); errors.Is(statErr, os.ErrNotExist) {
			logger.WithField(logging.KeyFile, store.DatabaseName).Info("creating Temporal schema")
			if err := sqliteschema.SetupSchema(store); err != nil {
				return nil, fmt.Errorf("create Temporal schema in %s: %w", store.DatabaseName, err)
			}
		} else if statErr != nil {
			return nil, fmt.Errorf("inspect %s: %w", store.DatabaseName, statErr)
		}
	}

	nsConfig, err := sqliteschema.NewNamespaceConfig("active", cfg.Namespace, false, SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("prepare namespace %s: %w", cfg.Namespace, err)
	}
	nsConfig.Detail.Config.Retention = timestamp.DurationPtr(cfg.Retention)
	if err := sqliteschema.CreateNamespaces(sqlConfig, nsConfig); err != nil {
		return nil, fmt.Errorf("register namespace %s: %w", cfg.Namespace, err)
	}

	serverConfig, err := buildServerConfig(sqlConfig, visConfig, frontendHost, frontendPort)
	if err != nil {
		return nil, err
	}

	serverLogger := logging.NewServerLogger(logger, cfg.ServerLogLevel)
	authorizer, err := authorization.GetAuthorizerFromConfig(&serverConfig.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("create authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&serverConfig.Global.Authorization, serverLogger)
	if err != nil {
		return nil, fmt.Errorf("create claim mapper: %w", err)
	}

	dynamic := DefaultDynamicConfig()
	for key, value := range cfg.DynamicConfig {
		dynamic[key] = value
	}

	srv, err := temporal.NewServer(
		temporal.WithConfig(serverConfig),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(serverLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamic),
		temporal.WithCustomMetricsHandler(metrics.NoopMetricsHandler),
	)
	if err != nil {
		return nil, fmt.Errorf("create Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal server: %w", err)
	}

	s := &Server{
		temporal:        srv,
		serverLogger:    serverLogger,
		frontendAddress: net.JoinHostPort(frontendHost, strconv.Itoa(frontendPort)),
		namespace:       cfg.Namespace,
		logger:          logger,
	}
	if err := s.waitReady(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}

	if cfg.UIAddress != "" {
		if err := s.startUI(cfg.UIAddress); err != nil {
			_ = srv.Stop()
			return nil, err
		}
	}
	logger.WithFields(logrus.Fields{
		logging.KeyAddress: s.frontendAddress,
		logging.KeyFile:    dbPath,
	}).Info("Temporal server started")
	return s, nil
}

// FrontendAddress returns the gRPC host:port of the frontend service.
func (s *Server) FrontendAddress() string { return s.frontendAddress }

// UIAddress returns the Web UI host:port, or "" when the UI is off.
func (s *Server) UIAddress() string { return s.uiAddress }

// Namespace returns the namespace registered on start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the Web UI and the server.
func (s *Server) Stop() error {
	if s.ui != nil {
		s.ui.Stop()
	}
	s.serverLogger.Stopping()
	if err := s.temporal.Stop(); err != nil {
		return fmt.Errorf("stop Temporal server: %w", err)
	}
	s.logger.Info("Temporal server stopped")
	return nil
}

// waitReady polls the frontend until the namespace answers.
func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		c, err := client.Dial(client.Options{
			HostPort:  s.frontendAddress,
			Namespace: s.namespace,
			Logger:    logging.NewSDKLogger(s.logger.WithField(logging.KeyComponent, "readiness")),
		})
		if err == nil {
			checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = c.CheckHealth(checkCtx, &client.CheckHealthRequest{})
			if err == nil {
				_, err = c.WorkflowService().DescribeNamespace(checkCtx, describeNamespaceRequest(s.namespace))
			}
			cancel()
			c.Close()
			if err == nil {
				return nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("Temporal frontend at %s not ready after 60s: %w", s.frontendAddress, lastErr)
}

func (s *Server) startUI(address string) error {
	host, port, err := splitHostPort(address)
	if err != nil {
		return fmt.Errorf("invalid UI address %q: %w", address, err)
	}
	uiCfg := &uiconfig.Config{
		TemporalGRPCAddress: s.frontendAddress,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    s.namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		NotifyOnNewVersion:  false,
		Distribution:        "ordo",
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(uiCfg))
	go func() {
		// The UI server calls Fatal on listen errors other than a clean
		// close, which checkPortFree makes unlikely before this point.
		if err := s.ui.Start(); err != nil {
			s.logger.WithError(err).Error("Temporal Web UI stopped")
		}
	}()
	s.uiAddress = net.JoinHostPort(host, strconv.Itoa(port))
	return nil
}

func buildServerConfig(sqlConfig, visConfig *config.SQL, frontendHost string, frontendPort int) (*config.Config, error) {
	ports, err := freePorts(frontendHost, 7)
	if err != nil {
		return nil, err
	}
	service := func(grpcPort, membershipPort int, frontend bool) config.Service {
		svc := config.Service{RPC: config.RPC{
			GRPCPort:        grpcPort,
			MembershipPort:  membershipPort,
			BindOnLocalHost: true,
		}}
		if frontend && frontendHost != "127.0.0.1" && frontendHost != "localhost" {
			svc.RPC.BindOnLocalHost = false
			svc.RPC.BindOnIP = frontendHost
		}
		return svc
	}
	broadcast := "127.0.0.1"

	cfg := &config.Config{}
	cfg.Global.Membership = config.Membership{
		MaxJoinDuration:  30 * time.Second,
		BroadcastAddress: broadcast,
	}
	cfg.Global.PProf = config.PProf{Port: 0}
	cfg.Persistence = config.Persistence{
		DefaultStore:     "executions",
		VisibilityStore:  "visibility",
		NumHistoryShards: 1,
		DataStores: map[string]config.DataStore{
			"executions": {SQL: sqlConfig},
			"visibility": {SQL: visConfig},
		},
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(broadcast, strconv.Itoa(frontendPort)),
			},
		},
	}
	cfg.DCRedirectionPolicy = config.DCRedirectionPolicy{Policy: "noop"}
	cfg.Services = map[string]config.Service{
		"frontend": service(frontendPort, ports[0], true),
		"history":  service(ports[1], ports[2], false),
		"matching": service(ports[3], ports[4], false),
		"worker":   service(ports[5], ports[6], false),
	}
	cfg.Archival = config.Archival{
		History:    config.HistoryArchival{State: "disabled"},
		Visibility: config.VisibilityArchival{State: "disabled"},
	}
	cfg.NamespaceDefaults = config.NamespaceDefaults{
		Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		},
	}
	// The server's internal components dial the frontend through this client.
	cfg.PublicClient = config.PublicClient{HostPort: net.JoinHostPort(broadcast, strconv.Itoa(frontendPort))}
	return cfg, nil
}

func splitHostPort(address string) (string, int, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number between 1 and 65535", portText)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// checkPortFree fails early with a clear message when another process holds
// the address, instead of letting a component exit the process later.
func checkPortFree(address string) error {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("address %s is not available (is another ordo dev or Temporal server running?): %w", address, err)
	}
	return listener.Close()
}

// freePorts reserves n distinct ports on host by listening on port 0.
func freePorts(host string, n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("reserve a free port on %s: %w", host, err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
