package einvoice_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ordo-project/ordo/connectors"
	sim "github.com/ordo-project/ordo/internal/simulators/einvoice"
)

// childDBEnv names the SQLite file of the simulator process that
// TestKillMidIssue starts and kills.
const childDBEnv = "ORDO_EINVOICE_SIM_CHILD_DB"

// TestSimulatorChildProcess is the process TestKillMidIssue kills. It
// accepts one invoice request, reports that on standard output and waits
// to be killed.
func TestSimulatorChildProcess(t *testing.T) {
	path := os.Getenv(childDBEnv)
	if path == "" {
		t.Skip("runs only as the child process of TestKillMidIssue")
	}
	db := openDB(t, path)
	simulator := startSimulator(t, db, func(cfg *sim.Config) { cfg.IssueDelay = time.Second })
	request := validRequest(t, "CT-K9-INV-1", "CT-K9")
	if _, err := newClient(t, simulator.URL(), nil).Issue(context.Background(), request); err != nil {
		t.Fatalf("issue in child process: %v", err)
	}
	fmt.Println("accepted")
	time.Sleep(time.Minute)
}

func TestKillMidIssue(t *testing.T) {
	path := tempDBPath(t)
	child := exec.Command(os.Args[0], "-test.run=^TestSimulatorChildProcess$", "-test.count=1")
	child.Env = append(os.Environ(), childDBEnv+"="+path)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatalf("pipe child output: %v", err)
	}
	if err := child.Start(); err != nil {
		t.Fatalf("start child process: %v", err)
	}
	t.Cleanup(func() { _ = child.Process.Kill() })

	accepted := make(chan bool, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if scanner.Text() == "accepted" {
				accepted <- true
				return
			}
		}
		accepted <- false
	}()
	select {
	case ok := <-accepted:
		if !ok {
			t.Fatal("child process ended without accepting the request")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("child process did not accept the request within 15s")
	}
	// SIGKILL before the 1s issue delay passes, so the request is still
	// processing in the file.
	if err := child.Process.Kill(); err != nil {
		t.Fatalf("kill child process: %v", err)
	}
	_ = child.Wait()

	db := openDB(t, path)
	var status string
	if err := db.NewRaw("SELECT status FROM einvoice_requests WHERE serial_no = ?", "CT-K9-INV-1").Scan(context.Background(), &status); err != nil {
		t.Fatalf("read request state left by the killed process: %v", err)
	}
	if status != "processing" {
		t.Fatalf("request state after kill = %q, want processing, so the restart has work left", status)
	}
	simulator := startSimulator(t, db, nil)
	client := newClient(t, simulator.URL(), nil)
	issued := waitForStatus(t, client, "CT-K9-INV-1", connectors.InvoiceIssued, 5*time.Second)
	if got := ledgerNumbers(t, db, "invoice", "CT-K9"); len(got) != 1 || got[0] != issued.InvoiceNo {
		t.Errorf("ledger invoices after kill -9 = %v, want [%s]", got, issued.InvoiceNo)
	}
}
