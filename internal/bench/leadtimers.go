package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/store"
)

// benchLeadPrefix starts the opportunity id of every lead the timer
// benchmark creates.
const benchLeadPrefix = "BT"

// benchReps are the reps the benchmark's leads are assigned to, with
// their managers, so every lead's reminder goes to a real rep.
var benchReps = []store.SalesAgent{
	{Name: "Anna Snelling", Manager: "Dustin Brinkmann", RegionalOffice: "Central"},
	{Name: "Moses Frase", Manager: "Dustin Brinkmann", RegionalOffice: "Central"},
	{Name: "Versie Hillebrand", Manager: "Dustin Brinkmann", RegionalOffice: "Central"},
	{Name: "Kami Bicknell", Manager: "Melvin Marxen", RegionalOffice: "Central"},
}

// SeedLeads stores n open leads all assigned at assignedAt, for ordo's
// lead starter to pick up: every lead's first-contact clock starts at the
// same instant, so their reminders are due together.
func SeedLeads(ctx context.Context, st *store.Store, n int, assignedAt time.Time) error {
	if err := seedReps(ctx, st); err != nil {
		return err
	}
	const batch = 500
	for first := 0; first < n; first += batch {
		leads := make([]store.Lead, 0, batch)
		for i := first; i < min(first+batch, n); i++ {
			leads = append(leads, benchLead(i, assignedAt))
		}
		if err := store.UpsertLeads(ctx, st.DB, leads, true); err != nil {
			return fmt.Errorf("store the benchmark's leads: %w", err)
		}
	}
	return nil
}

// SeedLeadAt stores one open lead, number i, assigned at assignedAt.
func SeedLeadAt(ctx context.Context, st *store.Store, i int, assignedAt time.Time) error {
	if err := seedReps(ctx, st); err != nil {
		return err
	}
	if err := store.UpsertLeads(ctx, st.DB, []store.Lead{benchLead(i, assignedAt)}, true); err != nil {
		return fmt.Errorf("store the benchmark's lead %d: %w", i, err)
	}
	return nil
}

func benchLead(i int, assignedAt time.Time) store.Lead {
	return store.Lead{
		OpportunityID: fmt.Sprintf("%s%06d", benchLeadPrefix, i),
		SalesAgent:    benchReps[i%len(benchReps)].Name,
		AccountName:   "Cancity", ProductName: "GTX Pro",
		Stage: store.StageProspecting, State: store.LeadOpen,
		AssignedAt: assignedAt.UTC(), CreatedAt: assignedAt.UTC(), UpdatedAt: time.Now().UTC(),
	}
}

func seedReps(ctx context.Context, st *store.Store) error {
	now := time.Now().UTC()
	agents := make([]store.SalesAgent, len(benchReps))
	for i, rep := range benchReps {
		rep.CreatedAt, rep.UpdatedAt = now, now
		agents[i] = rep
	}
	if _, err := st.DB.NewInsert().Model(&agents).On("CONFLICT (name) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("store the benchmark's reps: %w", err)
	}
	return nil
}

// LeadReminders returns, for every benchmark lead whose reminder task
// exists, when the task was recorded and when its email was sent (zero
// while unsent).
func LeadReminders(ctx context.Context, st *store.Store) (recorded, sent map[int]time.Time, err error) {
	var rows []struct {
		Subject   string     `bun:"subject"`
		CreatedAt time.Time  `bun:"created_at"`
		SentAt    *time.Time `bun:"sent_at"`
	}
	err = st.DB.NewSelect().TableExpr("tasks AS t").
		ColumnExpr("t.subject, t.created_at, n.sent_at").
		Join("LEFT JOIN notifications AS n ON n.task_id = t.id AND n.channel = 'email'").
		Where("t.kind = ?", activities.TaskLeadReminder).
		Where("t.subject LIKE ?", "lead:"+benchLeadPrefix+"%").
		Scan(ctx, &rows)
	if err != nil {
		return nil, nil, fmt.Errorf("read reminder tasks: %w", err)
	}
	recorded, sent = map[int]time.Time{}, map[int]time.Time{}
	for _, row := range rows {
		i, convErr := strconv.Atoi(strings.TrimPrefix(row.Subject, "lead:"+benchLeadPrefix))
		if convErr != nil {
			continue
		}
		recorded[i] = row.CreatedAt
		if row.SentAt != nil {
			sent[i] = *row.SentAt
		}
	}
	return recorded, sent, nil
}
