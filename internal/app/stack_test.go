package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/app"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/signing"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/internal/testports"
)

// stackOptions select the database and tune the configuration of a test
// stack.
type stackOptions struct {
	// Driver is "sqlite" (default) or "postgres". PostgreSQL holds only
	// ordo's own data; the Temporal server always uses its SQLite file.
	Driver string
	// LocalActivities sets Chain.LocalActivities.
	LocalActivities bool
	// Configure, when set, changes the configuration after the test
	// defaults are applied and before the stack starts.
	Configure func(cfg *config.Config)
}

// stack is `ordo dev` running in the test process on its own data dir and
// free loopback ports. Stop and Start restart it on the same data dir
// with the same ports.
type stack struct {
	t       testing.TB
	Config  *config.Config
	DataDir string
	// LogFile receives the stack's log, which a failed test prints.
	LogFile string

	// Set by Start.
	APIURL          string
	TemporalAddress string
	Secret          []byte
	API             *apiclient.Client

	cancel context.CancelFunc
	done   chan error
	log    *stackLog
}

// stackLog is the stack's log file. Lines written after Close are
// dropped, because the Temporal server's internal workers go on polling,
// and logging that they cannot, for a moment after app.Run returned.
type stackLog struct {
	mu     sync.Mutex
	file   *os.File
	closed bool
}

func (l *stackLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	return l.file.Write(p)
}

func (l *stackLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.file.Close()
}

// startStack starts a new stack on a fresh data dir and stops it when the
// test ends.
func startStack(t testing.TB, opts stackOptions) *stack {
	t.Helper()
	cfg := testConfig(t, opts)
	dir := t.TempDir()
	s := &stack{t: t, Config: cfg, DataDir: filepath.Join(dir, "data"), LogFile: filepath.Join(dir, "ordo.log")}
	t.Cleanup(func() {
		if s.cancel != nil {
			s.Stop()
		}
		if t.Failed() {
			printLogTail(t, s.LogFile, 60)
		}
	})
	s.Start()
	return s
}

// testConfig returns the defaults with free loopback ports, short delays
// and the selected database.
func testConfig(t testing.TB, opts stackOptions) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Temporal.Address = freeAddress(t)
	cfg.API.Address = freeAddress(t)
	cfg.API.PublicURL = "http://" + cfg.API.Address
	cfg.Sim.Kingdee.Address = freeAddress(t)
	cfg.Sim.EInvoice.Address = freeAddress(t)
	cfg.Sim.Bank.Address = freeAddress(t)
	cfg.ERP.BaseURL = "http://" + cfg.Sim.Kingdee.Address + "/k3cloud/"
	cfg.EInvoice.BaseURL = "http://" + cfg.Sim.EInvoice.Address
	cfg.Bank.BaseURL = "http://" + cfg.Sim.Bank.Address
	cfg.Sim.SMTP.Address = freeAddress(t)
	cfg.Notify.SMTP.Address = cfg.Sim.SMTP.Address
	cfg.Sim.WeCom.Address = freeAddress(t)
	cfg.Notify.WeCom.BaseURL = "http://" + cfg.Sim.WeCom.Address
	cfg.Sim.SMS.Address = freeAddress(t)
	cfg.Notify.SMS.BaseURL = "http://" + cfg.Sim.SMS.Address

	// Short delays make one chain take a few seconds. The polls are a
	// fallback: the simulators' callbacks end each wait at once.
	cfg.Sim.Kingdee.ProductionDelay = 300 * time.Millisecond
	cfg.Sim.EInvoice.IssueDelay = 200 * time.Millisecond
	cfg.Sim.Bank.PaymentDelay = 300 * time.Millisecond
	cfg.Payment.PollInterval = 200 * time.Millisecond
	cfg.Chain.ProductionPollInitial = 2 * time.Second
	cfg.Chain.ProductionPollMax = 5 * time.Second
	cfg.Chain.InvoicePollInitial = time.Second
	cfg.Chain.InvoicePollMax = 5 * time.Second
	cfg.Chain.RetryMaxInterval = 2 * time.Second
	cfg.Chain.LocalActivities = opts.LocalActivities

	switch opts.Driver {
	case "", "sqlite":
	case "postgres":
		cfg.Database.Driver = "postgres"
		cfg.Database.DSN = postgresDatabase(t)
		cfg.Database.MaxConns = 8
	default:
		t.Fatalf("unknown test driver %q: use sqlite or postgres", opts.Driver)
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	return cfg
}

// Start runs app.Run in a goroutine and returns once the stack is ready.
func (s *stack) Start() {
	t := s.t
	t.Helper()
	if s.cancel != nil {
		t.Fatalf("stack on %s is running already", s.DataDir)
	}
	file, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("open stack log: %v", err)
	}
	logFile := &stackLog{file: file}
	logger, err := logging.New(logging.Options{Level: "info", Format: "text", Output: logFile})
	if err != nil {
		t.Fatalf("create stack logger: %v", err)
	}
	logger.WithField(logging.KeyDataDir, s.DataDir).Info("test stack starting")

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan app.Endpoints, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.Options{
			Config: s.Config, DataDir: s.DataDir, Dev: true,
			RunWorker: true, RunAPI: true, Logger: logger,
			Ready: func(e app.Endpoints) { ready <- e },
		})
	}()

	select {
	case endpoints := <-ready:
		s.cancel, s.done, s.log = cancel, done, logFile
		s.APIURL = "http://" + endpoints.API
		s.TemporalAddress = endpoints.Temporal
		s.API = apiclient.New(s.APIURL, s.Config.API.Token)
		secret, err := os.ReadFile(endpoints.SecretFile)
		if err != nil {
			t.Fatalf("read the webhook secret the stack generated: %v", err)
		}
		s.Secret = bytes.TrimSpace(secret)
	case err := <-done:
		cancel()
		_ = logFile.Close()
		t.Fatalf("stack on %s stopped before it was ready: %v", s.DataDir, err)
	case <-time.After(90 * time.Second):
		cancel()
		_ = logFile.Close()
		t.Fatalf("stack on %s not ready after 90s", s.DataDir)
	}
}

// Stop cancels the stack's context, which shuts every component down in
// order, and waits for app.Run to return.
func (s *stack) Stop() {
	t := s.t
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	defer func() { _ = s.log.Close() }()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("stack on %s stopped with an error: %v", s.DataDir, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("stack on %s did not stop within 60s", s.DataDir)
	}
}

// TemporalClient dials the stack's Temporal server and closes the client
// when the test ends.
func (s *stack) TemporalClient() client.Client {
	t := s.t
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort: s.TemporalAddress, Namespace: s.Config.Temporal.Namespace,
		Logger: logging.NewSDKLogger(logrus.NewEntry(logging.Discard())),
	})
	if err != nil {
		t.Fatalf("connect to Temporal at %s: %v", s.TemporalAddress, err)
	}
	t.Cleanup(c.Close)
	return c
}

// freeAddress returns a loopback address that stays this test binary's,
// so a stack stopped and started again finds its ports free.
func freeAddress(t testing.TB) string {
	t.Helper()
	return testports.Address(t)
}

// postgresDatabase creates an empty database on the server named by
// ORDO_TEST_POSTGRES_DSN and drops it when the test ends. It skips the test
// when the variable is unset, except under CI.
//
// NOTE: storetest creates such databases too but returns only an opened
// store, and the stack needs the DSN. This copy goes once storetest
// exports its DSN helper.
func postgresDatabase(t testing.TB) string {
	t.Helper()
	storetest.RequirePostgres(t)
	adminDSN := os.Getenv(storetest.PostgresEnv)
	if adminDSN == "" {
		t.Skipf("%s is not set", storetest.PostgresEnv)
	}
	admin, err := sql.Open("pgx", adminDSN)
	if err != nil {
		t.Fatalf("open PostgreSQL admin connection: %v", err)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("random database name: %v", err)
	}
	name := "ordo_app_test_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		_ = admin.Close()
		t.Fatalf("create database %s (does the %s user have CREATEDB?): %v", name, storetest.PostgresEnv, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(adminDSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL to derive the test database's DSN", storetest.PostgresEnv)
	}
	u.Path = "/" + name
	return u.String()
}

// printLogTail logs the last lines of a stack log, so a failed test shows
// what the stack did last.
func printLogTail(t testing.TB, path string, lines int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Logf("no stack log at %s: %v", path, err)
		return
	}
	defer f.Close()
	var tail []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.Contains(line, "level=info") {
			continue
		}
		tail = append(tail, line)
		if len(tail) > lines {
			tail = tail[1:]
		}
	}
	t.Logf("last %d warnings and errors of %s:\n%s", len(tail), path, strings.Join(tail, "\n"))
}

// postSignedEvent posts a contract-signed event signed with the stack's
// webhook secret and returns the API's answer.
func postSignedEvent(t testing.TB, apiURL string, secret []byte, event api.ContractSignedEvent) api.ContractSignedAnswer {
	t.Helper()
	answer, err := sendSignedEvent(apiURL, secret, event)
	if err != nil {
		t.Fatal(err)
	}
	return answer
}

func sendSignedEvent(apiURL string, secret []byte, event api.ContractSignedEvent) (api.ContractSignedAnswer, error) {
	var answer api.ContractSignedAnswer
	body, err := json.Marshal(event)
	if err != nil {
		return answer, fmt.Errorf("encode event %s: %w", event.EventID, err)
	}
	req, err := http.NewRequest(http.MethodPost, apiURL+"/api/v1/events/contract-signed", bytes.NewReader(body))
	if err != nil {
		return answer, fmt.Errorf("build request for event %s: %w", event.EventID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	signing.SetHeaders(req.Header, secret, time.Now(), body)
	resp, err := httpClient.Do(req)
	if err != nil {
		return answer, fmt.Errorf("post event %s: %w", event.EventID, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return answer, fmt.Errorf("post event %s: HTTP %d, expected 202: %s", event.EventID, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return answer, fmt.Errorf("decode answer to event %s: %w: %s", event.EventID, err, raw)
	}
	return answer, nil
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// postContracts posts n contract-signed events, eight at a time, for
// contracts prefix0001 to prefix<n>, and returns their contract numbers.
// The prefix must be CT- and letters: the bank reconciliation finds
// contract numbers in payment remarks as CT- and one run of letters and
// digits.
func postContracts(t testing.TB, apiURL string, secret []byte, prefix string, n int) []string {
	t.Helper()
	numbers := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i := range n {
		numbers[i] = fmt.Sprintf("%s%04d", prefix, i+1)
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			_, errs[i] = sendSignedEvent(apiURL, secret, sampleEvent(numbers[i], i))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return numbers
}

// sampleEvent returns a contract-signed event for contractNo; i varies
// the customer and the amount.
func sampleEvent(contractNo string, i int) api.ContractSignedEvent {
	accounts := []string{"Acme Corporation", "Betasoloin", "Cancity", "Dalttechnology", "Funholding"}
	products := []string{"GTX Basic", "GTX Pro", "MG Special", "GTX Plus Pro"}
	return api.ContractSignedEvent{
		EventID:    "evt-" + contractNo,
		ContractNo: contractNo,
		Account:    api.EventAccount{Name: accounts[i%len(accounts)], Sector: "technology", OfficeLocation: "United States"},
		Product:    products[i%len(products)],
		SalesAgent: "Moses Frase",
		Amount:     decimal.New(105400+int64(i)*1317, -2),
		Currency:   "USD",
		SignedOn:   "2017-03-01",
	}
}
