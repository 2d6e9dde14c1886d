package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/leads"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// leadPipeline is a small pipeline with two Prospecting deals, one
// Engaging, one Won and one Lost.
const leadPipeline = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n" +
	"LDP00001,Moses Frase,GTX Pro,Cancity,Prospecting,,,\n" +
	"LDP00002,Anna Snelling,GTX Basic,,Prospecting,,,\n" +
	"LDE00001,Anna Snelling,GTX Basic,Bluth Company,Engaging,2017-05-02,,\n" +
	"LDW00001,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600\n" +
	"LDL00001,Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n"

// writeLeadExport writes an export with the sample's master data and the
// given pipeline to a new directory and returns it.
func writeLeadExport(t testing.TB, pipeline string) string {
	t.Helper()
	source := os.Getenv("ORDO_SAMPLE_EXPORT")
	if source == "" {
		source = filepath.Join("..", "..", "testdata", "crm-sales-opportunities")
	}
	dir := t.TempDir()
	for _, name := range crmimport.Files {
		data := []byte(pipeline)
		if name != crmimport.FilePipeline {
			var err error
			if data, err = os.ReadFile(filepath.Join(source, name)); err != nil {
				t.Skipf("sample export not found (set ORDO_SAMPLE_EXPORT to its directory): %v", err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
	}
	return dir
}

// importLeads uploads the export in dir as `ordo import crm` does and
// returns the final event of the response.
func importLeads(t testing.TB, c *apiclient.Client, dir string) api.ImportEvent {
	t.Helper()
	body, contentType := exportUpload(t, dir)
	var final *api.ImportEvent
	err := c.Stream(context.Background(), "/api/v1/imports/crm", contentType, body, func(line []byte) error {
		var event api.ImportEvent
		if err := json.Unmarshal(line, &event); err != nil {
			return fmt.Errorf("decode import event %s: %w", line, err)
		}
		if event.Type == "error" {
			return fmt.Errorf("import failed: %s", event.Error.Message)
		}
		if event.Type == "summary" {
			final = &event
		}
		return nil
	})
	if err != nil {
		t.Fatalf("import %s: %v", dir, err)
	}
	if final == nil {
		t.Fatalf("import %s ended without a summary event", dir)
	}
	return *final
}

// describeLeadWorkflow returns the status and the OrdoKind search
// attribute of a lead's workflow.
func describeLeadWorkflow(t testing.TB, c client.Client, leadID string) (enumspb.WorkflowExecutionStatus, string) {
	t.Helper()
	described, err := c.DescribeWorkflowExecution(context.Background(), numbering.LeadWorkflowID(leadID), "")
	if err != nil {
		t.Fatalf("describe the workflow of lead %s: %v", leadID, err)
	}
	info := described.GetWorkflowExecutionInfo()
	if got := info.GetType().GetName(); got != workflows.LeadSLAName {
		t.Errorf("workflow of lead %s is a %s, expected %s", leadID, got, workflows.LeadSLAName)
	}
	kind := ""
	if payload, ok := info.GetSearchAttributes().GetIndexedFields()["OrdoKind"]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(payload, &kind)
	}
	return info.GetStatus(), kind
}

// TestLeadWorkflowsStartOnImport imports a small export through the API
// and checks that every open lead gets a running LeadSLA workflow and that
// a second import starts none. It also checks that a contact is stored
// whatever the workflow does, and that the closing of a lead in the CRM
// is signalled to its workflow.
//
// NOTE: the rules and task activities are stubs on this branch, so the
// workflows started here wait at their first step, reading the rules;
// TestLeadSLAExactlyOnceAcrossRestart runs the workflow's timers.
func TestLeadWorkflowsStartOnImport(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{LocalActivities: true})
	temporalClient := s.TemporalClient()
	ctx := context.Background()

	first := importLeads(t, s.API, writeLeadExport(t, leadPipeline))
	// The lead starter's background pass may start some workflows while
	// the import runs, so the import's own count can be lower.
	if first.Summary.Leads.Created != 3 || first.LeadsStarted > 3 {
		t.Fatalf("first import created %d leads and started %d lead workflows, expected 3 and at most 3",
			first.Summary.Leads.Created, first.LeadsStarted)
	}
	for _, id := range []string{"LDP00001", "LDP00002", "LDE00001"} {
		status, kind := describeLeadWorkflow(t, temporalClient, id)
		if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || kind != workflows.LeadKind {
			t.Errorf("workflow of lead %s is %s with OrdoKind %q, expected running with %q", id, status, kind, workflows.LeadKind)
		}
	}

	var list api.LeadList
	if err := s.API.Get(ctx, "/api/v1/leads", nil, &list); err != nil {
		t.Fatalf("list leads: %v", err)
	}
	for _, lead := range list.Leads {
		if lead.WorkflowID != numbering.LeadWorkflowID(lead.OpportunityID) || lead.WorkflowStartedAt == nil {
			t.Errorf("lead %s lists workflow %q started %v, expected its workflow recorded", lead.OpportunityID, lead.WorkflowID, lead.WorkflowStartedAt)
		}
	}

	second := importLeads(t, s.API, writeLeadExport(t, leadPipeline))
	if second.LeadsStarted != 0 {
		t.Errorf("second import started %d lead workflows, expected none", second.LeadsStarted)
	}

	var contacted api.LeadView
	if err := s.API.Post(ctx, "/api/v1/leads/LDP00002/contact", api.LeadContactRequest{By: "Anna Snelling", Channel: "phone"}, &contacted); err != nil {
		t.Fatalf("contact lead LDP00002: %v", err)
	}
	if contacted.Lead.FirstContactAt == nil || contacted.Lead.State != store.LeadContacted {
		t.Errorf("lead after the contact %+v, expected the first contact stored", contacted.Lead)
	}
	err := s.API.Post(ctx, "/api/v1/leads/LDP00002/reassign", api.LeadReassignRequest{To: "Nobody Here"}, nil)
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 || !strings.Contains(apiErr.Message, "to") {
		t.Errorf("reassign to an unknown rep returned %v, expected 422 naming the field to", err)
	}

	// The CRM loses LDP00001: the import closes the lead and the lead
	// starter signals its workflow.
	closing := strings.Replace(leadPipeline, "LDP00001,Moses Frase,GTX Pro,Cancity,Prospecting,,,",
		"LDP00001,Moses Frase,GTX Pro,Cancity,Lost,2017-06-01,2017-07-01,0", 1)
	if third := importLeads(t, s.API, writeLeadExport(t, closing)); third.Summary.Leads.Closed != 1 {
		t.Fatalf("third import closed %d leads, expected 1", third.Summary.Leads.Closed)
	}
	waitForClosingSignal(t, temporalClient, "LDP00001", 30*time.Second)
}

// waitForClosingSignal waits until a lead's workflow has received the
// lead-closed signal.
func waitForClosingSignal(t testing.TB, c client.Client, leadID string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		iter := c.GetWorkflowHistory(context.Background(), numbering.LeadWorkflowID(leadID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			event, err := iter.Next()
			if err != nil {
				t.Fatalf("read history of lead %s: %v", leadID, err)
			}
			if attrs := event.GetWorkflowExecutionSignaledEventAttributes(); attrs != nil && attrs.GetSignalName() == workflows.SignalLeadClosed {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workflow of lead %s got no %s signal within %s", leadID, workflows.SignalLeadClosed, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// leadTestQueue is the task queue of the test worker that runs LeadSLA
// with rules and task doubles, apart from the stack's own worker.
const leadTestQueue = "ordo-lead-sla-test"

// Timing of the rules double in TestLeadSLAExactlyOnceAcrossRestart: a
// first contact within 40 seconds with a reminder 20 seconds before.
const (
	testLeadWithin       = 40 * time.Second
	testLeadRemindBefore = 20 * time.Second
)

// rulesDouble replaces RulesActivities: version 1 of a rules
// document whose lead deadlines are short, computed in calendar hours. A
// zero followUp sets no follow-up deadline.
type rulesDouble struct {
	within, remindBefore, followUp time.Duration
}

func (d *rulesDouble) Rules(_ context.Context, in activities.RulesRequest) (activities.RulesVersion, error) {
	if in.Version != 0 && in.Version != 1 {
		return activities.RulesVersion{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("rules version %d does not exist", in.Version), activities.ErrTypeNotFound, nil)
	}
	leadRules := rules.Leads{FirstContact: rules.Deadline{
		Within: rules.Duration(d.within), Hours: rules.CalendarHours, RemindBefore: rules.Duration(d.remindBefore),
		ReminderTemplate: "lead_reminder", EscalationTemplate: "lead_alert",
	}}
	if d.followUp > 0 {
		leadRules.FollowUp = rules.Deadline{
			Within: rules.Duration(d.followUp), Hours: rules.CalendarHours,
			ReminderTemplate: "follow_up_reminder", EscalationTemplate: "follow_up_alert",
		}
	}
	return activities.RulesVersion{Version: 1, Document: rules.Document{
		Leads: leadRules, People: rules.People{EmailDomain: "example.com"},
	}}, nil
}

func (*rulesDouble) Deadline(_ context.Context, in activities.DeadlineRequest) (activities.DeadlineResult, error) {
	return activities.DeadlineResult{Deadline: in.Start.Add(in.Within.D()), Now: time.Now()}, nil
}

// tasksDouble replaces TaskActivities and, like them, opens one task
// per key: it counts the calls per key and which keys it created.
type tasksDouble struct {
	mu    sync.Mutex
	calls map[string]int
	tasks map[string]activities.TaskRequest
}

func newTasksDouble() *tasksDouble {
	return &tasksDouble{calls: map[string]int{}, tasks: map[string]activities.TaskRequest{}}
}

func (d *tasksDouble) OpenTask(_ context.Context, in activities.TaskRequest) (activities.TaskResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[in.Key]++
	_, exists := d.tasks[in.Key]
	d.tasks[in.Key] = in
	return activities.TaskResult{TaskID: int64(len(d.tasks)), Created: !exists}, nil
}

func (d *tasksDouble) CloseTasks(context.Context, activities.CloseTasksRequest) error { return nil }

// byKind returns the opened tasks of a kind by lead subject.
func (d *tasksDouble) byKind(kind string) map[string][]activities.TaskRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	result := map[string][]activities.TaskRequest{}
	for _, task := range d.tasks {
		if task.Kind == kind {
			result[task.Subject] = append(result[task.Subject], task)
		}
	}
	return result
}

// startLeadWorker starts a worker on leadTestQueue with LeadSLA, the
// doubles and the real LeadActivities on st.
func startLeadWorker(t testing.TB, c client.Client, st *store.Store, rulesDouble *rulesDouble, tasks *tasksDouble) worker.Worker {
	t.Helper()
	w := worker.New(c, leadTestQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.LeadSLA, workflow.RegisterOptions{Name: workflows.LeadSLAName})
	w.RegisterActivity(rulesDouble)
	w.RegisterActivity(tasks)
	w.RegisterActivity(&activities.LeadActivities{Store: st})
	if err := w.Start(); err != nil {
		t.Fatalf("start the lead test worker: %v", err)
	}
	return w
}

// openStackStore opens the stack's SQLite database beside the stack.
func openStackStore(t testing.TB, s *stack) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: filepath.Join(s.DataDir, "ordo.db"), MaxConns: 2})
	if err != nil {
		t.Fatalf("open the stack's database: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestLeadSLAExactlyOnceAcrossRestart runs lead workflows with a 40-second
// first-contact deadline on the embedded Temporal server, stops ordo dev
// after the reminders and before the alerts, starts it again, and checks
// that each uncontacted lead produced exactly one reminder and one alert.
//
// The workflows run on a test worker whose rules and task activities are
// doubles, because both are stubs on this branch. The workflow code, the
// lead activities, the database and the Temporal server are the real ones.
func TestLeadSLAExactlyOnceAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the Temporal server to restart; skipped with -short")
	}
	t.Parallel()
	s := startStack(t, stackOptions{LocalActivities: true})
	st := openStackStore(t, s)
	ids := []string{"LSLA0001", "LSLA0002", "LSLA0003"}
	seedLeads(t, st, ids)

	tasks := newTasksDouble()
	rulesDouble := &rulesDouble{within: testLeadWithin, remindBefore: testLeadRemindBefore}
	c := s.TemporalClient()
	w := startLeadWorker(t, c, st, rulesDouble, tasks)
	started := time.Now()
	for _, id := range ids {
		startTestLeadWorkflow(t, s, c, st, id)
	}

	waitForTasks(t, tasks, activities.TaskLeadReminder, len(ids), testLeadWithin)
	if alerts := tasks.byKind(activities.TaskLeadAlert); len(alerts) != 0 {
		t.Fatalf("alerts opened %s after the start, before the restart: slow the deadline down", time.Since(started).Round(time.Second))
	}
	w.Stop()
	s.Stop()
	t.Logf("stopped %s after the start, with every reminder and no alert sent", time.Since(started).Round(time.Second))

	s.Start()
	c = s.TemporalClient()
	w = startLeadWorker(t, c, st, rulesDouble, tasks)
	defer w.Stop()
	waitForTasks(t, tasks, activities.TaskLeadAlert, len(ids), resumeTimeout)

	reminders, alerts := tasks.byKind(activities.TaskLeadReminder), tasks.byKind(activities.TaskLeadAlert)
	for _, id := range ids {
		subject := "lead:" + id
		if n := len(reminders[subject]); n != 1 {
			t.Errorf("lead %s got %d reminders, expected 1", id, n)
		}
		if n := len(alerts[subject]); n != 1 {
			t.Errorf("lead %s got %d alerts, expected 1", id, n)
		} else if alert := alerts[subject][0]; alert.Assignee != "Dustin Brinkmann" || alert.Email != "dustin.brinkmann@example.com" {
			t.Errorf("alert of lead %s went to %s <%s>, expected Dustin Brinkmann", id, alert.Assignee, alert.Email)
		}
		checkOneOpenTaskPerKind(t, c, id)
		waitForStoredSLA(t, st, id, store.SLAOverdue, 30*time.Second)
	}
}

// startTestLeadWorkflow starts the workflow of a stored lead on
// leadTestQueue, with the input the lead starter would give it.
func startTestLeadWorkflow(t testing.TB, s *stack, c client.Client, st *store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	lead, err := st.GetLead(ctx, id)
	if err != nil {
		t.Fatalf("read lead %s: %v", id, err)
	}
	in := leads.BuildInput(lead, "Dustin Brinkmann", s.Config)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: numbering.LeadWorkflowID(id), TaskQueue: leadTestQueue},
		workflows.LeadSLAName, in)
	if err != nil {
		t.Fatalf("start the workflow of lead %s: %v", id, err)
	}
}

// seedLeads stores open leads of Anna Snelling, whose supervisor is
// Dustin Brinkmann, marked as started so the stack's own lead starter
// leaves them to the test. It also stores Moses Frase, under Cara Losch,
// to reassign leads to.
func seedLeads(t testing.TB, st *store.Store, ids []string) {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	agents := []store.SalesAgent{
		{Name: "Anna Snelling", Manager: "Dustin Brinkmann", ContentHash: "h", CreatedAt: now, UpdatedAt: now},
		{Name: "Moses Frase", Manager: "Cara Losch", ContentHash: "h", CreatedAt: now, UpdatedAt: now},
	}
	if err := store.UpsertSalesAgents(ctx, st.DB, agents); err != nil {
		t.Fatalf("insert sales agents: %v", err)
	}
	var starts []store.LeadStart
	for _, id := range ids {
		lead := &store.Lead{
			OpportunityID: id, SalesAgent: "Anna Snelling", AccountName: "Cancity", Stage: store.StageProspecting,
			State: store.LeadOpen, AssignedAt: now, ContentHash: "test", CreatedAt: now, UpdatedAt: now,
		}
		if err := st.InsertLead(ctx, lead); err != nil {
			t.Fatalf("insert lead %s: %v", id, err)
		}
		starts = append(starts, store.LeadStart{ID: id, WorkflowID: numbering.LeadWorkflowID(id), Rep: "Anna Snelling", Supervisor: "Dustin Brinkmann"})
	}
	if err := st.MarkLeadWorkflowsStarted(ctx, starts, now); err != nil {
		t.Fatalf("mark lead workflows started: %v", err)
	}
}

// waitForTasks waits until tasks of kind exist for want leads.
func waitForTasks(t testing.TB, tasks *tasksDouble, kind string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout + 30*time.Second)
	for len(tasks.byKind(kind)) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d leads got a %s task within %s", len(tasks.byKind(kind)), want, kind, timeout+30*time.Second)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkOneOpenTaskPerKind checks in the history of a lead's workflow that
// it scheduled OpenTask once for the reminder and once for the alert.
func checkOneOpenTaskPerKind(t testing.TB, c client.Client, leadID string) {
	t.Helper()
	scheduled := map[string]int{}
	local := 0
	iter := c.GetWorkflowHistory(context.Background(), numbering.LeadWorkflowID(leadID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			t.Fatalf("read history of lead %s: %v", leadID, err)
		}
		if marker := event.GetMarkerRecordedEventAttributes(); marker != nil && marker.GetMarkerName() == "LocalActivity" {
			var data struct{ ActivityType string }
			if payloads := marker.GetDetails()["data"]; payloads != nil {
				if err := converter.GetDefaultDataConverter().FromPayloads(payloads, &data); err != nil {
					t.Fatalf("decode a local activity marker of lead %s: %v", leadID, err)
				}
			}
			if data.ActivityType == "OpenTask" {
				local++
			}
			continue
		}
		attrs := event.GetActivityTaskScheduledEventAttributes()
		if attrs == nil || attrs.GetActivityType().GetName() != "OpenTask" {
			continue
		}
		var request activities.TaskRequest
		if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &request); err != nil {
			t.Fatalf("decode an OpenTask input of lead %s: %v", leadID, err)
		}
		scheduled[request.Kind]++
	}
	if local > 0 {
		// Local activities record no input, so only the count is known
		// here; checkOneStoredTaskPerKind checks the kinds.
		if local != 2 || len(scheduled) != 0 {
			t.Errorf("the workflow of lead %s ran OpenTask %d times as a local activity and scheduled %v, expected two calls", leadID, local, scheduled)
		}
		return
	}
	if scheduled[activities.TaskLeadReminder] != 1 || scheduled[activities.TaskLeadAlert] != 1 || len(scheduled) != 2 {
		t.Errorf("the workflow of lead %s scheduled OpenTask %v, expected one reminder and one alert", leadID, scheduled)
	}
}

// waitForStoredSLA waits until the stored SLA state of a lead is want.
func waitForStoredSLA(t testing.TB, st *store.Store, leadID, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lead, err := st.GetLead(context.Background(), leadID)
		if err != nil {
			t.Fatalf("read lead %s: %v", leadID, err)
		}
		if lead.SLAState == want {
			if lead.RemindedAt == nil || lead.AlertedAt == nil || lead.SLADeadline == nil || lead.SLARulesVersion != 1 {
				t.Errorf("lead %s stored reminded %v alerted %v deadline %v rules version %d, expected all set under version 1",
					leadID, lead.RemindedAt, lead.AlertedAt, lead.SLADeadline, lead.SLARulesVersion)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead %s has SLA state %q after %s, expected %q", leadID, lead.SLAState, timeout, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLeadSLAWithStoredRulesAcrossKill is the acceptance test of the lead
// SLA on ordo dev as shipped. It stores a rules version whose
// first-contact deadline is 2 minutes and checks that every lead not
// contacted produces exactly one reminder and one supervisor alert, even
// when ordo dev is killed with SIGKILL between them and started again.
func TestLeadSLAWithStoredRulesAcrossKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ordo binary and waits for two-minute deadlines; skipped with -short")
	}
	t.Parallel()
	binary := buildOrdo(t)
	cfg := testConfig(t, stackOptions{LocalActivities: true})
	child := newChildStack(t, binary, cfg)
	child.Start()
	applyLeadRules(t, child.API, rules.Leads{FirstContact: rules.Deadline{
		Within: rules.Duration(2 * time.Minute), Hours: rules.CalendarHours, RemindBefore: rules.Duration(time.Minute),
		ReminderTemplate: "lead_reminder", EscalationTemplate: "lead_alert",
	}})
	importLeads(t, child.API, writeLeadExport(t, leadPipeline))
	open := []string{"LDP00001", "LDP00002"}
	waitForLeadSLA(t, child.API, open, store.SLAReminded, 2*time.Minute)
	child.Kill()
	child.Start()
	waitForLeadSLA(t, child.API, open, store.SLAOverdue, resumeTimeout+time.Minute)

	c, err := client.Dial(client.Options{HostPort: cfg.Temporal.Address, Namespace: cfg.Temporal.Namespace})
	if err != nil {
		t.Fatalf("connect to Temporal: %v", err)
	}
	defer c.Close()
	for _, id := range open {
		checkOneOpenTaskPerKind(t, c, id)
		checkOneStoredTaskPerKind(t, child.API, id)
	}
	child.Stop()
}

// checkOneStoredTaskPerKind checks that ordo's database holds exactly one
// reminder and one alert task for the lead.
func checkOneStoredTaskPerKind(t testing.TB, c *apiclient.Client, leadID string) {
	t.Helper()
	var list api.TaskList
	if err := c.Get(context.Background(), "/api/v1/tasks", url.Values{"subject": {"lead:" + leadID}}, &list); err != nil {
		t.Fatalf("list tasks of lead %s: %v", leadID, err)
	}
	kinds := map[string]int{}
	for _, task := range list.Tasks {
		kinds[task.Kind]++
	}
	if kinds[activities.TaskLeadReminder] != 1 || kinds[activities.TaskLeadAlert] != 1 || len(kinds) != 2 {
		t.Errorf("tasks of lead %s by kind = %v, expected one reminder and one alert", leadID, kinds)
	}
}

// applyLeadRules stores a rules version with the given lead rules as the
// newest.
func applyLeadRules(t testing.TB, c *apiclient.Client, leads rules.Leads) {
	t.Helper()
	doc := rules.Default()
	doc.Leads.FirstContact = leads.FirstContact
	if leads.FollowUp.Within > 0 {
		doc.Leads.FollowUp = leads.FollowUp
	}
	body, err := doc.YAML()
	if err != nil {
		t.Fatalf("encode the lead rules: %v", err)
	}
	var applied map[string]any
	err = c.PostBody(context.Background(), "/api/v1/rules", "application/yaml", url.Values{"by": {"lead test"}}, body, &applied)
	if err != nil {
		t.Fatalf("apply the lead rules: %v", err)
	}
}

// waitForLeadSLA waits until every lead's stored SLA state is want.
func waitForLeadSLA(t testing.TB, c *apiclient.Client, ids []string, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		for {
			var view api.LeadView
			err := c.Get(context.Background(), "/api/v1/leads/"+id, map[string][]string{"live": {"false"}}, &view)
			if err == nil && view.Lead.SLAState == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lead %s did not reach SLA state %s within %s (last error %v)", id, want, timeout, err)
			}
			time.Sleep(time.Second)
		}
	}
}

// exportUpload returns the export's files as a multipart/form-data body,
// one part per file named after it, and its content type.
func exportUpload(t testing.TB, dir string) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	for _, name := range crmimport.Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		part, err := form.CreateFormFile(name, name)
		if err != nil {
			t.Fatalf("create part %s: %v", name, err)
		}
		if _, err := part.Write(data); err != nil {
			t.Fatalf("write part %s: %v", name, err)
		}
	}
	if err := form.Close(); err != nil {
		t.Fatalf("close the multipart body: %v", err)
	}
	return &body, form.FormDataContentType()
}

// writeLeadHistories runs two lead SLA scenarios through the API on a
// stack, with the test worker of TestLeadSLAExactlyOnceAcrossRestart, and
// writes their histories:
//
//   - lead_sla_overdue_contacted.json: reminded, alerted, contacted,
//     overdue on the follow-up, closed by a CRM import.
//   - lead_sla_reassigned.json: reminded, reassigned to another rep,
//     reminded again, contacted by them, closed by a CRM import.
func writeLeadHistories(t *testing.T) {
	s := startStack(t, stackOptions{LocalActivities: true})
	st := openStackStore(t, s)
	c := s.TemporalClient()
	ctx := context.Background()
	overdue, reassigned := "LHIST001", "LHIST002"
	seedLeads(t, st, []string{overdue, reassigned})
	w := startLeadWorker(t, c, st, &rulesDouble{within: 6 * time.Second, remindBefore: 3 * time.Second, followUp: 4 * time.Second}, newTasksDouble())
	defer w.Stop()
	startTestLeadWorkflow(t, s, c, st, overdue)
	startTestLeadWorkflow(t, s, c, st, reassigned)

	waitForLeadClock(t, st, reassigned, store.LeadSLAFirstContact, store.SLAReminded, "Anna Snelling")
	if err := s.API.Post(ctx, "/api/v1/leads/"+reassigned+"/reassign", api.LeadReassignRequest{To: "Moses Frase", By: "Dustin Brinkmann"}, nil); err != nil {
		t.Fatalf("reassign lead %s: %v", reassigned, err)
	}
	waitForLeadClock(t, st, reassigned, store.LeadSLAFirstContact, store.SLAReminded, "Moses Frase")
	waitForLeadClock(t, st, overdue, store.LeadSLAFirstContact, store.SLAOverdue, "Anna Snelling")
	for _, id := range []string{overdue, reassigned} {
		if err := s.API.Post(ctx, "/api/v1/leads/"+id+"/contact", api.LeadContactRequest{By: "history capture", Channel: "phone"}, nil); err != nil {
			t.Fatalf("contact lead %s: %v", id, err)
		}
	}
	waitForLeadClock(t, st, overdue, store.LeadSLAFollowUp, store.SLAOverdue, "Anna Snelling")

	// The stack's lead starter signals both workflows that the CRM closed
	// their leads.
	if _, err := store.CloseLeads(ctx, st.DB, []string{overdue, reassigned}, store.Now()); err != nil {
		t.Fatalf("close the leads: %v", err)
	}
	for name, id := range map[string]string{"lead_sla_overdue_contacted.json": overdue, "lead_sla_reassigned.json": reassigned} {
		run := c.GetWorkflow(ctx, numbering.LeadWorkflowID(id), "")
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		var status workflows.LeadSLAStatus
		err := run.Get(waitCtx, &status)
		cancel()
		if err != nil || status.State != store.SLAClosed {
			t.Fatalf("workflow of lead %s ended with %+v, %v; expected closed", id, status, err)
		}
		writeHistory(t, s, c, numbering.LeadWorkflowID(id), "", name)
	}
}

// waitForLeadClock waits until the stored SLA clock of a lead is of kind,
// in state and runs for rep.
func waitForLeadClock(t testing.TB, st *store.Store, leadID, kind, state, rep string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lead, err := st.GetLead(context.Background(), leadID)
		if err != nil {
			t.Fatalf("read lead %s: %v", leadID, err)
		}
		if lead.SLAKind == kind && lead.SLAState == state && lead.SLARep == rep {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead %s has SLA %s/%s for %s after 30s, expected %s/%s for %s",
				leadID, lead.SLAKind, lead.SLAState, lead.SLARep, kind, state, rep)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
