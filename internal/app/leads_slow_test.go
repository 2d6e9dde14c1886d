//go:build slow

package app_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/workflows"
)

// sampleOpenLeads is the number of Prospecting and Engaging deals of the
// sample export, all with a rep.
const sampleOpenLeads = 2089

// checkSampleLeadWorkflows checks, after the first import of the sample
// export, that every open lead has a running LeadSLA workflow, listed in
// Temporal's visibility with OrdoKind = "lead".
func checkSampleLeadWorkflows(t *testing.T, s *stack, first api.ImportEvent) {
	t.Helper()
	if first.Summary.Leads.Created != sampleOpenLeads || first.LeadsStarted > sampleOpenLeads {
		t.Fatalf("first import created %d leads and started %d lead workflows, expected %d and at most as many",
			first.Summary.Leads.Created, first.LeadsStarted, sampleOpenLeads)
	}
	// The lead starter's background pass may start some of the workflows
	// while the import runs, so the import's own count can be lower.
	t.Logf("the import started %d lead workflows, the background pass the others", first.LeadsStarted)

	ids := listOpenLeadIDs(t, s.API)
	if len(ids) != sampleOpenLeads {
		t.Fatalf("API lists %d open or contacted leads, expected %d", len(ids), sampleOpenLeads)
	}
	c := s.TemporalClient()
	waitForRunningLeadWorkflows(t, c, sampleOpenLeads, 3*time.Minute)
	for i, id := range ids {
		if i%100 != 0 {
			continue
		}
		if status, kind := describeLeadWorkflow(t, c, id); status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || kind != workflows.LeadKind {
			t.Errorf("workflow of lead %s is %s with OrdoKind %q, expected running with %q", id, status, kind, workflows.LeadKind)
		}
	}
}

// listOpenLeadIDs pages through the leads of the API that are not closed.
func listOpenLeadIDs(t testing.TB, c *apiclient.Client) []string {
	t.Helper()
	var ids []string
	for _, state := range []string{store.LeadOpen, store.LeadContacted} {
		after := ""
		for {
			var page api.LeadList
			query := url.Values{"state": {state}, "limit": {"1000"}, "after": {after}}
			if err := c.Get(context.Background(), "/api/v1/leads", query, &page); err != nil {
				t.Fatalf("list %s leads: %v", state, err)
			}
			for _, lead := range page.Leads {
				ids = append(ids, lead.OpportunityID)
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
	}
	return ids
}

// waitForRunningLeadWorkflows waits until Temporal's visibility lists
// want running workflows with OrdoKind = "lead".
func waitForRunningLeadWorkflows(t testing.TB, c client.Client, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: `OrdoKind = "lead" AND ExecutionStatus = "Running"`,
		})
		// The import's chains keep the server busy, so a single count may
		// time out; only the deadline ends the wait.
		if err == nil && int(resp.GetCount()) == want {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("count lead workflows, still failing after %s: %v", timeout, err)
			}
			t.Fatalf("Temporal lists %d running workflows with OrdoKind = lead after %s, expected %d", resp.GetCount(), timeout, want)
		}
		time.Sleep(time.Second)
	}
}
