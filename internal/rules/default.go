package rules

import (
	_ "embed"
	"time"

	"github.com/shopspring/decimal"
)

// defaultYAML is Default written out with a comment on every key. It is a
// copy of deploy/rules.example.yaml; a test keeps the two files equal and
// checks that the text parses to Default().
//
//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the text of the default rules, commented, as ordo
// stores it for version 1.
func DefaultYAML() []byte {
	return append([]byte(nil), defaultYAML...)
}

// Default returns the rules a new installation starts with: the lead,
// renewal, ticket, approval and verification rules of a mid-size
// distributor selling in CNY, working hours 09:00 to 18:00 in Shanghai,
// and invented role holders at example.com that a site replaces.
func Default() Document {
	return Document{
		Leads: Leads{
			FirstContact: Deadline{
				Within: hours(48), Hours: CalendarHours, RemindBefore: hours(4),
				ReminderTemplate: "lead_reminder", EscalationTemplate: "lead_alert",
			},
			FollowUp: Deadline{
				Within: hours(45), Hours: WorkingHours, RemindBefore: hours(4),
				ReminderTemplate: "follow_up_reminder", EscalationTemplate: "follow_up_alert",
			},
		},
		Renewals: Renewals{
			NoticeBefore: days(30),
			ActWithin:    Deadline{Within: hours(27), Hours: WorkingHours, EscalationTemplate: "renewal_escalation"},
			DefaultTerm:  days(365),
			TaskTemplate: "renewal_task",
			SMSTemplate:  "renewal_sms",
			EscalateTo:   RoleSalesDirector,
		},
		Tickets: Tickets{
			RouteTo:               RoleProduct,
			Template:              "ticket_new",
			Respond:               Deadline{Within: hours(48), Hours: CalendarHours, EscalationTemplate: "ticket_escalation"},
			EscalateTo:            RoleCOO,
			FreezeRenewalApproval: true,
		},
		Approvals: Approvals{
			Currency: "CNY",
			Routes: []Route{
				{UpTo: amount(30000), Levels: []Level{
					{Role: RoleSupervisor, Timeout: hours(9), Hours: WorkingHours, EscalateTo: RoleSalesDirector},
				}},
				{UpTo: amount(200000), Levels: []Level{
					{Role: RoleSalesDirector, Timeout: hours(9), Hours: WorkingHours, EscalateTo: RoleCOO},
				}},
				{Levels: []Level{
					{Role: RoleSalesDirector, Timeout: hours(18), Hours: WorkingHours, EscalateTo: RoleCOO},
					{Role: RoleFinance, Timeout: hours(18), Hours: WorkingHours, EscalateTo: RoleCOO},
				}},
			},
			Template: "approval_request",
		},
		Verification: Verification{
			DistinctReps: 3,
			Window:       hours(24),
			VerifierRole: RoleSupervisor,
			Template:     "verification_request",
		},
		Calendar: Calendar{TimeZone: "Asia/Shanghai", DayStart: "09:00", DayEnd: "18:00"},
		People: People{
			EmailDomain: "example.com",
			Roles: map[string]Person{
				RoleSalesDirector:   {Name: "Zhou Min"},
				RoleCOO:             {Name: "Chen Jianguo"},
				RoleFinance:         {Name: "Lin Xiaoyan"},
				RoleCustomerSuccess: {Name: "Huang Lei"},
				RoleProduct:         {Name: "Xu Ting"},
			},
		},
	}
}

func hours(n int64) Duration { return Duration(time.Duration(n) * time.Hour) }

func days(n int64) Duration { return hours(24 * n) }

func amount(n int64) *decimal.Decimal {
	d := decimal.NewFromInt(n)
	return &d
}
