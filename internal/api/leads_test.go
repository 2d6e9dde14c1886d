package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/leads"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// uniqueLeadPrefix returns a lead id prefix no other test uses, because
// all tests share one Temporal namespace and workflow ids derive from it.
func uniqueLeadPrefix(t *testing.T) string {
	t.Helper()
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("random lead id: %v", err)
	}
	return "L" + strings.ToUpper(hex.EncodeToString(suffix))
}

// withLeads gives the server the lead service and starter the production
// wiring uses, on the package's Temporal server.
func withLeads(s *Server) {
	starter := &leads.Starter{Store: s.Store, Client: s.Temporal, Config: s.Config, Logger: s.Logger, Now: s.Now}
	s.LeadStarter = starter
	s.Leads = &leads.Service{Store: s.Store, Client: s.Temporal, Starter: starter, Logger: s.Logger, Now: s.Now}
}

func seedSalesAgents(t *testing.T, st *store.Store) {
	t.Helper()
	agents := []store.SalesAgent{
		{Name: "Anna Snelling", Manager: "Dustin Brinkmann", ContentHash: "h", CreatedAt: testNow, UpdatedAt: testNow},
		{Name: "Moses Frase", Manager: "Cara Losch", ContentHash: "h", CreatedAt: testNow, UpdatedAt: testNow},
	}
	if err := store.UpsertSalesAgents(context.Background(), st.DB, agents); err != nil {
		t.Fatalf("insert sales agents: %v", err)
	}
}

func TestLeadsImportStartsWorkflows(t *testing.T) {
	parts := readSampleExport(t)
	prefix := uniqueLeadPrefix(t)
	pipeline := "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n" +
		prefix + "P,Moses Frase,GTX Pro,Cancity,Prospecting,,,\n" +
		prefix + "E,Anna Snelling,GTX Basic,Bluth Company,Engaging,2017-05-02,,\n" +
		prefix + "W,Moses Frase,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,600\n" +
		prefix + "X,Moses Frase,GTX Basic,Acme Corporation,Lost,2016-10-20,2017-03-01,0\n"
	for i := range parts {
		if parts[i].formName == crmimport.FilePipeline {
			parts[i].content = []byte(pipeline)
		}
	}
	ts := newTestServer(t, "sqlite", func(s *Server) {
		withLeads(s)
		s.Contracts = &countingStarter{store: s.Store}
	})
	for _, name := range []string{"P", "E"} {
		t.Cleanup(func() { terminateWorkflow(t, numbering.LeadWorkflowID(prefix+name)) })
	}

	first := finalSummary(t, importEvents(t, postUpload(t, ts, parts)))
	if first.LeadsStarted != 2 {
		t.Errorf("lead_workflows_started = %d, expected 2 for the Prospecting and the Engaging deal", first.LeadsStarted)
	}
	for _, name := range []string{"P", "E"} {
		id := numbering.LeadWorkflowID(prefix + name)
		if status := workflowStatus(t, id); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("workflow %s is %s, expected running", id, status)
		}
	}
	for _, name := range []string{"W", "X"} {
		if status := workflowStatus(t, numbering.LeadWorkflowID(prefix+name)); status != enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
			t.Errorf("closed deal %s has a lead workflow (%s), expected none", name, status)
		}
	}

	events := importEvents(t, postUpload(t, ts, parts))
	second := finalSummary(t, events)
	if second.LeadsStarted != 0 {
		t.Errorf("second import started %d lead workflows, expected none", second.LeadsStarted)
	}
	for _, event := range events {
		if event.Progress != nil && event.Progress.Phase == PhaseStartLeads {
			t.Errorf("second import reports progress of starting leads: %+v", event.Progress)
			break
		}
	}
}

func TestLeadsCreateAndShow(t *testing.T) {
	ts := newTestServer(t, "sqlite", withLeads)
	seedSalesAgents(t, ts.store)
	id := uniqueLeadPrefix(t)
	t.Cleanup(func() { terminateWorkflow(t, numbering.LeadWorkflowID(id)) })

	resp := ts.postJSON("/api/v1/leads", CreateLeadRequest{ID: id, Rep: "Anna Snelling", Account: "Cancity", Product: "GTX Pro"})
	if resp.status != http.StatusCreated {
		t.Fatalf("create: status %d, expected 201; body %s", resp.status, resp.body)
	}
	var created LeadView
	resp.decode(t, &created)
	if created.Lead.WorkflowID != numbering.LeadWorkflowID(id) || created.Lead.Supervisor != "Dustin Brinkmann" {
		t.Errorf("created lead %+v, expected workflow %s and supervisor Dustin Brinkmann", created.Lead, numbering.LeadWorkflowID(id))
	}
	if status := workflowStatus(t, numbering.LeadWorkflowID(id)); status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("workflow of the new lead is %s, expected running", status)
	}

	ts.postJSON("/api/v1/leads", CreateLeadRequest{ID: id, Rep: "Anna Snelling"}).
		expectError(t, http.StatusConflict, "conflict", id)
	ts.postJSON("/api/v1/leads", CreateLeadRequest{ID: id + "B", Rep: "Nobody Here"}).
		expectError(t, http.StatusUnprocessableEntity, "unknown_value", "rep", "Nobody Here", "sales-team data")
	ts.postJSON("/api/v1/leads", CreateLeadRequest{ID: "no spaces please", Rep: "Anna Snelling"}).
		expectError(t, http.StatusBadRequest, "invalid_argument", "id")
	ts.do(http.MethodPost, "/api/v1/leads", []byte(`{"id":"X","rep":"Anna Snelling","colour":"red"}`), nil).
		expectError(t, http.StatusBadRequest, "invalid_argument", "colour")

	var shown LeadView
	resp = ts.do(http.MethodGet, "/api/v1/leads/"+id+"?live=false", nil, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("show: status %d; body %s", resp.status, resp.body)
	}
	resp.decode(t, &shown)
	if shown.Lead.OpportunityID != id || shown.Lead.State != store.LeadOpen || shown.Live != nil {
		t.Errorf("shown %+v, expected the open lead %s without live status", shown, id)
	}
	ts.do(http.MethodGet, "/api/v1/leads/"+id+"NOPE", nil, nil).
		expectError(t, http.StatusNotFound, "not_found", id+"NOPE")
}

func TestLeadsContactAndReassign(t *testing.T) {
	ts := newTestServer(t, "sqlite", withLeads)
	seedSalesAgents(t, ts.store)
	id := uniqueLeadPrefix(t)
	t.Cleanup(func() { terminateWorkflow(t, numbering.LeadWorkflowID(id)) })
	if resp := ts.postJSON("/api/v1/leads", CreateLeadRequest{ID: id, Rep: "Anna Snelling"}); resp.status != http.StatusCreated {
		t.Fatalf("create: status %d; body %s", resp.status, resp.body)
	}

	ts.postJSON("/api/v1/leads/"+id+"/reassign", LeadReassignRequest{To: "Nobody Here", By: "Dustin Brinkmann"}).
		expectError(t, http.StatusUnprocessableEntity, "unknown_value", "to", "Nobody Here")
	ts.postJSON("/api/v1/leads/"+id+"NOPE/reassign", LeadReassignRequest{To: "Moses Frase"}).
		expectError(t, http.StatusNotFound, "not_found", id+"NOPE")

	resp := ts.postJSON("/api/v1/leads/"+id+"/reassign", LeadReassignRequest{To: "Moses Frase", By: "Dustin Brinkmann"})
	if resp.status != http.StatusOK {
		t.Fatalf("reassign: status %d; body %s", resp.status, resp.body)
	}
	var reassigned LeadView
	resp.decode(t, &reassigned)
	if reassigned.Lead.SalesAgent != "Moses Frase" || reassigned.WorkflowSignalled == nil || !*reassigned.WorkflowSignalled {
		t.Errorf("reassigned %+v, expected Moses Frase signalled to the workflow", reassigned)
	}
	if sent := signalsOf[workflows.LeadReassignedSignal](t, numbering.LeadWorkflowID(id), workflows.SignalLeadReassigned); len(sent) != 1 || sent[0].NewSupervisor != "Cara Losch" {
		t.Errorf("reassignment signals %+v, expected one naming Cara Losch", sent)
	}

	ts.postJSON("/api/v1/leads/"+id+"NOPE/contact", LeadContactRequest{By: "Moses Frase"}).
		expectError(t, http.StatusNotFound, "not_found", id+"NOPE")
	ts.postJSON("/api/v1/leads/"+id+"/contact", LeadContactRequest{At: testNow.Add(48 * time.Hour)}).
		expectError(t, http.StatusBadRequest, "invalid_argument", "at", "future")

	resp = ts.do(http.MethodPost, "/api/v1/leads/"+id+"/contact", nil, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("contact with an empty body: status %d; body %s", resp.status, resp.body)
	}
	var contacted LeadView
	resp.decode(t, &contacted)
	if contacted.Lead.State != store.LeadContacted || contacted.Lead.FirstContactAt == nil || !contacted.Lead.FirstContactAt.Equal(testNow) {
		t.Errorf("contacted %+v, expected the lead contacted at %s", contacted.Lead, testNow)
	}
	if contacted.WorkflowSignalled == nil || !*contacted.WorkflowSignalled {
		t.Errorf("contact not signalled to the workflow: %s", resp.body)
	}

	if _, err := store.CloseLeads(context.Background(), ts.store.DB, []string{id}, testNow); err != nil {
		t.Fatalf("close lead: %v", err)
	}
	ts.postJSON("/api/v1/leads/"+id+"/contact", LeadContactRequest{}).expectError(t, http.StatusConflict, "conflict", id, "closed")
	ts.postJSON("/api/v1/leads/"+id+"/reassign", LeadReassignRequest{To: "Anna Snelling"}).expectError(t, http.StatusConflict, "conflict", id)
}

func TestLeadsList(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ctx := context.Background()
	for i, rep := range []string{"Anna Snelling", "Moses Frase", "Anna Snelling"} {
		lead := &store.Lead{
			OpportunityID: fmt.Sprintf("L%d", i+1), SalesAgent: rep, Stage: store.StageProspecting, State: store.LeadOpen,
			AssignedAt: testNow, ContentHash: "h", CreatedAt: testNow, UpdatedAt: testNow,
		}
		if err := ts.store.InsertLead(ctx, lead); err != nil {
			t.Fatalf("insert lead: %v", err)
		}
	}
	if err := store.RecordLeadSLA(ctx, ts.store.DB, "L3", store.LeadSLA{Kind: store.LeadSLAFirstContact, State: store.SLAOverdue}); err != nil {
		t.Fatalf("record SLA: %v", err)
	}

	cases := []struct {
		query string
		want  string
		next  string
	}{
		{"", "L1 L2 L3", ""},
		{"?rep=Anna+Snelling", "L1 L3", ""},
		{"?sla=overdue", "L3", ""},
		{"?state=open&limit=2", "L1 L2", "L2"},
		{"?after=L2", "L3", ""},
	}
	for _, tc := range cases {
		resp := ts.do(http.MethodGet, "/api/v1/leads"+tc.query, nil, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("list %q: status %d; body %s", tc.query, resp.status, resp.body)
		}
		var list LeadList
		resp.decode(t, &list)
		var ids []string
		for _, lead := range list.Leads {
			ids = append(ids, lead.OpportunityID)
		}
		if got := strings.Join(ids, " "); got != tc.want || list.Next != tc.next {
			t.Errorf("list %q = %q next %q, expected %q next %q", tc.query, got, list.Next, tc.want, tc.next)
		}
	}
	ts.do(http.MethodGet, "/api/v1/leads?state=late", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "late")
	ts.do(http.MethodGet, "/api/v1/leads?sla=late", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "late")
	ts.do(http.MethodGet, "/api/v1/leads?limit=0", nil, nil).expectError(t, http.StatusBadRequest, "invalid_argument", "limit")
}

func TestLeadsWithoutService(t *testing.T) {
	ts := newTestServer(t, "sqlite", nil)
	ts.postJSON("/api/v1/leads", CreateLeadRequest{ID: "L1", Rep: "Anna Snelling"}).
		expectError(t, http.StatusServiceUnavailable, "unavailable", "lead SLA")
}
