package app_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/config"
)

// TestKillMidChain runs `ordo dev` as a child process, kills it with
// SIGKILL while a batch of chains runs, starts it again on the same data
// dir, and checks that every chain closes with exactly one document per
// step.
func TestKillMidChain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ordo binary; skipped with -short")
	}
	t.Parallel()
	binary := buildOrdo(t)
	cfg := testConfig(t, stackOptions{LocalActivities: true, Configure: slowerChains})
	child := newChildStack(t, binary, cfg)

	child.Start()
	contracts := postContracts(t, child.APIURL, child.Secret, "CT-KILL", restartBatch)
	waitUntilMidChain(t, child.API, restartBatch)
	child.Kill()
	closed := closedInStore(t, cfg, child.DataDir)
	if closed == restartBatch {
		t.Fatalf("every chain closed before the kill, so the test restarted no running chain")
	}
	t.Logf("killed ordo dev with %d of %d chains closed", closed, restartBatch)

	restarted := time.Now()
	child.Start()
	waitAllClosed(t, child.API, restartBatch, resumeTimeout)
	t.Logf("every chain closed %s after the restart", time.Since(restarted).Round(time.Second))

	for _, no := range contracts {
		checkClosedContract(t, getContract(t, child.API, no, false))
	}
	checkLedgerOnePerStep(t, readLedger(t, child.DataDir), contracts)
	child.Stop()
}

// buildOrdo builds the ordo binary into a temporary directory.
func buildOrdo(t testing.TB) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "ordo")
	cmd := exec.Command("go", "build", "-o", binary, "github.com/ordo-project/ordo/cmd/ordo")
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build the ordo binary: %v\n%s", err, output)
	}
	return binary
}

// childStack is `ordo dev` running as a child process, so the test can
// kill it the way a crash or an OOM kill does.
type childStack struct {
	t       testing.TB
	binary  string
	config  string
	DataDir string
	LogFile string
	APIURL  string
	API     *apiclient.Client
	Secret  []byte

	cmd  *exec.Cmd
	exit chan error
}

func newChildStack(t testing.TB, binary string, cfg *config.Config) *childStack {
	t.Helper()
	dir := t.TempDir()
	c := &childStack{
		t: t, binary: binary, config: filepath.Join(dir, "ordo.yaml"),
		DataDir: filepath.Join(dir, "data"), LogFile: filepath.Join(dir, "ordo.log"),
		APIURL: "http://" + cfg.API.Address, API: apiclient.New("http://"+cfg.API.Address, cfg.API.Token),
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("encode the child's configuration: %v", err)
	}
	if err := os.WriteFile(c.config, data, 0o600); err != nil {
		t.Fatalf("write the child's configuration: %v", err)
	}
	if _, err := config.Load(c.config); err != nil {
		t.Fatalf("the child's configuration does not load: %v", err)
	}
	t.Cleanup(func() {
		if c.cmd != nil {
			c.Kill()
		}
		if t.Failed() {
			printLogTail(t, c.LogFile, 60)
		}
	})
	return c
}

// Start starts `ordo dev` and waits until its API responds.
func (c *childStack) Start() {
	t := c.t
	t.Helper()
	logFile, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("open the child's log: %v", err)
	}
	defer logFile.Close()
	cmd := exec.Command(c.binary, "dev", "--config", c.config, "--data-dir", c.DataDir, "--ui-address", "")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = withoutOrdoVariables(os.Environ())
	killWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ordo dev: %v", err)
	}
	c.cmd = cmd
	c.exit = make(chan error, 1)
	go func() { c.exit <- cmd.Wait() }()

	deadline := time.Now().Add(90 * time.Second)
	for {
		if c.healthy() {
			break
		}
		select {
		case err := <-c.exit:
			c.cmd = nil
			t.Fatalf("ordo dev exited before it was ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ordo dev not ready after 90s")
		}
	}
	secret, err := os.ReadFile(filepath.Join(c.DataDir, "webhook-secret"))
	if err != nil {
		t.Fatalf("read the webhook secret ordo dev generated: %v", err)
	}
	c.Secret = bytes.TrimSpace(secret)
}

func (c *childStack) healthy() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.APIURL+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill sends SIGKILL to the child and waits until it is gone.
func (c *childStack) Kill() {
	t := c.t
	t.Helper()
	if c.cmd == nil {
		return
	}
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill ordo dev (pid %d): %v", c.cmd.Process.Pid, err)
	}
	<-c.exit
	c.cmd = nil
}

// Stop sends SIGINT, as Ctrl-C does, and waits for a clean exit.
func (c *childStack) Stop() {
	t := c.t
	t.Helper()
	if c.cmd == nil {
		return
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupt ordo dev (pid %d): %v", c.cmd.Process.Pid, err)
	}
	select {
	case err := <-c.exit:
		c.cmd = nil
		if err != nil {
			t.Errorf("ordo dev exited with %v after SIGINT, expected a clean exit", err)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("ordo dev did not exit within 60s of SIGINT; killing it")
		c.Kill()
	}
}

// withoutOrdoVariables drops ORDO_* variables, which would override the
// child's configuration file (ORDO_DATABASE_DSN, ORDO_TEMPORAL_ADDRESS
// and others).
func withoutOrdoVariables(env []string) []string {
	kept := make([]string, 0, len(env))
	for _, v := range env {
		if !strings.HasPrefix(v, "ORDO_") {
			kept = append(kept, v)
		}
	}
	return kept
}
