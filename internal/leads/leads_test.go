package leads

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/devserver"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/workflows"
)

// temporalClient is connected to the embedded Temporal server that
// TestMain starts. No worker polls its task queue, so a started workflow
// stays running with its first task pending, which is enough to read its
// input and the signals it received from its history.
var temporalClient client.Client

var testNow = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dataDir, err := os.MkdirTemp("", "ordo-leads-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "create Temporal data dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dataDir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	address, err := freeLoopbackAddress()
	if err != nil {
		fmt.Fprintf(os.Stderr, "reserve a port for Temporal: %v\n", err)
		return 1
	}
	srv, err := devserver.Start(ctx, devserver.Config{DataDir: dataDir, FrontendAddress: address})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start embedded Temporal server: %v\n", err)
		return 1
	}
	defer func() { _ = srv.Stop() }()
	temporalClient, err = client.Dial(client.Options{
		HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
		Logger: logging.NewSDKLogger(logging.Discard().WithField(logging.KeyComponent, "test-client")),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect to the embedded Temporal server: %v\n", err)
		return 1
	}
	defer temporalClient.Close()
	return m.Run()
}

// freeLoopbackAddress returns a loopback address whose port was free a
// moment ago.
func freeLoopbackAddress() (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	address := listener.Addr().String()
	return address, listener.Close()
}

// fixture is a store with two sales teams and a starter and service on
// the test Temporal server. Each test gets its own task queue and lead
// ids, so workflows of different tests never meet.
type fixture struct {
	t       *testing.T
	store   *store.Store
	starter *Starter
	service *Service
	prefix  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	cfg := config.Default()
	cfg.TaskQueue = "leads-test-" + t.Name()
	logger := logging.Discard()
	clock := func() time.Time { return testNow }
	starter := &Starter{Store: st, Client: temporalClient, Config: cfg, Logger: logger, Now: clock}
	f := &fixture{
		t: t, store: st, starter: starter,
		service: &Service{Store: st, Client: temporalClient, Starter: starter, Logger: logger, Now: clock},
		prefix:  fmt.Sprintf("T%d", time.Now().UnixNano()),
	}
	agents := []store.SalesAgent{
		{Name: "Anna Snelling", Manager: "Dustin Brinkmann", ContentHash: "h", CreatedAt: testNow, UpdatedAt: testNow},
		{Name: "Moses Frase", Manager: "Cara Losch", ContentHash: "h", CreatedAt: testNow, UpdatedAt: testNow},
	}
	if err := store.UpsertSalesAgents(context.Background(), st.DB, agents); err != nil {
		t.Fatalf("insert sales agents: %v", err)
	}
	return f
}

// id returns the test's lead id for name, unique on the shared server.
func (f *fixture) id(name string) string { return f.prefix + name }

func (f *fixture) insert(lead *store.Lead) {
	f.t.Helper()
	if err := f.store.InsertLead(context.Background(), lead); err != nil {
		f.t.Fatalf("insert lead %s: %v", lead.OpportunityID, err)
	}
}

func (f *fixture) lead(name string) *store.Lead {
	f.t.Helper()
	lead, err := f.store.GetLead(context.Background(), f.id(name))
	if err != nil {
		f.t.Fatalf("read lead %s: %v", name, err)
	}
	return lead
}

func openLead(id, rep string, stage string, at time.Time) *store.Lead {
	return &store.Lead{
		OpportunityID: id, SalesAgent: rep, AccountName: "Cancity", ProductName: "GTX Pro", Stage: stage,
		State: store.LeadOpen, AssignedAt: at, ContentHash: "h", CreatedAt: at, UpdatedAt: at,
	}
}

// history returns the events of a lead's workflow.
func history(t *testing.T, id string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	iter := temporalClient.GetWorkflowHistory(context.Background(), "lead-"+id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			t.Fatalf("read history of lead %s: %v", id, err)
		}
		events = append(events, event)
	}
	return events
}

// startInput returns the input a lead's workflow started with.
func startInput(t *testing.T, id string) workflows.LeadSLAInput {
	t.Helper()
	events := history(t, id)
	attrs := events[0].GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || attrs.GetWorkflowType().GetName() != workflows.LeadSLAName {
		t.Fatalf("lead %s: first event %v, expected a %s start", id, events[0].GetEventType(), workflows.LeadSLAName)
	}
	var in workflows.LeadSLAInput
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		t.Fatalf("decode input of lead %s: %v", id, err)
	}
	return in
}

// signals returns the signals a lead's workflow received, decoded into T,
// by name.
func signals[T any](t *testing.T, id, name string) []T {
	t.Helper()
	var got []T
	for _, event := range history(t, id) {
		attrs := event.GetWorkflowExecutionSignaledEventAttributes()
		if attrs == nil || attrs.GetSignalName() != name {
			continue
		}
		var value T
		if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &value); err != nil {
			t.Fatalf("decode %s signal of lead %s: %v", name, id, err)
		}
		got = append(got, value)
	}
	return got
}

func TestBuildInput(t *testing.T) {
	cfg := config.Default()
	imported := testNow
	engaged := time.Date(2017, 5, 2, 0, 0, 0, 0, time.UTC)
	reassigned := testNow.Add(5 * time.Hour)
	contacted := testNow.Add(9 * time.Hour)
	cases := []struct {
		name      string
		lead      store.Lead
		wantKind  string
		wantStart time.Time
	}{
		{
			name:     "prospecting",
			lead:     store.Lead{Stage: store.StageProspecting, AssignedAt: imported, CreatedAt: imported},
			wantKind: store.LeadSLAFirstContact, wantStart: imported,
		},
		{
			name: "engaging from the CRM",
			lead: store.Lead{Stage: store.StageEngaging, State: store.LeadContacted, AssignedAt: engaged, CreatedAt: imported,
				FirstContactAt: &engaged},
			wantKind: store.LeadSLAFollowUp, wantStart: imported,
		},
		{
			name:     "engaging from an older import",
			lead:     store.Lead{Stage: store.StageEngaging, AssignedAt: engaged, CreatedAt: imported},
			wantKind: store.LeadSLAFollowUp, wantStart: imported,
		},
		{
			name:     "reassigned before its start",
			lead:     store.Lead{Stage: store.StageProspecting, AssignedAt: reassigned, CreatedAt: imported},
			wantKind: store.LeadSLAFirstContact, wantStart: reassigned,
		},
		{
			name: "contacted before its start",
			lead: store.Lead{Stage: store.StageProspecting, AssignedAt: imported, CreatedAt: imported,
				FirstContactAt: &contacted, LastContactAt: &contacted},
			wantKind: store.LeadSLAFollowUp, wantStart: contacted,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.lead.OpportunityID, tc.lead.SalesAgent = "L1", "Anna Snelling"
			in := BuildInput(&tc.lead, "Dustin Brinkmann", cfg)
			if in.Kind != tc.wantKind {
				t.Errorf("kind %s, expected %s", in.Kind, tc.wantKind)
			}
			if !in.ClockStart.Equal(tc.wantStart) {
				t.Errorf("clock start %s, expected %s", in.ClockStart, tc.wantStart)
			}
			if in.RulesVersion != 0 || in.Supervisor != "Dustin Brinkmann" || in.Rep != "Anna Snelling" {
				t.Errorf("input %+v, expected the newest rules for Anna Snelling under Dustin Brinkmann", in)
			}
		})
	}
}

func TestStarterStartsOpenLeadsOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	engaged := time.Date(2017, 5, 2, 0, 0, 0, 0, time.UTC)
	f.insert(openLead(f.id("P"), "Anna Snelling", store.StageProspecting, testNow))
	engaging := openLead(f.id("E"), "Moses Frase", store.StageEngaging, testNow)
	engaging.AssignedAt, engaging.State, engaging.FirstContactAt = engaged, store.LeadContacted, &engaged
	f.insert(engaging)
	closed := openLead(f.id("C"), "Anna Snelling", store.StageProspecting, testNow)
	closed.State = store.LeadClosed
	f.insert(closed)
	f.insert(openLead(f.id("U"), "", store.StageProspecting, testNow))

	first, err := f.starter.Pass(ctx)
	if err != nil {
		t.Fatalf("first pass: %v", err)
	}
	if first.Started != 2 {
		t.Errorf("first pass started %d workflows, expected 2: the closed and the unassigned lead get none", first.Started)
	}
	prospecting := startInput(t, f.id("P"))
	if prospecting.Kind != store.LeadSLAFirstContact || prospecting.Supervisor != "Dustin Brinkmann" || !prospecting.ClockStart.Equal(testNow) {
		t.Errorf("Prospecting lead input %+v, expected first_contact under Dustin Brinkmann from %s", prospecting, testNow)
	}
	follow := startInput(t, f.id("E"))
	if follow.Kind != store.LeadSLAFollowUp || follow.Supervisor != "Cara Losch" || !follow.ClockStart.Equal(testNow) {
		t.Errorf("Engaging lead input %+v, expected follow_up under Cara Losch from the import %s", follow, testNow)
	}
	stored := f.lead("P")
	if stored.WorkflowID != "lead-"+f.id("P") || stored.WorkflowStartedAt == nil || stored.Supervisor != "Dustin Brinkmann" {
		t.Errorf("stored lead P: workflow %q started %v supervisor %q, expected its workflow marked and its supervisor filled in",
			stored.WorkflowID, stored.WorkflowStartedAt, stored.Supervisor)
	}

	// A second pass, as after a second import, starts nothing; neither
	// does a start of a lead whose workflow exists but was not marked.
	second, err := f.starter.Pass(ctx)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if second.Started != 0 {
		t.Errorf("second pass started %d workflows, expected none", second.Started)
	}
	if err := f.starter.start(ctx, f.lead("P"), "Dustin Brinkmann"); err != nil {
		t.Errorf("starting an existing workflow again: %v, expected success without a new run", err)
	}
	if n := len(history(t, f.id("P"))); n == 0 {
		t.Error("workflow of lead P has no history")
	}
}

func TestStarterDeliversReassignmentsAndClosings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, name := range []string{"R", "C", "G"} {
		f.insert(openLead(f.id(name), "Anna Snelling", store.StageProspecting, testNow))
	}
	if _, err := f.starter.Pass(ctx); err != nil {
		t.Fatalf("first pass: %v", err)
	}

	// A CRM import changes the rep of R and closes C. G's workflow is
	// gone, as after an operator terminated it, before its lead closes.
	if err := store.ReassignLead(ctx, f.store.DB, f.id("R"), "Moses Frase", "", testNow); err != nil {
		t.Fatalf("reassign R: %v", err)
	}
	if _, err := store.CloseLeads(ctx, f.store.DB, []string{f.id("C"), f.id("G")}, testNow); err != nil {
		t.Fatalf("close C and G: %v", err)
	}
	if err := temporalClient.TerminateWorkflow(ctx, "lead-"+f.id("G"), "", "test"); err != nil {
		t.Fatalf("terminate the workflow of G: %v", err)
	}

	result, err := f.starter.Pass(ctx)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if result.Reassigned != 1 || result.Closed != 2 {
		t.Errorf("pass %+v, expected 1 reassignment and 2 closings", result)
	}
	reassigned := signals[workflows.LeadReassignedSignal](t, f.id("R"), workflows.SignalLeadReassigned)
	if len(reassigned) != 1 || reassigned[0].NewRep != "Moses Frase" || reassigned[0].NewSupervisor != "Cara Losch" {
		t.Errorf("reassignment signals %+v, expected one to Moses Frase under Cara Losch", reassigned)
	}
	if closings := signals[workflows.LeadClosedSignal](t, f.id("C"), workflows.SignalLeadClosed); len(closings) != 1 {
		t.Errorf("lead C's workflow received %d closing signals, expected 1", len(closings))
	}

	third, err := f.starter.Pass(ctx)
	if err != nil {
		t.Fatalf("third pass: %v", err)
	}
	if third != (PassResult{}) {
		t.Errorf("third pass %+v, expected nothing left to do", third)
	}
}

func TestServiceCreate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	lead, err := f.service.Create(ctx, NewLead{ID: f.id("N"), Rep: "Anna Snelling", Account: " Cancity ", Product: "GTX Pro"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if lead.Supervisor != "Dustin Brinkmann" || lead.AccountName != "Cancity" || lead.WorkflowStartedAt == nil {
		t.Errorf("created lead %+v, expected supervisor Dustin Brinkmann, account Cancity and a started workflow", lead)
	}
	if in := startInput(t, f.id("N")); in.Kind != store.LeadSLAFirstContact || !in.ClockStart.Equal(testNow) {
		t.Errorf("workflow input %+v, expected a first-contact clock from %s", in, testNow)
	}

	_, err = f.service.Create(ctx, NewLead{ID: f.id("N"), Rep: "Anna Snelling"})
	if !errors.Is(err, store.ErrLeadExists) {
		t.Errorf("second create returned %v, expected ErrLeadExists", err)
	}

	cases := []struct {
		name      string
		lead      NewLead
		field     string
		unknown   bool
		wantInMsg string
	}{
		{"unknown rep", NewLead{ID: f.id("X"), Rep: "Nobody Here"}, "rep", true, "Nobody Here"},
		{"missing rep", NewLead{ID: f.id("X")}, "rep", false, "required"},
		{"invalid id", NewLead{ID: "a b/c", Rep: "Anna Snelling"}, "id", false, "a b/c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.service.Create(ctx, tc.lead)
			fe, ok := IsFieldError(err)
			if !ok {
				t.Fatalf("create returned %v, expected a field error on %s", err, tc.field)
			}
			if fe.Field != tc.field || fe.Unknown != tc.unknown {
				t.Errorf("field error on %s (unknown %v), expected %s (unknown %v)", fe.Field, fe.Unknown, tc.field, tc.unknown)
			}
			if !strings.Contains(fe.Message, tc.wantInMsg) {
				t.Errorf("message %q does not name %q", fe.Message, tc.wantInMsg)
			}
		})
	}
}

func TestServiceRecordContact(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.insert(openLead(f.id("S"), "Anna Snelling", store.StageProspecting, testNow))
	f.insert(openLead(f.id("W"), "Anna Snelling", store.StageProspecting, testNow))
	if _, err := f.starter.Pass(ctx); err != nil {
		t.Fatalf("pass: %v", err)
	}
	// W's workflow is gone: the contact is still recorded.
	if err := temporalClient.TerminateWorkflow(ctx, "lead-"+f.id("W"), "", "test"); err != nil {
		t.Fatalf("terminate W: %v", err)
	}

	at := testNow.Add(-time.Hour)
	result, err := f.service.RecordContact(ctx, f.id("S"), Contact{At: at, By: "Anna Snelling", Channel: "phone"})
	if err != nil {
		t.Fatalf("contact S: %v", err)
	}
	if !result.Signalled || result.Lead.State != store.LeadContacted || !result.Lead.FirstContactAt.Equal(at) {
		t.Errorf("contact S: signalled %v, lead %+v; expected a signal and the lead contacted at %s", result.Signalled, result.Lead, at)
	}
	contacts := signals[workflows.LeadContactedSignal](t, f.id("S"), workflows.SignalLeadContacted)
	if len(contacts) != 1 || !contacts[0].At.Equal(at) || contacts[0].Channel != "phone" {
		t.Errorf("contact signals %+v, expected one by phone at %s", contacts, at)
	}

	result, err = f.service.RecordContact(ctx, f.id("W"), Contact{By: "Anna Snelling"})
	if err != nil {
		t.Fatalf("contact W: %v", err)
	}
	if result.Signalled || result.Lead.FirstContactAt == nil || !result.Lead.FirstContactAt.Equal(testNow) {
		t.Errorf("contact W: signalled %v first contact %v, expected no signal and the contact recorded at %s",
			result.Signalled, result.Lead.FirstContactAt, testNow)
	}

	if _, err := f.service.RecordContact(ctx, f.id("NOPE"), Contact{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("contact with an unknown lead returned %v, expected ErrNotFound", err)
	}
	_, err = f.service.RecordContact(ctx, f.id("S"), Contact{At: testNow.Add(time.Hour)})
	if fe, ok := IsFieldError(err); !ok || fe.Field != "at" {
		t.Errorf("contact in the future returned %v, expected a field error on at", err)
	}
	if _, err := store.CloseLeads(ctx, f.store.DB, []string{f.id("S")}, testNow); err != nil {
		t.Fatalf("close S: %v", err)
	}
	if _, err := f.service.RecordContact(ctx, f.id("S"), Contact{}); !errors.Is(err, store.ErrLeadClosed) {
		t.Errorf("contact with a closed lead returned %v, expected ErrLeadClosed", err)
	}
}

func TestServiceReassign(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.insert(openLead(f.id("R"), "Anna Snelling", store.StageProspecting, testNow))
	f.insert(openLead(f.id("Q"), "Anna Snelling", store.StageProspecting, testNow))
	if _, err := f.starter.StartPendingWithProgress(ctx, nil); err != nil {
		t.Fatalf("start: %v", err)
	}

	result, err := f.service.Reassign(ctx, f.id("R"), "Moses Frase", "Dustin Brinkmann")
	if err != nil {
		t.Fatalf("reassign: %v", err)
	}
	if !result.Signalled || result.Lead.SalesAgent != "Moses Frase" || result.Lead.Supervisor != "Cara Losch" || result.Lead.WorkflowRep != "Moses Frase" {
		t.Errorf("reassign: signalled %v lead %+v, expected Moses Frase under Cara Losch, signalled to the workflow", result.Signalled, result.Lead)
	}
	sent := signals[workflows.LeadReassignedSignal](t, f.id("R"), workflows.SignalLeadReassigned)
	if len(sent) != 1 || sent[0].By != "Dustin Brinkmann" || !sent[0].At.Equal(testNow) {
		t.Errorf("reassignment signals %+v, expected one by Dustin Brinkmann at %s", sent, testNow)
	}

	again, err := f.service.Reassign(ctx, f.id("R"), "Moses Frase", "Dustin Brinkmann")
	if err != nil || again.Signalled {
		t.Errorf("reassigning to the same rep: signalled %v, %v; expected nothing to do", again.Signalled, err)
	}

	_, err = f.service.Reassign(ctx, f.id("Q"), "Nobody Here", "Dustin Brinkmann")
	if fe, ok := IsFieldError(err); !ok || fe.Field != "to" || !fe.Unknown {
		t.Errorf("reassigning to an unknown rep returned %v, expected an unknown-value error on to", err)
	}
	if _, err := f.service.Reassign(ctx, f.id("NOPE"), "Moses Frase", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reassigning an unknown lead returned %v, expected ErrNotFound", err)
	}
}
