package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// Approval routes a discount, price-change or renewal request through the
// approval levels that its amount selects in the rules, and writes an
// approved price change to the ERP.
//
// Each level waits for a decision until its timeout, then escalates once
// to the level's escalate_to person and waits the same time again. From
// then on the approver and the escalation target may both decide. When
// the escalation also times out, or the level names no escalate_to, the
// request ends as timed_out. Decisions arrive as the UpdateDecide update,
// whose validator rejects anybody but the level's deciders.
func Approval(ctx workflow.Context, in ApprovalInput) (ApprovalStatus, error) {
	f, err := newApprovalFlow(ctx, in)
	if err != nil {
		return ApprovalStatus{}, err
	}
	return f.run(ctx)
}

// approvalFlow is the state of one Approval run.
type approvalFlow struct {
	in     ApprovalInput
	status ApprovalStatus
	logger log.Logger
	// doc is the rules version fixed at the start; supervisor is the
	// requesting rep's manager.
	doc        rules.Document
	supervisor string
	startedAt  time.Time
	finishedAt *time.Time

	acts  *activities.ApprovalActivities
	rules *activities.RulesActivities
	tasks *activities.TaskActivities

	// pending is the decision accepted for the current level; nil until
	// one arrives.
	pending  *ApprovalDecision
	retryERP bool
}

func newApprovalFlow(ctx workflow.Context, in ApprovalInput) (*approvalFlow, error) {
	if err := validateApprovalInput(in); err != nil {
		return nil, err
	}
	in.Options = in.Options.withDefaults()
	f := &approvalFlow{
		in:        in,
		logger:    workflow.GetLogger(ctx),
		startedAt: workflow.GetInfo(ctx).WorkflowStartTime.UTC(),
		status: ApprovalStatus{
			ID: in.ID, Kind: in.Kind, State: store.ApprovalPending,
			Deciders: []string{}, Decisions: []ApprovalDecision{},
		},
	}
	if err := workflow.SetQueryHandler(ctx, QueryApprovalStatus, func() (ApprovalStatus, error) {
		return f.status, nil
	}); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide, f.decide, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, req DecideRequest) error { return f.validateDecision(req) },
	}); err != nil {
		return nil, fmt.Errorf("register decide update: %w", err)
	}
	retry := workflow.GetSignalChannel(ctx, SignalRetryERP)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var s RetryERPSignal
			retry.Receive(gctx, &s)
			f.logger.Info("ERP write retry requested", "By", s.By)
			f.retryERP = true
		}
	})
	return f, nil
}

// validateApprovalInput rejects a request that can never be routed.
func validateApprovalInput(in ApprovalInput) error {
	var problems []string
	require := func(ok bool, problem string) {
		if !ok {
			problems = append(problems, problem)
		}
	}
	require(strings.TrimSpace(in.ID) != "", "id is required")
	switch in.Kind {
	case store.ApprovalDiscount, store.ApprovalPriceChange, store.ApprovalRenewal:
	default:
		problems = append(problems, fmt.Sprintf("kind %q is not discount, price_change or renewal", in.Kind))
	}
	require(strings.TrimSpace(in.Customer) != "", "customer is required")
	require(strings.TrimSpace(in.RequestedBy) != "", "requested_by is required")
	require(in.Amount.IsPositive(), fmt.Sprintf("amount %s must be above 0", in.Amount))
	require(in.Currency != "", "currency is required")
	if in.Kind == store.ApprovalPriceChange {
		require(in.NewUnitPrice != nil && in.NewUnitPrice.IsPositive(), "new_unit_price above 0 is required for a price change")
		require(in.ProductNo != "", "product_no is required for a price change")
		require(in.CustomerNo != "", "customer_no is required for a price change")
	}
	if len(problems) == 0 {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("approval %s: %s", in.ID, strings.Join(problems, "; ")), activities.ErrTypeInput, nil)
}

func (o ApprovalOptions) withDefaults() ApprovalOptions {
	if o.ActivityTimeout <= 0 {
		o.ActivityTimeout = 30 * time.Second
	}
	if o.RetryMaxAttempts <= 0 {
		o.RetryMaxAttempts = 5
	}
	if o.RetryMaxInterval <= 0 {
		o.RetryMaxInterval = time.Minute
	}
	return o
}

func (f *approvalFlow) run(ctx workflow.Context) (ApprovalStatus, error) {
	if err := f.route(ctx); err != nil {
		return f.fail(ctx, err)
	}
	outcome, err := f.walkLevels(ctx)
	if err != nil {
		return f.fail(ctx, err)
	}
	f.finish(ctx, outcome)
	if outcome == store.ApprovalApproved && f.in.Kind == store.ApprovalPriceChange {
		if err := f.writePriceChange(ctx); err != nil {
			return f.status, err
		}
	}
	// Running decide handlers finish first, so a decision that arrives
	// while the workflow ends still gets its result.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return f.status, err
	}
	return f.status, nil
}

// route fixes the rules version, converts the amount and chooses the
// route.
func (f *approvalFlow) route(ctx workflow.Context) error {
	var version activities.RulesVersion
	err := workflow.ExecuteLocalActivity(localActivityCtx(ctx), f.rules.Rules,
		activities.RulesRequest{Version: f.in.RulesVersion}).Get(ctx, &version)
	if err != nil {
		return fmt.Errorf("read rules version %d: %w", f.in.RulesVersion, err)
	}
	f.doc = version.Document
	f.status.RulesVersion = version.Version
	f.status.RuleCurrency = f.doc.Approvals.Currency
	if f.status.RuleCurrency == "" {
		f.status.RuleCurrency = f.in.Currency
	}

	var prepared activities.PrepareApprovalResult
	err = workflow.ExecuteLocalActivity(localActivityCtx(ctx), f.acts.PrepareApproval, activities.PrepareApprovalInput{
		ApprovalID: f.in.ID, Amount: f.in.Amount, Currency: f.in.Currency,
		RuleCurrency: f.status.RuleCurrency, RequestedBy: f.in.RequestedBy,
	}).Get(ctx, &prepared)
	if err != nil {
		return err
	}
	f.status.AmountInRuleCurrency = prepared.AmountInRuleCurrency
	f.status.ExchangeRate = prepared.ExchangeRate
	f.supervisor = prepared.Supervisor

	route, err := SelectApprovalRoute(f.doc.Approvals, prepared.AmountInRuleCurrency, f.status.RuleCurrency)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("approval %s under rules version %d: %v", f.in.ID, version.Version, err), activities.ErrTypeInput, nil)
	}
	f.status.Route = &route
	f.logger.Info("Approval routed", "Route", route.Description, "RulesVersion", version.Version)
	f.record(ctx)
	return nil
}

// SelectApprovalRoute returns the first route whose UpTo is at least
// amount, or the last route when it has no UpTo. Routes must be in
// ascending order of UpTo, as the rules document requires.
func SelectApprovalRoute(approvals rules.Approvals, amount decimal.Decimal, currency string) (ApprovalRoute, error) {
	if len(approvals.Routes) == 0 {
		return ApprovalRoute{}, errors.New("the rules have no approval routes: add approvals.routes")
	}
	lower := ""
	for i, r := range approvals.Routes {
		if r.UpTo != nil && amount.GreaterThan(*r.UpTo) {
			lower = r.UpTo.String()
			continue
		}
		route := ApprovalRoute{Index: i, UpTo: r.UpTo, Levels: r.Levels}
		switch {
		case r.UpTo != nil:
			route.Description = fmt.Sprintf("up to %s %s", r.UpTo.String(), currency)
		case lower != "":
			route.Description = fmt.Sprintf("above %s %s", lower, currency)
		default:
			route.Description = "any amount"
		}
		roles := make([]string, len(r.Levels))
		for j, level := range r.Levels {
			roles[j] = level.Role
		}
		if len(roles) == 0 {
			route.Description += ": no approval needed"
		} else {
			route.Description += ": " + strings.Join(roles, " then ")
		}
		return route, nil
	}
	return ApprovalRoute{}, fmt.Errorf("amount %s %s is above the last route's up_to %s: end approvals.routes with a route without up_to",
		amount.String(), currency, lower)
}

// walkLevels runs the route's levels in order and returns the outcome.
func (f *approvalFlow) walkLevels(ctx workflow.Context) (string, error) {
	levels := f.status.Route.Levels
	for i := range levels {
		decision, err := f.runLevel(ctx, i)
		if err != nil {
			return "", err
		}
		if decision == nil {
			f.closeTasks(ctx, fmt.Sprintf("level %d timed out", i+1))
			return store.ApprovalTimedOut, nil
		}
		f.closeTasks(ctx, fmt.Sprintf("level %d: %s by %s", i+1, decision.Decision, decision.By))
		if decision.Decision == store.DecisionReject {
			return store.ApprovalRejected, nil
		}
	}
	return store.ApprovalApproved, nil
}

// runLevel waits for the decision of level i, escalating once after the
// level's timeout. It returns nil when no decision came in time.
func (f *approvalFlow) runLevel(ctx workflow.Context, i int) (*ApprovalDecision, error) {
	level := f.status.Route.Levels[i]
	approver, err := f.resolve(level.Role, i)
	if err != nil {
		return nil, err
	}
	f.status.Level = i + 1
	f.status.Approver = approver.Name
	f.status.EscalatedTo = ""
	f.status.Deciders = []string{approver.Name}
	f.pending = nil

	decided, err := f.waitForDecision(ctx, level, approver, "approver")
	if err != nil || decided {
		return f.pending, err
	}
	if level.EscalateTo == "" {
		f.logger.Info("Approval level timed out without an escalation target", "Level", i+1)
		return nil, nil
	}
	target, err := f.resolve(level.EscalateTo, i)
	if err != nil {
		return nil, err
	}
	f.logger.Info("Approval level escalated", "Level", i+1, "From", approver.Name, "To", target.Name)
	f.status.EscalatedTo = target.Name
	if !containsName(f.status.Deciders, target.Name) {
		f.status.Deciders = append(f.status.Deciders, target.Name)
	}
	decided, err = f.waitForDecision(ctx, level, target, "escalation")
	if err != nil || decided {
		return f.pending, err
	}
	return nil, nil
}

// waitForDecision opens the task for person and waits until a decision
// arrives or the level's timeout, counted from now, passes. It reports
// whether a decision arrived. A level without a timeout waits without
// limit.
func (f *approvalFlow) waitForDecision(ctx workflow.Context, level rules.Level, person rules.Person, purpose string) (bool, error) {
	var due *time.Time
	if level.Timeout > 0 {
		hours := level.Hours
		if hours == "" {
			hours = rules.CalendarHours
		}
		var deadline activities.DeadlineResult
		err := workflow.ExecuteLocalActivity(localActivityCtx(ctx), f.rules.Deadline, activities.DeadlineRequest{
			Start: workflow.Now(ctx), Within: level.Timeout, Hours: hours, RulesVersion: f.status.RulesVersion,
		}).Get(ctx, &deadline)
		if err != nil {
			return false, fmt.Errorf("compute the deadline of level %d: %w", f.status.Level, err)
		}
		at := deadline.Deadline.UTC()
		due = &at
	}
	f.status.DueAt = due
	f.openTask(ctx, person, level, purpose, due)
	f.record(ctx)

	decided := func() bool { return f.pending != nil }
	if due == nil {
		return true, workflow.Await(ctx, decided)
	}
	if remaining := due.Sub(workflow.Now(ctx)); remaining > 0 {
		if _, err := workflow.AwaitWithTimeout(ctx, remaining, decided); err != nil {
			return false, err
		}
	}
	return decided(), nil
}

// resolve returns the person a level's role or escalation target names:
// the requesting rep's manager for "supervisor", the holder of a role
// listed in the rules, or else a person named directly.
func (f *approvalFlow) resolve(name string, level int) (rules.Person, error) {
	people := f.doc.People
	if name == rules.RoleSupervisor {
		if f.supervisor == "" {
			return rules.Person{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"approval %s: level %d needs the supervisor of %s, but the sales-team data names no manager for the rep",
				f.in.ID, level+1, f.in.RequestedBy), activities.ErrTypeInput, nil)
		}
		return people.Person(f.supervisor), nil
	}
	if person, ok := people.Role(name); ok {
		return person, nil
	}
	if _, isRole := people.Roles[name]; isRole || knownRole(name) {
		return rules.Person{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"approval %s: level %d needs the %s, but rules version %d has no person for that role: add one under people.roles",
			f.in.ID, level+1, name, f.status.RulesVersion), activities.ErrTypeInput, nil)
	}
	return people.Person(name), nil
}

func knownRole(name string) bool {
	switch name {
	case rules.RoleSalesDirector, rules.RoleCOO, rules.RoleFinance, rules.RoleCustomerSuccess, rules.RoleProduct:
		return true
	}
	return false
}

// openTask opens the task of person for the current level. Its key is
// the workflow ID, the level and the purpose, so a replay or a retry never
// opens a second task. A failure is logged and the wait goes on, because
// the person can still decide through the API.
func (f *approvalFlow) openTask(ctx workflow.Context, person rules.Person, level rules.Level, purpose string, due *time.Time) {
	workflowID := workflow.GetInfo(ctx).WorkflowExecution.ID
	template := f.doc.Approvals.Template
	if template == "" {
		template = DefaultApprovalTemplate
	}
	role := level.Role
	if purpose == "escalation" {
		role = level.EscalateTo
	}
	params := map[string]string{
		"approval_id":             f.in.ID,
		"kind":                    f.in.Kind,
		"customer":                f.in.Customer,
		"amount":                  f.in.Amount.StringFixed(2),
		"currency":                f.in.Currency,
		"amount_in_rule_currency": f.status.AmountInRuleCurrency.StringFixed(2),
		"rule_currency":           f.status.RuleCurrency,
		"requested_by":            f.in.RequestedBy,
		"reason":                  f.in.Reason,
		"level":                   fmt.Sprint(f.status.Level),
		"levels":                  fmt.Sprint(len(f.status.Route.Levels)),
		"purpose":                 purpose,
	}
	if purpose == "escalation" {
		params["escalated_from"] = f.status.Approver
	}
	if f.in.NewUnitPrice != nil {
		params["new_unit_price"] = f.in.NewUnitPrice.String()
		params["product"] = f.in.Product
	}
	request := activities.TaskRequest{
		Key:  fmt.Sprintf("%s/level-%d/%s", workflowID, f.status.Level, purpose),
		Kind: activities.TaskApproval, Assignee: person.Name, AssigneeRole: role,
		Email: person.Email, Phone: person.Phone, Subject: f.subject(),
		Template: template, Params: params, Due: due,
	}
	if err := workflow.ExecuteActivity(f.taskCtx(ctx), f.tasks.OpenTask, request).Get(ctx, nil); err != nil {
		f.logger.Error("Opening the approval task failed; the approver can still decide through the API",
			"Key", request.Key, "Assignee", person.Name, "Error", err)
	}
}

func (f *approvalFlow) closeTasks(ctx workflow.Context, resolution string) {
	request := activities.CloseTasksRequest{Subject: f.subject(), Kinds: []string{activities.TaskApproval}, Resolution: resolution}
	if err := workflow.ExecuteActivity(f.taskCtx(ctx), f.tasks.CloseTasks, request).Get(ctx, nil); err != nil {
		f.logger.Error("Closing approval tasks failed", "Subject", request.Subject, "Error", err)
	}
}

func (f *approvalFlow) subject() string { return "approval:" + f.in.ID }

// validateDecision rejects a decision before it enters the history. It
// reads the workflow's state only, as validators must.
func (f *approvalFlow) validateDecision(req DecideRequest) error {
	if f.status.State != store.ApprovalPending {
		return temporal.NewApplicationError(fmt.Sprintf("approval %s is already %s and takes no more decisions",
			f.in.ID, f.status.State), activities.ErrTypeConflict)
	}
	if req.Decision != store.DecisionApprove && req.Decision != store.DecisionReject {
		return temporal.NewApplicationError(fmt.Sprintf("unknown decision %q: use approve or reject", req.Decision), activities.ErrTypeInput)
	}
	if strings.TrimSpace(req.By) == "" {
		return temporal.NewApplicationError("by is required: name the person who decides", activities.ErrTypeInput)
	}
	return f.checkDecider(req)
}

// checkDecider rejects a decider who may not decide the current level now.
func (f *approvalFlow) checkDecider(req DecideRequest) error {
	if f.status.State != store.ApprovalPending {
		return temporal.NewApplicationError(fmt.Sprintf("approval %s is already %s and takes no more decisions",
			f.in.ID, f.status.State), activities.ErrTypeConflict)
	}
	if len(f.status.Deciders) == 0 {
		return temporal.NewApplicationError(fmt.Sprintf("approval %s is not waiting for a decision yet: retry in a moment",
			f.in.ID), activities.ErrTypeConflict)
	}
	if f.pending != nil {
		return temporal.NewApplicationError(fmt.Sprintf("level %d of approval %s was already decided (%s by %s)",
			f.pending.Level, f.in.ID, f.pending.Decision, f.pending.By), activities.ErrTypeConflict)
	}
	if !containsName(f.status.Deciders, req.By) {
		return temporal.NewApplicationError(fmt.Sprintf("%s may not decide approval %s: level %d (%s) can be decided only by %s",
			strings.TrimSpace(req.By), f.in.ID, f.status.Level, f.levelRole(), f.decidersText()), ErrTypeNotAllowed)
	}
	return nil
}

func (f *approvalFlow) levelRole() string {
	return f.status.Route.Levels[f.status.Level-1].Role
}

func (f *approvalFlow) decidersText() string {
	if f.status.EscalatedTo == "" || f.status.EscalatedTo == f.status.Approver {
		return f.status.Approver
	}
	return fmt.Sprintf("%s or %s, to whom it escalated after its timeout", f.status.Approver, f.status.EscalatedTo)
}

// decide is the UpdateDecide handler. It rejects an approval of a renewal
// while the customer's renewal approval is frozen. The check is a local
// activity, because the validator must not read the database.
func (f *approvalFlow) decide(ctx workflow.Context, req DecideRequest) (DecideResult, error) {
	if f.in.Kind == store.ApprovalRenewal && req.Decision == store.DecisionApprove {
		var freeze activities.FreezeResult
		err := workflow.ExecuteLocalActivity(localActivityCtx(ctx), f.acts.CheckRenewalFreeze,
			activities.FreezeCheck{ApprovalID: f.in.ID, Customer: f.in.Customer}).Get(ctx, &freeze)
		if err != nil {
			return DecideResult{}, temporal.NewApplicationError(fmt.Sprintf(
				"could not check whether the renewal approval of %s is frozen, retry the decision: %v", f.in.Customer, err), activities.ErrTypeConflict)
		}
		if freeze.Frozen {
			f.logger.Info("Renewal approval rejected while frozen", "By", req.By, "Reason", freeze.Reason)
			return DecideResult{}, temporal.NewApplicationError(fmt.Sprintf(
				"the renewal approval of customer %s is frozen: %s. Approve it after the freeze is lifted, or reject it",
				f.in.Customer, freeze.Reason), ErrTypeFrozen)
		}
		// The level may have been decided or ended while the check ran.
		if err := f.checkDecider(req); err != nil {
			return DecideResult{}, err
		}
	}

	decision := ApprovalDecision{
		Seq: len(f.status.Decisions) + 1, Level: f.status.Level, By: matchName(f.status.Deciders, req.By),
		Decision: req.Decision, Comment: req.Comment, At: workflow.Now(ctx).UTC(),
	}
	f.status.Decisions = append(f.status.Decisions, decision)
	f.pending = &decision
	f.logger.Info("Approval decision accepted", "Level", decision.Level, "Decision", decision.Decision, "By", decision.By)

	result := DecideResult{ApprovalID: f.in.ID, Level: decision.Level, Decision: decision.Decision, By: decision.By, State: store.ApprovalPending}
	switch {
	case decision.Decision == store.DecisionReject:
		result.State = store.ApprovalRejected
	case decision.Level >= len(f.status.Route.Levels):
		result.State = store.ApprovalApproved
	default:
		result.NextLevel = decision.Level + 1
		if next, err := f.resolve(f.status.Route.Levels[decision.Level].Role, decision.Level); err == nil {
			result.NextApprover = next.Name
		}
	}
	return result, nil
}

// finish records the outcome.
func (f *approvalFlow) finish(ctx workflow.Context, outcome string) {
	now := workflow.Now(ctx).UTC()
	f.status.State = outcome
	f.status.Deciders = []string{}
	f.status.DueAt = nil
	f.finishedAt = &now
	f.logger.Info("Approval finished", "State", outcome)
	f.record(ctx)
}

// fail records why the request could not be routed and ends the workflow
// with that error. A cancellation requested through Temporal is recorded
// the same way, from a disconnected context so the write still runs.
func (f *approvalFlow) fail(ctx workflow.Context, cause error) (ApprovalStatus, error) {
	recordCtx := ctx
	message := rootMessage(cause)
	if temporal.IsCanceledError(cause) || ctx.Err() != nil {
		recordCtx, _ = workflow.NewDisconnectedContext(ctx)
		message = "cancelled in Temporal"
	}
	now := workflow.Now(recordCtx).UTC()
	f.status.State = store.ApprovalFailed
	f.status.Failure = message
	f.status.Deciders = []string{}
	f.finishedAt = &now
	f.logger.Error("Approval failed", "Error", cause)
	f.closeTasks(recordCtx, "approval failed: "+message)
	f.record(recordCtx)
	if recordCtx != ctx {
		return f.status, temporal.NewCanceledError(f.status)
	}
	var appErr *temporal.ApplicationError
	if errors.As(cause, &appErr) {
		return f.status, cause
	}
	return f.status, temporal.NewNonRetryableApplicationError(message, activities.ErrTypeInput, cause)
}

// writePriceChange writes the approved price to the ERP. A failure that
// retries did not fix is recorded on the approval, which then waits for
// SignalRetryERP; the number derived from the approval ID makes every
// attempt find the document an earlier one wrote.
func (f *approvalFlow) writePriceChange(ctx workflow.Context) error {
	input := activities.PriceChangeInput{
		Customer: connectors.Customer{Number: f.in.CustomerNo, Name: f.in.Customer},
		Change: connectors.PriceChange{
			Number: numbering.PriceListNo(f.in.ID), ApprovalID: f.in.ID,
			CustomerNumber: f.in.CustomerNo, ProductNumber: f.in.ProductNo, Currency: f.in.Currency,
			UnitPrice: *f.in.NewUnitPrice, EffectiveFrom: *f.finishedAt,
			ContractNo: f.in.ContractNo, Reason: f.in.Reason,
		},
	}
	actCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: f.in.Options.ActivityTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: f.in.Options.RetryMaxInterval, MaximumAttempts: f.in.Options.RetryMaxAttempts,
		},
	})
	for {
		var doc connectors.Document
		err := workflow.ExecuteActivity(actCtx, f.acts.WritePriceChange, input).Get(ctx, &doc)
		if err == nil {
			f.status.ERPDocument = &doc
			f.status.ERPError = ""
			f.record(ctx)
			return nil
		}
		f.status.ERPError = rootMessage(err) + ". Fix the cause, then run: ordo approval retry-erp " + f.in.ID
		f.logger.Warn("ERP write of the approved price change failed; waiting for a retry request", "Error", err)
		f.record(ctx)
		f.retryERP = false
		if err := workflow.Await(ctx, func() bool { return f.retryERP }); err != nil {
			return err
		}
	}
}

// record writes the workflow's view to ordo's database through a local
// activity. A failure after the retries is logged and the workflow goes
// on: its own state stays right and the next record repairs the row.
func (f *approvalFlow) record(ctx workflow.Context) {
	lctx := localActivityCtx(ctx)
	if err := workflow.ExecuteLocalActivity(lctx, f.acts.RecordApproval, f.snapshot(ctx)).Get(lctx, nil); err != nil {
		f.logger.Error("Recording the approval failed", "State", f.status.State, "Error", err)
	}
}

// snapshot returns the approval's store row, built from the workflow's
// state.
func (f *approvalFlow) snapshot(ctx workflow.Context) store.Approval {
	in := f.in
	row := store.Approval{
		ID: in.ID, Kind: in.Kind, Customer: in.Customer, CustomerNo: in.CustomerNo, ContractNo: in.ContractNo,
		Product: in.Product, ProductNo: in.ProductNo, RequestedBy: in.RequestedBy,
		Amount: in.Amount, Currency: in.Currency, Reason: in.Reason,
		RuleCurrency: f.status.RuleCurrency, State: f.status.State, CurrentLevel: f.status.Level,
		Approver: f.status.Approver, EscalatedTo: f.status.EscalatedTo, DueAt: f.status.DueAt,
		ERPError: f.status.ERPError, Failure: f.status.Failure, RulesVersion: f.status.RulesVersion,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		CreatedAt:  f.startedAt, UpdatedAt: workflow.Now(ctx).UTC(), FinishedAt: f.finishedAt,
	}
	if in.NewUnitPrice != nil {
		row.NewUnitPrice = decimal.NullDecimal{Decimal: *in.NewUnitPrice, Valid: true}
	}
	if route := f.status.Route; route != nil {
		row.Route = route.Description
		row.LevelCount = len(route.Levels)
		row.AmountInRuleCurrency = decimal.NullDecimal{Decimal: f.status.AmountInRuleCurrency, Valid: true}
		row.ExchangeRate = decimal.NullDecimal{Decimal: f.status.ExchangeRate, Valid: true}
	}
	if f.status.ERPDocument != nil {
		row.ERPDocumentNo = f.status.ERPDocument.Number
	}
	for _, d := range f.status.Decisions {
		row.Decisions = append(row.Decisions, store.ApprovalDecision{
			ApprovalID: in.ID, Seq: d.Seq, Level: d.Level, By: d.By, Decision: d.Decision, Comment: d.Comment, DecidedAt: d.At,
		})
	}
	return row
}

func (f *approvalFlow) taskCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: f.in.Options.ActivityTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: f.in.Options.RetryMaxInterval, MaximumAttempts: f.in.Options.RetryMaxAttempts,
		},
	})
}

// localActivityCtx carries the options of the workflows' short local
// activities: attempts of 30 s, retried with backoff for up to ten
// minutes.
func localActivityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Minute,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
}

// containsName reports whether names holds name, ignoring case and
// surrounding spaces, as people type names.
func containsName(names []string, name string) bool {
	return matchName(names, name) != ""
}

// matchName returns the entry of names that name refers to, or "".
func matchName(names []string, name string) string {
	name = strings.TrimSpace(name)
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}
