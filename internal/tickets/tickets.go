// Package tickets opens cross-department tickets and starts their
// workflows. A ticket is stored first and started from there, so a ticket
// whose start failed, because Temporal was unreachable or the process
// died in between, is started by the next pass of the Starter.
package tickets

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

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/passloop"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// keyTicketID is the log field of a ticket's ID.
const keyTicketID = "ticket_id"

// ErrNotStarted means a ticket was stored but its workflow did not start;
// the Starter's loop starts it later.
var ErrNotStarted = errors.New("ticket stored, workflow not started yet")

// Starter opens tickets and starts the workflows of stored ones.
type Starter struct {
	Store     *store.Store
	Client    client.Client
	TaskQueue string
	Logger    *logrus.Logger

	loop passloop.Loop
	pass sync.Mutex
}

// Kick wakes the running loop to start unstarted tickets now.
func (s *Starter) Kick() { s.loop.Kick() }

// Run starts unstarted tickets every interval and on Kick, until ctx ends.
func (s *Starter) Run(ctx context.Context, interval time.Duration) {
	s.loop.Run(ctx, interval, s.Logger, "starting pending ticket workflows", func(ctx context.Context) error {
		_, err := s.StartPending(ctx)
		return err
	})
}

// Open stores a new ticket and starts its workflow. When the start fails
// the ticket stays stored, the loop starts it later, and the error wraps
// ErrNotStarted.
func (s *Starter) Open(ctx context.Context, ticket *store.Ticket) error {
	if err := store.InsertTicket(ctx, s.Store.DB, ticket); err != nil {
		return err
	}
	if err := s.Start(ctx, ticket); err != nil {
		s.Kick()
		return fmt.Errorf("%w: %w", ErrNotStarted, err)
	}
	return nil
}

// StartPending starts every stored ticket without a workflow and returns
// how many it started.
func (s *Starter) StartPending(ctx context.Context) (int, error) {
	s.pass.Lock()
	defer s.pass.Unlock()
	started := 0
	for {
		pending, err := store.UnstartedTickets(ctx, s.Store.DB, 100)
		if err != nil || len(pending) == 0 {
			return started, err
		}
		for i := range pending {
			if err := s.Start(ctx, &pending[i]); err != nil {
				return started, err
			}
			started++
		}
	}
}

// Start starts the workflow of a stored ticket and records that it runs.
// An existing workflow with the same ID, running or closed, counts as
// started.
func (s *Starter) Start(ctx context.Context, ticket *store.Ticket) error {
	opts := client.StartWorkflowOptions{
		ID:                    workflows.TicketWorkflowID(ticket.ID),
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	_, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.TicketName, workflows.TicketInput{
		TicketID: ticket.ID, Customer: ticket.Customer, Title: ticket.Title, From: ticket.From, CreatedAt: ticket.CreatedAt,
	})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		s.Logger.WithFields(logrus.Fields{keyTicketID: ticket.ID, logging.KeyError: err}).Warn("starting ticket workflow failed")
		return fmt.Errorf("start the workflow of ticket %s: %w", ticket.ID, err)
	}
	at := time.Now()
	ticket.WorkflowStartedAt = &at
	return store.MarkTicketStarted(ctx, s.Store.DB, ticket.ID, at)
}
