package app

import (
	"fmt"
	"net"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/workflows"
)

// registerWorkflows registers every workflow under its stable type name.
func registerWorkflows(w worker.Registry) {
	w.RegisterWorkflowWithOptions(workflows.ContractToCash, workflow.RegisterOptions{Name: workflows.ContractToCashName})
	w.RegisterWorkflowWithOptions(workflows.BankReconciliation, workflow.RegisterOptions{Name: workflows.BankReconciliationName})
}

func listen(address string) (net.Listener, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the API (is another ordo running?): %w", address, err)
	}
	return l, nil
}
