package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// newDLQCLI runs ordo commands against the real API handler on a fresh
// SQLite store, which the test seeds with dead letters.
func newDLQCLI(t *testing.T) (*rulesCLI, *store.Store) {
	t.Helper()
	t.Setenv("ORDO_API_TOKEN", "")
	st := storetest.Open(t, "sqlite")
	server := &api.Server{Store: st, Config: config.Default(), Logger: logging.Discard()}
	httpServer := httptest.NewServer(server.Handler())
	t.Cleanup(httpServer.Close)
	return &rulesCLI{t: t, server: httpServer.URL, dir: t.TempDir()}, st
}

// seedCustomerLetter stores a dead letter of the customers sync for
// customer number. A named customer is valid, so its retry resolves, and
// a customer without a name fails again.
func seedCustomerLetter(t *testing.T, st *store.Store, number, name string) int64 {
	t.Helper()
	record := fmt.Sprintf(`{"id":1,"number":%q,"name":%q,"document_status":"C","modified_at":"2026-11-30T10:00:00"}`, number, name)
	letters := []store.DeadLetter{{SyncName: erpsync.StreamCustomers, RecordKey: number, Context: record, Error: "FName is missing"}}
	require.NoError(t, store.AddDeadLetters(context.Background(), st.DB, letters))
	return letters[0].ID
}

func TestDLQListCommand(t *testing.T) {
	cli, st := newDLQCLI(t)
	out, _, err := cli.run("", "dlq", "list")
	require.NoError(t, err)
	assert.Equal(t, "No dead letters.\n", out)

	first := seedCustomerLetter(t, st, "C001", "")
	second := seedCustomerLetter(t, st, "C002", "")
	third := seedCustomerLetter(t, st, "C003", "")

	out, _, err = cli.run("", "dlq", "list")
	require.NoError(t, err)
	assert.Regexp(t, `^ID\s+SYNC\s+RECORD\s+STATE\s+ATTEMPTS\s+ERROR\n`, out)
	assert.Regexp(t, fmt.Sprintf(`(?m)^%d\s+customers\s+C003\s+open\s+1\s+FName is missing$`, third), out)
	assert.NotContains(t, out, "More dead letters follow")

	out, _, err = cli.run("", "dlq", "list", "--limit", "2")
	require.NoError(t, err)
	assert.Contains(t, out, "C003")
	assert.Contains(t, out, "C002")
	assert.NotContains(t, out, "C001")
	assert.Contains(t, out, fmt.Sprintf("\nMore dead letters follow: run again with --after %d.\n", second))

	out, _, err = cli.run("", "dlq", "list", "--limit", "2", "--after", fmt.Sprint(second))
	require.NoError(t, err)
	assert.Regexp(t, fmt.Sprintf(`(?m)^%d\s+customers\s+C001\s`, first), out)
	assert.NotContains(t, out, "C002")
	assert.NotContains(t, out, "More dead letters follow")

	out, _, err = cli.run("", "dlq", "list", "--json", "--limit", "1")
	require.NoError(t, err)
	var list api.DeadLetterList
	require.NoError(t, json.Unmarshal([]byte(out), &list), "JSON output %q", out)
	require.Len(t, list.DeadLetters, 1)
	assert.Equal(t, third, list.DeadLetters[0].ID)
	assert.Equal(t, fmt.Sprint(third), list.Next)

	_, _, err = cli.run("", "dlq", "list", "--state", "stuck")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `state "stuck" is invalid: use open, requeued or resolved (HTTP 400 invalid_argument)`)
}

func TestDLQRetryCommand(t *testing.T) {
	cli, st := newDLQCLI(t)
	valid := seedCustomerLetter(t, st, "C100", "Cancity Ltd")
	invalid := seedCustomerLetter(t, st, "C200", "")

	out, _, err := cli.run("", "dlq", "retry", fmt.Sprint(valid), "--by", "Lin Fang")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("Dead letter %d (customers C100) applied and resolved.\n", valid), out)
	audit, err := store.DLQAuditOf(context.Background(), st.DB, valid)
	require.NoError(t, err)
	require.Len(t, audit, 1)
	assert.Equal(t, "Lin Fang", audit[0].By)
	assert.Equal(t, erpsync.OutcomeResolved, audit[0].Outcome)

	_, _, err = cli.run("", "dlq", "retry", fmt.Sprint(valid), "--by", "Lin Fang")
	require.Error(t, err, "a second retry of a resolved letter")
	assert.Contains(t, err.Error(), fmt.Sprintf("dead letter %d (customers C100): dead letter is already resolved (HTTP 409 conflict)", valid))
	audit, err = store.DLQAuditOf(context.Background(), st.DB, valid)
	require.NoError(t, err)
	assert.Len(t, audit, 1, "a rejected second retry is not audited")

	out, _, err = cli.run("", "dlq", "retry", fmt.Sprint(invalid), "--by", "Lin Fang")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("Dead letter %d (customers C200) failed again and stays open after 2 attempts: "+
		"ERP customer C200: FName is missing: enter the customer name in the ERP\n", invalid), out)

	out, _, err = cli.run("", "dlq", "retry", fmt.Sprint(invalid), "--by", "Lin Fang", "--json")
	require.NoError(t, err)
	var result erpsync.RetryResult
	require.NoError(t, json.Unmarshal([]byte(out), &result), "JSON output %q", out)
	assert.Equal(t, erpsync.OutcomeFailed, result.Outcome)
	assert.Equal(t, 3, result.DeadLetter.Attempts)

	_, _, err = cli.run("", "dlq", "retry", "999999", "--by", "Lin Fang")
	require.Error(t, err)
	assert.Equal(t, "dead letter 999999 not found: use an id from GET /api/v1/dead-letters (ordo dlq list) (HTTP 404 not_found)", err.Error())

	_, _, err = cli.run("", "dlq", "retry", "C100", "--by", "Lin Fang")
	require.Error(t, err)
	assert.Equal(t, `dead letter id "C100" is invalid: use the numeric id from ordo dlq list`, err.Error())

	_, _, err = cli.run("", "dlq", "retry", fmt.Sprint(invalid), "--by", " ")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "by is required: name the operator for the audit (HTTP 400 invalid_argument)")
}
