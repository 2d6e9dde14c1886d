// Package chains starts contract-to-cash workflows for recorded contracts.
// Contracts are written to the database first (by the CRM import or the
// contract-signed webhook) and started from there, so a contract that was
// recorded but not started, because the process died in between, is
// started by the next pass of the Starter.
package chains

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/passloop"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// Search attribute keys set when a chain starts.
var (
	attrContractNo = temporal.NewSearchAttributeKeyKeyword("OrdoContractNo")
	attrCustomer   = temporal.NewSearchAttributeKeyKeyword("OrdoCustomer")
	attrKind       = temporal.NewSearchAttributeKeyKeyword("OrdoKind")
)

// BuildInput assembles the workflow input from the recorded contract, its
// plan and account, and the rules in force now.
func BuildInput(contract *store.Contract, plan []store.PaymentInstalment, account *store.Account, cfg *config.Config) workflows.ContractToCashInput {
	tax := cfg.Tax.ProductTax(contract.ProductName)
	customer := connectors.Customer{Number: contract.CustomerNo, Name: contract.AccountName}
	if account != nil {
		customer.Sector = account.Sector
		customer.Country = account.OfficeLocation
		customer.ParentName = account.SubsidiaryOf
	}
	in := workflows.ContractToCashInput{
		ContractNo: contract.ContractNo,
		Customer:   customer,
		SalesAgent: contract.SalesAgent,
		SignedOn:   contract.SignedOn.UTC(),
		Currency:   contract.Currency,
		Product: workflows.ProductLine{
			Number: contract.ProductNo, Name: contract.ProductName, Quantity: contract.Quantity,
			UnitPrice: contract.UnitPrice, TaxRate: contract.TaxRate, TaxCode: contract.TaxCode,
			InvoiceName: tax.InvoiceName, Unit: tax.Unit,
		},
		Total:   contract.Amount,
		Invoice: workflows.InvoiceSettings{Kind: cfg.Invoice.Kind},
		Options: workflows.ChainOptions{
			ProductionPollInitial: cfg.Chain.ProductionPollInitial,
			ProductionPollMax:     cfg.Chain.ProductionPollMax,
			InvoicePollInitial:    cfg.Chain.InvoicePollInitial,
			InvoicePollMax:        cfg.Chain.InvoicePollMax,
			ActivityTimeout:       cfg.Chain.ActivityTimeout,
			RetryMaxAttempts:      int32(cfg.Chain.RetryMaxAttempts),
			RetryMaxInterval:      cfg.Chain.RetryMaxInterval,
			SearchAttributes:      cfg.Temporal.SearchAttributes,
			LocalActivities:       cfg.Chain.LocalActivities,
		},
	}
	for _, p := range plan {
		in.Plan = append(in.Plan, workflows.Instalment{Seq: p.Seq, Label: p.Label, Trigger: p.TriggerOn, Amount: p.Amount})
	}
	return in
}

// Starter starts workflows for contracts that have none.
type Starter struct {
	Store  *store.Store
	Client client.Client
	Config *config.Config
	Logger *logrus.Logger
	// Parallelism bounds concurrent start calls.
	Parallelism int

	loop passloop.Loop
	// pass serialises passes, so the background loop and an import do not
	// start the same contracts at once.
	pass sync.Mutex
}

// Kick asks the running loop to look for unstarted contracts now.
func (s *Starter) Kick() { s.loop.Kick() }

// Run starts pending chains every interval and on Kick, until ctx ends.
func (s *Starter) Run(ctx context.Context, interval time.Duration) {
	s.loop.Run(ctx, interval, s.Logger, "starting pending contract chains", func(ctx context.Context) error {
		_, err := s.StartPending(ctx)
		return err
	})
}

// StartPending starts every contract without a workflow and returns how
// many it started. A workflow that exists already counts as started, so the
// pass is safe to repeat.
func (s *Starter) StartPending(ctx context.Context) (int, error) {
	return s.StartPendingWithProgress(ctx, nil)
}

// StartPendingWithProgress is StartPending that reports the running count
// after each batch.
func (s *Starter) StartPendingWithProgress(ctx context.Context, progress func(started int)) (int, error) {
	s.pass.Lock()
	defer s.pass.Unlock()
	total := 0
	for {
		pending, err := s.Store.UnstartedContracts(ctx, 500)
		if err != nil {
			return total, err
		}
		if len(pending) == 0 {
			return total, nil
		}
		started, err := s.startBatch(ctx, pending)
		total += len(started)
		if markErr := s.Store.MarkWorkflowsStarted(ctx, started, time.Now()); markErr != nil {
			return total, markErr
		}
		if progress != nil {
			progress(total)
		}
		if err != nil {
			return total, err
		}
	}
}

func (s *Starter) startBatch(ctx context.Context, contracts []store.Contract) ([]string, error) {
	accounts, err := s.Store.AccountsByName(ctx, accountNames(contracts))
	if err != nil {
		return nil, err
	}
	parallelism := s.Parallelism
	if parallelism <= 0 {
		parallelism = 64
	}
	var (
		mu       sync.Mutex
		started  []string
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, parallelism)
	)
	for i := range contracts {
		contract := &contracts[i]
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := s.Start(ctx, contract, accounts[contract.AccountName])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			started = append(started, contract.ContractNo)
		}()
	}
	wg.Wait()
	return started, firstErr
}

// Start starts the chain of one contract. An existing workflow with the
// same id, running or closed, is left alone and counts as success.
func (s *Starter) Start(ctx context.Context, contract *store.Contract, account *store.Account) error {
	plan, err := s.Store.Instalments(ctx, contract.ContractNo)
	if err != nil {
		return err
	}
	in := BuildInput(contract, plan, account, s.Config)
	opts := client.StartWorkflowOptions{
		ID:                    contract.WorkflowID,
		TaskQueue:             s.Config.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// With a worker in this process, the first workflow task comes back
		// with the start response instead of through matching.
		EnableEagerStart: true,
	}
	if s.Config.Temporal.SearchAttributes {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			attrContractNo.ValueSet(contract.ContractNo),
			attrCustomer.ValueSet(contract.AccountName),
			attrKind.ValueSet("contract-to-cash"),
			workflows.OrdoState.ValueSet(store.ContractSigned),
		)
	}
	_, err = s.Client.ExecuteWorkflow(ctx, opts, workflows.ContractToCashName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	if err != nil {
		s.Logger.WithFields(logrus.Fields{logging.KeyContractNo: contract.ContractNo, logging.KeyError: err}).
			Warn("starting contract chain failed")
		return fmt.Errorf("start chain of %s: %w", contract.ContractNo, err)
	}
	return nil
}

func accountNames(contracts []store.Contract) []string {
	seen := map[string]bool{}
	names := make([]string, 0, len(contracts))
	for _, c := range contracts {
		if !seen[c.AccountName] {
			seen[c.AccountName] = true
			names = append(names, c.AccountName)
		}
	}
	return names
}

// StartBankReconciliation starts the single reconciliation workflow unless
// it runs already.
func StartBankReconciliation(ctx context.Context, c client.Client, cfg *config.Config) error {
	opts := client.StartWorkflowOptions{
		ID:                       workflows.BankReconciliationID,
		TaskQueue:                cfg.ReconciliationTaskQueue(),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}
	if cfg.Temporal.SearchAttributes {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(attrKind.ValueSet("bank-reconciliation"))
	}
	_, err := c.ExecuteWorkflow(ctx, opts, workflows.BankReconciliationName, workflows.BankReconciliationInput{
		PollInterval: cfg.Payment.PollInterval,
	})
	if err != nil {
		return fmt.Errorf("start bank reconciliation: %w", err)
	}
	return nil
}
