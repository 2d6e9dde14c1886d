package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// Template names used when the rules leave them empty.
const (
	defaultRenewalTaskTemplate       = "renewal_task"
	defaultRenewalSMSTemplate        = "renewal_sms"
	defaultRenewalEscalationTemplate = "renewal_escalation"
)

// maxRenewalNotes bounds RenewalStatus.Notes; older notes are dropped.
const maxRenewalNotes = 50

// Renewal reminds about the end of one contract term and follows the
// reminder until the contract is renewed, cancelled or ends.
//
// It fixes its rules version when it starts. At the reminder moment
// (renewals.notice_before before the start of the end date's working day)
// it opens a task for the customer success manager, sends the customer's
// contact an SMS and tags the customer red. Without an action within
// renewals.act_within, it opens one escalation task for the role in
// renewals.escalate_to. There is no second level: the escalated reminder
// waits for action, renewal, cancellation or a new end date until the
// contract expires, and then ends as lapsed with the red tag kept.
//
// A renewal with a new end date continues as new for the next term under
// the newest rules. A changed end date moves the reminder of the running
// workflow; after the reminder fired, a later end date whose reminder
// moment is still ahead clears the tag and closes the tasks, and the
// reminder fires again at the new moment.
func Renewal(ctx workflow.Context, in RenewalInput) (RenewalStatus, error) {
	r, err := newRenewal(ctx, in)
	if err != nil {
		return RenewalStatus{}, err
	}
	return r.run(ctx)
}

// renewal is the state of one Renewal run.
type renewal struct {
	in     RenewalInput
	id     string
	status RenewalStatus
	doc    rules.Document
	// schedule is the reminder moment and expiry of the current end date.
	schedule activities.RenewalSchedule
	logger   log.Logger

	acts  *activities.CustomerActivities
	rules *activities.RulesActivities
	tasks *activities.TaskActivities

	endDateCh   workflow.ReceiveChannel
	actedCh     workflow.ReceiveChannel
	renewedCh   workflow.ReceiveChannel
	cancelledCh workflow.ReceiveChannel
	taskCh      workflow.ReceiveChannel

	// taskIDs are the renewal and escalation tasks of the current
	// reminder; completing one of them counts as acting on it.
	taskIDs []int64

	// Set by signals, consumed by the main loop.
	endDateChange *EndDateChange
	acted         *RenewalActed
	renewed       *RenewalRenewed
	cancelled     *ContractCancelled
}

func newRenewal(ctx workflow.Context, in RenewalInput) (*renewal, error) {
	if in.ContractNo == "" || in.Customer == "" {
		return nil, fmt.Errorf("renewal input needs a contract number and a customer, got %q and %q", in.ContractNo, in.Customer)
	}
	if in.Cycle <= 0 {
		in.Cycle = 1
	}
	r := &renewal{
		in:     in,
		id:     workflow.GetInfo(ctx).WorkflowExecution.ID,
		logger: workflow.GetLogger(ctx),
		status: RenewalStatus{
			ContractNo: in.ContractNo, Customer: in.Customer, Cycle: in.Cycle,
			State: store.RenewalScheduled, EndDate: in.EndDate,
		},
		endDateCh:   workflow.GetSignalChannel(ctx, SignalEndDateChanged),
		actedCh:     workflow.GetSignalChannel(ctx, SignalRenewalActed),
		renewedCh:   workflow.GetSignalChannel(ctx, SignalRenewalRenewed),
		cancelledCh: workflow.GetSignalChannel(ctx, SignalContractCancelled),
		taskCh:      workflow.GetSignalChannel(ctx, SignalTaskCompleted),
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (RenewalStatus, error) {
		return r.status, nil
	}); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	return r, nil
}

func (r *renewal) subject() string { return "contract:" + r.in.ContractNo }

func (r *renewal) run(ctx workflow.Context) (RenewalStatus, error) {
	if err := r.loadRules(ctx); err != nil {
		return r.status, err
	}
	r.drainSignals(ctx)
	endDate := r.in.EndDate
	if r.endDateChange != nil {
		endDate = r.endDateChange.EndDate
		r.endDateChange = nil
	}
	if r.renewed == nil && r.cancelled == nil {
		if endDate.IsZero() {
			r.note(ctx, "no end date: nothing to remind about")
			return r.status, nil
		}
		if err := r.setSchedule(ctx, endDate); err != nil {
			return r.status, err
		}
		r.record(ctx, store.RenewalScheduled)
	}

	for {
		r.drainSignals(ctx)
		switch {
		case r.cancelled != nil:
			return r.finishCancelled(ctx)
		case r.renewed != nil:
			return r.finishRenewed(ctx)
		case r.endDateChange != nil:
			if err := r.applyEndDateChange(ctx); err != nil {
				return r.status, err
			}
			continue
		case r.acted != nil:
			r.recordActed(ctx)
			continue
		}

		now := workflow.Now(ctx)
		if !now.Before(r.schedule.ExpiresAt) {
			return r.finishLapsed(ctx)
		}
		switch r.status.State {
		case store.RenewalScheduled:
			if r.wait(ctx, minTime(r.schedule.RemindAt, r.schedule.ExpiresAt)) && workflow.Now(ctx).Before(r.schedule.ExpiresAt) {
				if err := r.remind(ctx); err != nil {
					return r.status, err
				}
			}
		case store.RenewalReminded:
			until := r.schedule.ExpiresAt
			if r.status.ActBy != nil {
				until = minTime(*r.status.ActBy, until)
			}
			if r.wait(ctx, until) && workflow.Now(ctx).Before(r.schedule.ExpiresAt) {
				r.escalate(ctx)
			}
		default: // acted or escalated: wait for the end of the term
			r.wait(ctx, r.schedule.ExpiresAt)
		}
	}
}

// loadRules fixes the rules version of the run.
func (r *renewal) loadRules(ctx workflow.Context) error {
	var version activities.RulesVersion
	lctx := localRulesContext(ctx)
	if err := workflow.ExecuteLocalActivity(lctx, r.rules.Rules, activities.RulesRequest{Version: r.in.RulesVersion}).Get(lctx, &version); err != nil {
		return fmt.Errorf("read rules version %d for the renewal of %s: %w", r.in.RulesVersion, r.in.ContractNo, err)
	}
	r.doc = version.Document
	r.status.RulesVersion = version.Version
	return nil
}

// setSchedule computes the reminder moment and expiry of endDate.
func (r *renewal) setSchedule(ctx workflow.Context, endDate time.Time) error {
	var schedule activities.RenewalSchedule
	lctx := localRulesContext(ctx)
	err := workflow.ExecuteLocalActivity(lctx, r.acts.ScheduleRenewal, activities.RenewalScheduleRequest{
		ContractNo: r.in.ContractNo, EndDate: endDate,
		NoticeBefore: r.doc.Renewals.NoticeBefore, Calendar: r.doc.Calendar,
	}).Get(lctx, &schedule)
	if err != nil {
		return fmt.Errorf("schedule the renewal reminder of %s: %w", r.in.ContractNo, err)
	}
	r.schedule = schedule
	r.status.EndDate = schedule.EndDate
	remindAt, expiresAt := schedule.RemindAt, schedule.ExpiresAt
	r.status.RemindAt, r.status.ExpiresAt = &remindAt, &expiresAt
	return nil
}

// wait blocks until the moment passes or a signal arrives.
func (r *renewal) wait(ctx workflow.Context, moment time.Time) bool {
	return waitUntil(ctx, moment, func(selector workflow.Selector) {
		selector.AddReceive(r.endDateCh, func(ch workflow.ReceiveChannel, _ bool) { r.receiveEndDate(ctx, ch) })
		selector.AddReceive(r.actedCh, func(ch workflow.ReceiveChannel, _ bool) { r.receiveActed(ctx, ch) })
		selector.AddReceive(r.renewedCh, func(ch workflow.ReceiveChannel, _ bool) { r.receiveRenewed(ctx, ch) })
		selector.AddReceive(r.cancelledCh, func(ch workflow.ReceiveChannel, _ bool) { r.receiveCancelled(ctx, ch) })
		selector.AddReceive(r.taskCh, func(ch workflow.ReceiveChannel, _ bool) { r.receiveTaskCompleted(ctx, ch) })
	})
}

// drainSignals handles every signal that is waiting, without blocking.
func (r *renewal) drainSignals(ctx workflow.Context) {
	for {
		selector := workflow.NewSelector(ctx)
		received := false
		mark := func() { received = true }
		selector.AddReceive(r.endDateCh, func(ch workflow.ReceiveChannel, _ bool) { mark(); r.receiveEndDate(ctx, ch) })
		selector.AddReceive(r.actedCh, func(ch workflow.ReceiveChannel, _ bool) { mark(); r.receiveActed(ctx, ch) })
		selector.AddReceive(r.renewedCh, func(ch workflow.ReceiveChannel, _ bool) { mark(); r.receiveRenewed(ctx, ch) })
		selector.AddReceive(r.cancelledCh, func(ch workflow.ReceiveChannel, _ bool) { mark(); r.receiveCancelled(ctx, ch) })
		selector.AddReceive(r.taskCh, func(ch workflow.ReceiveChannel, _ bool) { mark(); r.receiveTaskCompleted(ctx, ch) })
		selector.AddDefault(func() {})
		selector.Select(ctx)
		if !received {
			return
		}
	}
}

func (r *renewal) receiveEndDate(ctx workflow.Context, ch workflow.ReceiveChannel) {
	var change EndDateChange
	ch.Receive(ctx, &change)
	if change.EndDate.IsZero() {
		r.note(ctx, fmt.Sprintf("ignored an end date change by %s without a date", orUnknown(change.By)))
		return
	}
	r.endDateChange = &change
}

func (r *renewal) receiveActed(ctx workflow.Context, ch workflow.ReceiveChannel) {
	var acted RenewalActed
	ch.Receive(ctx, &acted)
	r.onActed(ctx, acted)
}

func (r *renewal) receiveTaskCompleted(ctx workflow.Context, ch workflow.ReceiveChannel) {
	var done TaskCompletion
	ch.Receive(ctx, &done)
	if done.Subject != r.subject() || (done.Kind != activities.TaskRenewal && done.Kind != activities.TaskRenewalEscalation) {
		return
	}
	// A task of an earlier reminder, closed when the end date moved, does
	// not act on this one. Without recorded IDs (opening failed) the kind
	// and subject decide.
	if len(r.taskIDs) > 0 && !slices.Contains(r.taskIDs, done.TaskID) {
		r.note(ctx, fmt.Sprintf("ignored the completion of task %d by %s, which belongs to an earlier reminder", done.TaskID, orUnknown(done.By)))
		return
	}
	r.onActed(ctx, RenewalActed{By: done.By, Note: done.Note})
}

// onActed keeps an action on a reminder that was sent and not acted on
// yet. An action before the reminder, or a second one, is only noted.
func (r *renewal) onActed(ctx workflow.Context, acted RenewalActed) {
	switch r.status.State {
	case store.RenewalReminded, store.RenewalEscalated:
		r.acted = &acted
	case store.RenewalScheduled:
		r.note(ctx, fmt.Sprintf("%s acted before the reminder was sent; the reminder still fires", orUnknown(acted.By)))
	default:
		r.note(ctx, fmt.Sprintf("%s acted again; already acted on by %s", orUnknown(acted.By), orUnknown(r.status.ActedBy)))
	}
}

func (r *renewal) receiveRenewed(ctx workflow.Context, ch workflow.ReceiveChannel) {
	var renewed RenewalRenewed
	ch.Receive(ctx, &renewed)
	if renewed.NewEndDate != nil && renewed.NewEndDate.IsZero() {
		renewed.NewEndDate = nil
	}
	if r.renewed == nil {
		r.renewed = &renewed
	}
}

func (r *renewal) receiveCancelled(ctx workflow.Context, ch workflow.ReceiveChannel) {
	var cancelled ContractCancelled
	ch.Receive(ctx, &cancelled)
	if r.cancelled == nil {
		r.cancelled = &cancelled
	}
}

// applyEndDateChange moves the reminder to the new end date. Before the
// reminder fired, the new moment replaces the old one. After it fired, a
// new end date whose reminder moment is still ahead re-arms the reminder.
// Otherwise the reminder that fired is kept and only the expiry moves.
func (r *renewal) applyEndDateChange(ctx workflow.Context) error {
	change := *r.endDateChange
	r.endDateChange = nil
	old := r.schedule
	if sameDate(change.EndDate, old.EndDate) {
		return nil
	}
	if err := r.setSchedule(ctx, change.EndDate); err != nil {
		return err
	}
	r.note(ctx, fmt.Sprintf("%s moved the end date from %s to %s", orUnknown(change.By),
		old.EndDate.Format(time.DateOnly), r.schedule.EndDate.Format(time.DateOnly)))

	if r.status.State != store.RenewalScheduled && r.schedule.RemindAt.After(workflow.Now(ctx)) {
		reason := "end date moved to " + r.schedule.EndDate.Format(time.DateOnly)
		r.untag(ctx, reason)
		r.closeTasks(ctx, reason)
		r.status.State = store.RenewalScheduled
		r.status.Owner = ""
		r.status.RemindedAt, r.status.ActBy, r.status.ActedAt, r.status.EscalatedAt = nil, nil, nil, nil
		r.status.ActedBy, r.status.EscalatedTo = "", ""
		r.taskIDs = nil
	}
	r.record(ctx, r.status.State)
	return nil
}

// remind sends the reminder: a task for the customer success manager, an
// SMS to the customer's contact and a red tag on the customer.
func (r *renewal) remind(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	actWithin := r.doc.Renewals.ActWithin
	r.status.RemindedAt = &now
	r.status.ActBy = nil
	if actWithin.Within > 0 {
		var deadline activities.DeadlineResult
		lctx := localRulesContext(ctx)
		err := workflow.ExecuteLocalActivity(lctx, r.rules.Deadline, activities.DeadlineRequest{
			Start: now, Within: actWithin.Within, Hours: actWithin.Hours, RulesVersion: r.status.RulesVersion,
		}).Get(lctx, &deadline)
		if err != nil {
			return fmt.Errorf("compute the act-within deadline of %s: %w", r.in.ContractNo, err)
		}
		actBy := deadline.Deadline
		r.status.ActBy = &actBy
	} else {
		r.note(ctx, "rules set no renewals.act_within: the reminder does not escalate")
	}
	r.status.State = store.RenewalReminded
	r.record(ctx, store.RenewalReminded)
	r.tag(ctx)

	contact := r.lookUpContact(ctx)
	params := r.params(contact)
	moment := r.schedule.RemindAt
	if manager, ok := r.doc.People.Role(rules.RoleCustomerSuccess); ok {
		r.status.Owner = manager.Name
		r.openTask(ctx, activities.TaskRequest{
			Key: notificationKey(r.id, "renewal-task", moment), Kind: activities.TaskRenewal,
			Assignee: manager.Name, AssigneeRole: rules.RoleCustomerSuccess, Email: manager.Email, Phone: manager.Phone,
			Subject: r.subject(), Template: orDefault(r.doc.Renewals.TaskTemplate, defaultRenewalTaskTemplate),
			Params: params, Due: r.status.ActBy,
		})
	} else {
		r.note(ctx, "no customer success manager in people.roles."+rules.RoleCustomerSuccess+": the renewal task was not opened")
	}
	if contact.ContactPhone != "" {
		r.openTask(ctx, activities.TaskRequest{
			Key: notificationKey(r.id, "customer-sms", moment), Kind: activities.TaskCustomerSMS,
			Assignee: orDefault(contact.ContactName, r.in.Customer), AssigneeRole: "customer", Phone: contact.ContactPhone,
			Subject: r.subject(), Template: orDefault(r.doc.Renewals.SMSTemplate, defaultRenewalSMSTemplate),
			Params: params, Channels: []string{"sms"},
		})
	} else {
		r.note(ctx, "customer "+r.in.Customer+" has no contact phone: the renewal SMS was not sent")
	}
	r.logger.Info("Renewal reminder sent", "ContractNo", r.in.ContractNo, "RemindAt", moment)
	return nil
}

// escalate opens the escalation task one level up and marks the renewal
// escalated. When no person holds the escalation role, that is noted and
// the renewal is marked escalated all the same, so it is not escalated
// again.
func (r *renewal) escalate(ctx workflow.Context) {
	now := workflow.Now(ctx)
	r.status.State = store.RenewalEscalated
	r.status.EscalatedAt = &now
	role := r.doc.Renewals.EscalateTo
	person, ok := r.escalationTarget(ctx, role)
	if ok {
		r.status.EscalatedTo = person.Name
		r.openTask(ctx, activities.TaskRequest{
			Key: notificationKey(r.id, "renewal-escalation", r.schedule.RemindAt), Kind: activities.TaskRenewalEscalation,
			Assignee: person.Name, AssigneeRole: role, Email: person.Email, Phone: person.Phone,
			Subject:  r.subject(),
			Template: orDefault(r.doc.Renewals.ActWithin.EscalationTemplate, defaultRenewalEscalationTemplate),
			Params:   r.params(activities.CustomerContact{}),
			Due:      &r.schedule.ExpiresAt,
		})
	}
	r.record(ctx, store.RenewalEscalated)
	r.logger.Info("Renewal reminder escalated", "ContractNo", r.in.ContractNo, "EscalatedTo", r.status.EscalatedTo)
}

// escalationTarget resolves the role of renewals.escalate_to, reading the
// sales agent's manager for "supervisor".
func (r *renewal) escalationTarget(ctx workflow.Context, role string) (rules.Person, bool) {
	if role == "" {
		r.note(ctx, "rules set no renewals.escalate_to: nobody to escalate to")
		return rules.Person{}, false
	}
	if role == rules.RoleSupervisor {
		manager := r.lookUpContact(ctx).AgentManager
		if manager == "" {
			r.note(ctx, "sales agent "+orUnknown(r.in.SalesAgent)+" has no manager in the sales team data: nobody to escalate to")
			return rules.Person{}, false
		}
		return r.doc.People.Person(manager), true
	}
	person, ok := r.doc.People.Role(role)
	if !ok {
		r.note(ctx, "nobody holds people.roles."+role+": nobody to escalate to")
	}
	return person, ok
}

// recordActed stops the escalation and closes the open renewal tasks.
func (r *renewal) recordActed(ctx workflow.Context) {
	acted := *r.acted
	r.acted = nil
	now := workflow.Now(ctx)
	r.status.State = store.RenewalActed
	r.status.ActedAt = &now
	r.status.ActedBy = orUnknown(acted.By)
	if acted.Note != "" {
		r.note(ctx, r.status.ActedBy+" acted: "+acted.Note)
	}
	r.closeTasks(ctx, "acted on by "+r.status.ActedBy)
	r.record(ctx, store.RenewalActed)
}

func (r *renewal) finishCancelled(ctx workflow.Context) (RenewalStatus, error) {
	reason := "contract cancelled by " + orUnknown(r.cancelled.By)
	if r.cancelled.Reason != "" {
		reason += ": " + r.cancelled.Reason
	}
	r.note(ctx, reason)
	r.untag(ctx, reason)
	r.closeTasks(ctx, reason)
	r.status.State = store.RenewalCancelled
	r.record(ctx, store.RenewalCancelled)
	return r.status, nil
}

// finishRenewed ends the term. A renewal with a new end date continues as
// new, so the next term runs under the newest rules with a short history.
func (r *renewal) finishRenewed(ctx workflow.Context) (RenewalStatus, error) {
	renewed := *r.renewed
	reason := "contract renewed by " + orUnknown(renewed.By)
	r.untag(ctx, reason)
	r.closeTasks(ctx, reason)
	r.status.State = store.RenewalRenewed
	if renewed.NewEndDate == nil {
		r.note(ctx, reason+" without a new end date")
		r.record(ctx, store.RenewalRenewed)
		return r.status, nil
	}
	next := *renewed.NewEndDate
	r.note(ctx, reason+" until "+next.Format(time.DateOnly))
	r.recordWith(ctx, activities.RenewalRecord{ContractNo: r.in.ContractNo, State: store.RenewalRenewed, EndDate: &next})

	// Signals that arrived during the last steps would be lost by
	// continuing as new: a cancellation ends the renewal here, a newer end
	// date goes to the next term.
	r.drainSignals(ctx)
	if r.cancelled != nil {
		return r.finishCancelled(ctx)
	}
	if r.endDateChange != nil {
		next = r.endDateChange.EndDate
	}
	input := r.in
	input.EndDate = next
	input.RulesVersion = 0
	input.Cycle = r.in.Cycle + 1
	return r.status, workflow.NewContinueAsNewError(ctx, Renewal, input)
}

// finishLapsed ends a term that expired without a renewal. The red tag
// stays, noting that the contract ended, until someone renews it.
func (r *renewal) finishLapsed(ctx workflow.Context) (RenewalStatus, error) {
	reason := "contract ended on " + r.schedule.EndDate.Format(time.DateOnly) + " without a renewal"
	r.note(ctx, reason)
	if r.status.RemindedAt != nil {
		r.tagWith(ctx, reason)
	}
	r.closeTasks(ctx, reason)
	r.status.State = store.RenewalLapsed
	r.record(ctx, store.RenewalLapsed)
	return r.status, nil
}

func (r *renewal) params(contact activities.CustomerContact) map[string]string {
	params := map[string]string{
		"contract_no": r.in.ContractNo,
		"customer":    r.in.Customer,
		"end_date":    r.schedule.EndDate.Format(time.DateOnly),
		"sales_agent": r.in.SalesAgent,
	}
	if r.status.ActBy != nil {
		params["act_by"] = r.status.ActBy.UTC().Format(time.RFC3339)
	}
	if contact.ContactName != "" {
		params["contact_name"] = contact.ContactName
	}
	if contact.ContactPhone != "" {
		params["contact_phone"] = contact.ContactPhone
	}
	return params
}

// lookUpContact reads the customer's contact; a failure is noted and
// gives an empty contact.
func (r *renewal) lookUpContact(ctx workflow.Context) activities.CustomerContact {
	var contact activities.CustomerContact
	actx := sideEffectContext(ctx)
	err := workflow.ExecuteActivity(actx, r.acts.LookUpCustomerContact, activities.CustomerContactRequest{
		Customer: r.in.Customer, SalesAgent: r.in.SalesAgent,
	}).Get(actx, &contact)
	if err != nil {
		r.failed(ctx, "read the contact of customer "+r.in.Customer, err)
	}
	return contact
}

func (r *renewal) openTask(ctx workflow.Context, request activities.TaskRequest) {
	var result activities.TaskResult
	actx := sideEffectContext(ctx)
	if err := workflow.ExecuteActivity(actx, r.tasks.OpenTask, request).Get(actx, &result); err != nil {
		r.failed(ctx, "open the "+request.Kind+" task for "+request.Assignee, err)
		return
	}
	if request.Kind != activities.TaskCustomerSMS && result.TaskID != 0 {
		r.taskIDs = append(r.taskIDs, result.TaskID)
	}
}

func (r *renewal) closeTasks(ctx workflow.Context, resolution string) {
	actx := sideEffectContext(ctx)
	err := workflow.ExecuteActivity(actx, r.tasks.CloseTasks, activities.CloseTasksRequest{
		Subject: r.subject(), Kinds: []string{activities.TaskRenewal, activities.TaskRenewalEscalation}, Resolution: resolution,
	}).Get(actx, nil)
	if err != nil {
		r.failed(ctx, "close the renewal tasks", err)
	}
}

func (r *renewal) tag(ctx workflow.Context) {
	r.tagWith(ctx, "contract "+r.in.ContractNo+" ends on "+r.schedule.EndDate.Format(time.DateOnly))
}

func (r *renewal) tagWith(ctx workflow.Context, note string) {
	actx := sideEffectContext(ctx)
	err := workflow.ExecuteActivity(actx, r.acts.TagCustomer, activities.TagRequest{
		Customer: r.in.Customer, Tag: store.TagRenewalDue, Color: store.ColorRed, Source: r.subject(),
		Note: note, At: workflow.Now(ctx),
	}).Get(actx, nil)
	if err != nil {
		r.failed(ctx, "tag customer "+r.in.Customer, err)
	}
}

func (r *renewal) untag(ctx workflow.Context, reason string) {
	actx := sideEffectContext(ctx)
	err := workflow.ExecuteActivity(actx, r.acts.UntagCustomer, activities.UntagRequest{
		Customer: r.in.Customer, Tag: store.TagRenewalDue, Source: r.subject(), Reason: reason, At: workflow.Now(ctx),
	}).Get(actx, nil)
	if err != nil {
		r.failed(ctx, "clear the tag of customer "+r.in.Customer, err)
	}
}

// record stores the renewal state with the current schedule.
func (r *renewal) record(ctx workflow.Context, state string) {
	endDate, remindAt := r.schedule.EndDate, r.schedule.RemindAt
	record := activities.RenewalRecord{ContractNo: r.in.ContractNo, State: state}
	if !endDate.IsZero() {
		record.EndDate, record.RemindAt = &endDate, &remindAt
	}
	r.recordWith(ctx, record)
}

func (r *renewal) recordWith(ctx workflow.Context, record activities.RenewalRecord) {
	actx := sideEffectContext(ctx)
	if err := workflow.ExecuteActivity(actx, r.acts.RecordRenewal, record).Get(actx, nil); err != nil {
		r.failed(ctx, "record renewal state "+record.State, err)
	}
}

// failed logs a step that failed after its retries and notes it in the
// status, where the API and CLI show it.
func (r *renewal) failed(ctx workflow.Context, step string, err error) {
	r.logger.Error("Renewal step failed", "ContractNo", r.in.ContractNo, "Step", step, "Error", err)
	r.note(ctx, "failed to "+step+": "+err.Error())
}

func (r *renewal) note(ctx workflow.Context, text string) {
	r.status.Notes = append(r.status.Notes, RenewalNote{At: workflow.Now(ctx), Text: text})
	if len(r.status.Notes) > maxRenewalNotes {
		r.status.Notes = r.status.Notes[len(r.status.Notes)-maxRenewalNotes:]
	}
}

func sameDate(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func orUnknown(name string) string {
	return orDefault(name, "someone")
}
