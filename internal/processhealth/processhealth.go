// Package processhealth computes the three process-health measures from
// the timestamps ordo records, for any period, in total and by sales team
// or region:
//
//   - lead response within 48 h: leads first contacted within 48 hours of
//     their assignment ÷ leads assigned in the period, target ≥ 92 %;
//   - cross-department blocking rate: tickets returned or timed out ÷
//     tickets routed in the period, target ≤ 5 %;
//   - high-risk intervention: red customers met or called within 72 hours
//     of turning red ÷ customers that turned red in the period,
//     target ≥ 85 %.
//
// A lead or red customer whose window is still open when the report is
// computed is neither a success nor a failure yet: it is counted as
// pending and left out of the denominator.
package processhealth

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/store"
)

// Measure keys.
const (
	LeadResponse         = "lead_response_48h"
	BlockingRate         = "cross_department_blocking_rate"
	HighRiskIntervention = "high_risk_intervention_72h"
)

// Grouping of the figures.
const (
	ByTeam   = "team"
	ByRegion = "region"
)

// Unassigned names the group of records whose rep is unknown.
const Unassigned = "(unassigned)"

// Options sets the report's period, clock and grouping.
type Options struct {
	From, To time.Time
	// Now decides which windows are still open.
	Now time.Time
	// GroupBy is ByTeam, ByRegion or empty for totals only.
	GroupBy string
	// LeadWindow and InterventionWindow default to 48 and 72 hours.
	LeadWindow         time.Duration
	InterventionWindow time.Duration
}

// Figure is a measure's count for the whole period or one group.
type Figure struct {
	Group       string `json:"group,omitempty"`
	Numerator   int    `json:"numerator"`
	Denominator int    `json:"denominator"`
	// Pending records are still inside their window and not counted.
	Pending int `json:"pending"`
	// Rate is Numerator ÷ Denominator, absent when nothing is counted.
	Rate *float64 `json:"rate,omitempty"`
}

// Measure is one process-health measure with its target.
type Measure struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Numerator   string `json:"numerator_counts"`
	Denominator string `json:"denominator_counts"`
	// Target is the rate to reach; HigherIsBetter selects on which side.
	Target         float64  `json:"target"`
	HigherIsBetter bool     `json:"higher_is_better"`
	Total          Figure   `json:"total"`
	MeetsTarget    *bool    `json:"meets_target,omitempty"`
	Groups         []Figure `json:"groups,omitempty"`
}

// Report is the three measures for a period.
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Computed time.Time `json:"computed_at"`
	GroupBy  string    `json:"group_by,omitempty"`
	Measures []Measure `json:"measures"`
}

// Compute reads the recorded timestamps and returns the report.
func Compute(ctx context.Context, db bun.IDB, opts Options) (*Report, error) {
	if !opts.To.After(opts.From) {
		return nil, fmt.Errorf("invalid period: to %s must be after from %s", opts.To.Format(time.RFC3339), opts.From.Format(time.RFC3339))
	}
	if opts.GroupBy != "" && opts.GroupBy != ByTeam && opts.GroupBy != ByRegion {
		return nil, fmt.Errorf("invalid grouping %q: use %s, %s or none", opts.GroupBy, ByTeam, ByRegion)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.LeadWindow <= 0 {
		opts.LeadWindow = 48 * time.Hour
	}
	if opts.InterventionWindow <= 0 {
		opts.InterventionWindow = 72 * time.Hour
	}
	groups, err := loadGroups(ctx, db)
	if err != nil {
		return nil, err
	}
	report := &Report{From: opts.From.UTC(), To: opts.To.UTC(), Computed: opts.Now.UTC(), GroupBy: opts.GroupBy}

	leads, err := leadResponse(ctx, db, opts, groups)
	if err != nil {
		return nil, err
	}
	tickets, err := blockingRate(ctx, db, opts, groups)
	if err != nil {
		return nil, err
	}
	red, err := intervention(ctx, db, opts, groups)
	if err != nil {
		return nil, err
	}
	report.Measures = []Measure{leads, tickets, red}
	return report, nil
}

// outcome is one record's contribution to a measure.
type outcome int

const (
	counted outcome = iota // in the denominator only
	success                // in the numerator and the denominator
	pending                // in neither
)

// tally adds up outcomes in total and by group.
type tally struct {
	total  Figure
	groups map[string]*Figure
}

func newTally() *tally { return &tally{groups: map[string]*Figure{}} }

func (t *tally) add(group string, o outcome) {
	figures := []*Figure{&t.total}
	if group != "" {
		f, ok := t.groups[group]
		if !ok {
			f = &Figure{Group: group}
			t.groups[group] = f
		}
		figures = append(figures, f)
	}
	for _, f := range figures {
		switch o {
		case success:
			f.Numerator++
			f.Denominator++
		case counted:
			f.Denominator++
		case pending:
			f.Pending++
		}
	}
}

func (t *tally) measure(m Measure) Measure {
	m.Total = withRate(t.total)
	if m.Total.Rate != nil {
		meets := *m.Total.Rate >= m.Target
		if !m.HigherIsBetter {
			meets = *m.Total.Rate <= m.Target
		}
		m.MeetsTarget = &meets
	}
	names := make([]string, 0, len(t.groups))
	for name := range t.groups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m.Groups = append(m.Groups, withRate(*t.groups[name]))
	}
	return m
}

func withRate(f Figure) Figure {
	if f.Denominator > 0 {
		rate := float64(f.Numerator) / float64(f.Denominator)
		f.Rate = &rate
	}
	return f
}

// groupIndex maps reps to their team and region, and customers to the
// rep of their newest contract.
type groupIndex struct {
	team, region map[string]string
	owner        map[string]string
}

func loadGroups(ctx context.Context, db bun.IDB) (*groupIndex, error) {
	g := &groupIndex{team: map[string]string{}, region: map[string]string{}, owner: map[string]string{}}
	var agents []store.SalesAgent
	if err := db.NewSelect().Model(&agents).Column("name", "manager", "regional_office").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read sales teams: %w", err)
	}
	for _, a := range agents {
		g.team[a.Name] = a.Manager
		g.region[a.Name] = a.RegionalOffice
	}
	var contracts []store.Contract
	if err := db.NewSelect().Model(&contracts).Column("customer_no", "sales_agent", "signed_on").
		OrderExpr("signed_on ASC, contract_no ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read contract owners: %w", err)
	}
	for _, c := range contracts {
		if c.SalesAgent != "" {
			g.owner[c.CustomerNo] = c.SalesAgent
		}
	}
	return g, nil
}

// of returns the group of a rep under the grouping, or "" for totals only.
func (g *groupIndex) of(groupBy, rep string) string {
	var name string
	switch groupBy {
	case ByTeam:
		name = g.team[rep]
	case ByRegion:
		name = g.region[rep]
	default:
		return ""
	}
	if name == "" {
		return Unassigned
	}
	return name
}

func leadResponse(ctx context.Context, db bun.IDB, opts Options, groups *groupIndex) (Measure, error) {
	var leads []store.Lead
	err := db.NewSelect().Model(&leads).Column("opportunity_id", "sales_agent", "assigned_at", "first_contact_at").
		Where("assigned_at >= ? AND assigned_at < ?", opts.From.UTC(), opts.To.UTC()).Scan(ctx)
	if err != nil {
		return Measure{}, fmt.Errorf("read leads assigned from %s to %s: %w", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339), err)
	}
	t := newTally()
	for _, l := range leads {
		due := l.AssignedAt.Add(opts.LeadWindow)
		o := counted
		switch {
		case l.FirstContactAt != nil && !l.FirstContactAt.After(due):
			o = success
		case l.FirstContactAt == nil && opts.Now.Before(due):
			o = pending
		}
		t.add(groups.of(opts.GroupBy, l.SalesAgent), o)
	}
	return t.measure(Measure{
		Key: LeadResponse, Name: "lead response within 48 h",
		Numerator:   "leads first contacted within 48 h of assignment",
		Denominator: "leads assigned in the period, except those still inside their 48 h",
		Target:      0.92, HigherIsBetter: true,
	}), nil
}

func blockingRate(ctx context.Context, db bun.IDB, opts Options, groups *groupIndex) (Measure, error) {
	var tickets []store.Ticket
	err := db.NewSelect().Model(&tickets).Column("id", "customer_no", "sender", "returned_at", "escalated_at").
		Where("created_at >= ? AND created_at < ?", opts.From.UTC(), opts.To.UTC()).Scan(ctx)
	if err != nil {
		return Measure{}, fmt.Errorf("read tickets routed from %s to %s: %w", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339), err)
	}
	t := newTally()
	for _, ticket := range tickets {
		o := counted
		if ticket.ReturnedAt != nil || ticket.EscalatedAt != nil {
			o = success
		}
		rep := ticket.From
		if _, isRep := groups.team[rep]; !isRep {
			rep = groups.owner[ticket.CustomerNo]
		}
		t.add(groups.of(opts.GroupBy, rep), o)
	}
	return t.measure(Measure{
		Key: BlockingRate, Name: "cross-department blocking rate",
		Numerator:   "tickets returned to the sender or escalated after their response deadline",
		Denominator: "tickets routed in the period, open ones included",
		Target:      0.05, HigherIsBetter: false,
	}), nil
}

func intervention(ctx context.Context, db bun.IDB, opts Options, groups *groupIndex) (Measure, error) {
	var tags []store.CustomerTag
	err := db.NewSelect().Model(&tags).Column("customer", "customer_no", "tagged_at").
		Where("color = ?", store.ColorRed).
		Where("tagged_at >= ? AND tagged_at < ?", opts.From.UTC(), opts.To.UTC()).
		OrderExpr("customer_no, tagged_at").Scan(ctx)
	if err != nil {
		return Measure{}, fmt.Errorf("read red customers from %s to %s: %w", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339), err)
	}
	t := newTally()
	// A customer that turned red twice in the period counts once, from
	// its first red tag.
	seen := map[string]bool{}
	for _, tag := range tags {
		if seen[tag.CustomerNo] {
			continue
		}
		seen[tag.CustomerNo] = true
		due := tag.TaggedAt.Add(opts.InterventionWindow)
		var met int
		err := db.NewSelect().Model((*store.Interaction)(nil)).ColumnExpr("COUNT(*)").
			Where("customer_no = ?", tag.CustomerNo).
			Where("channel IN (?)", bun.In(store.InterventionChannels)).
			Where("at >= ? AND at <= ?", tag.TaggedAt.UTC(), due.UTC()).
			Scan(ctx, &met)
		if err != nil {
			return Measure{}, fmt.Errorf("read interventions with customer %s: %w", tag.Customer, err)
		}
		o := counted
		switch {
		case met > 0:
			o = success
		case opts.Now.Before(due):
			o = pending
		}
		t.add(groups.of(opts.GroupBy, groups.owner[tag.CustomerNo]), o)
	}
	return t.measure(Measure{
		Key: HighRiskIntervention, Name: "high-risk intervention within 72 h",
		Numerator:   "red customers met, called or visited within 72 h of turning red",
		Denominator: "customers that turned red in the period, except those still inside their 72 h",
		Target:      0.85, HigherIsBetter: true,
	}), nil
}
