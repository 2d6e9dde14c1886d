// Package rules is the versioned rules document that managers change
// without a redeploy: every threshold, deadline, escalation target,
// working-hours choice and template name of ordo's long-running processes.
//
// A workflow reads the version in force when it starts and keeps it to the
// end; a new version applies to workflows started after it.
package rules

import (
	"strings"

	"github.com/shopspring/decimal"
)

// Hours is how a deadline counts time.
type Hours string

const (
	// CalendarHours counts every hour of every day.
	CalendarHours Hours = "calendar"
	// WorkingHours counts only working time on working days, following the
	// business calendar (Chinese public holidays and make-up working days).
	WorkingHours Hours = "working"
)

// Document is one version of the rules.
type Document struct {
	Leads        Leads        `yaml:"leads" json:"leads"`
	Renewals     Renewals     `yaml:"renewals" json:"renewals"`
	Tickets      Tickets      `yaml:"tickets" json:"tickets"`
	Approvals    Approvals    `yaml:"approvals" json:"approvals"`
	Verification Verification `yaml:"verification" json:"verification"`
	Calendar     Calendar     `yaml:"calendar" json:"calendar"`
	People       People       `yaml:"people" json:"people"`
}

// Deadline is a response deadline with its reminder and escalation.
type Deadline struct {
	// Within is the time allowed for the response.
	Within Duration `yaml:"within" json:"within"`
	// Hours selects whether Within counts calendar or working hours.
	Hours Hours `yaml:"hours" json:"hours"`
	// RemindBefore is how long before the deadline the owner is reminded;
	// zero sends no reminder.
	RemindBefore Duration `yaml:"remind_before" json:"remind_before"`
	// Template names the notification template of the reminder.
	ReminderTemplate string `yaml:"reminder_template" json:"reminder_template"`
	// EscalationTemplate names the template of the alert sent when the
	// deadline passes.
	EscalationTemplate string `yaml:"escalation_template" json:"escalation_template"`
}

// Leads holds the lead response SLA and the follow-up rule for customers.
type Leads struct {
	// FirstContact: a lead assigned to a rep must be contacted within this
	// deadline; when it passes, the rep's supervisor is alerted.
	FirstContact Deadline `yaml:"first_contact" json:"first_contact"`
	// FollowUp: a lead already in contact must be followed up within this
	// deadline of the last contact.
	FollowUp Deadline `yaml:"follow_up" json:"follow_up"`
}

// Renewals holds the renewal reminder rule.
type Renewals struct {
	// NoticeBefore is how long before the contract's end the reminder fires.
	NoticeBefore Duration `yaml:"notice_before" json:"notice_before"`
	// ActWithin is how long the customer success manager has to act on
	// the reminder before it escalates one level up.
	ActWithin Deadline `yaml:"act_within" json:"act_within"`
	// DefaultTerm is the contract term used when a contract has no end
	// date of its own (the CRM export carries none).
	DefaultTerm Duration `yaml:"default_term" json:"default_term"`
	// TaskTemplate names the template of the task for the customer
	// success manager; SMSTemplate the SMS to the customer.
	TaskTemplate string `yaml:"task_template" json:"task_template"`
	SMSTemplate  string `yaml:"sms_template" json:"sms_template"`
	// EscalateTo is the role one level up from the customer success
	// manager.
	EscalateTo string `yaml:"escalate_to" json:"escalate_to"`
}

// Tickets holds the cross-department ticket rule.
type Tickets struct {
	// RouteTo is the role that receives customers' feature requests.
	RouteTo string `yaml:"route_to" json:"route_to"`
	// Template names the notification template that tells RouteTo about
	// a new ticket.
	Template string `yaml:"template" json:"template"`
	// Respond is the response deadline.
	Respond Deadline `yaml:"respond" json:"respond"`
	// EscalateTo is the role alerted by email when the deadline passes.
	EscalateTo string `yaml:"escalate_to" json:"escalate_to"`
	// FreezeRenewalApproval freezes the customer's next renewal approval
	// while the ticket is overdue and unanswered.
	FreezeRenewalApproval bool `yaml:"freeze_renewal_approval" json:"freeze_renewal_approval"`
}

// Approvals holds the approval routes of discount and price-change
// requests, chosen by amount.
type Approvals struct {
	// Currency of the thresholds; requests in another currency are
	// converted at the configured rate before the route is chosen.
	Currency string `yaml:"currency" json:"currency"`
	// Routes in ascending order of UpTo; the last has no UpTo and takes
	// every larger amount.
	Routes []Route `yaml:"routes" json:"routes"`
	// Template names the notification template sent to each approver.
	Template string `yaml:"template" json:"template"`
}

// Route is the approval route for amounts up to and including UpTo.
type Route struct {
	UpTo   *decimal.Decimal `yaml:"up_to,omitempty" json:"up_to,omitempty"`
	Levels []Level          `yaml:"levels" json:"levels"`
}

// Level is one approval level: who decides, how long they have, and who
// takes over when they do not decide in time.
type Level struct {
	Role       string   `yaml:"role" json:"role"`
	Timeout    Duration `yaml:"timeout" json:"timeout"`
	Hours      Hours    `yaml:"hours" json:"hours"`
	EscalateTo string   `yaml:"escalate_to" json:"escalate_to"`
}

// Verification holds the rule against false "signed" reports.
type Verification struct {
	// DistinctReps reporting the same customer signed within Window hold
	// the contract chain until VerifierRole records a phone verification.
	DistinctReps int      `yaml:"distinct_reps" json:"distinct_reps"`
	Window       Duration `yaml:"window" json:"window"`
	VerifierRole string   `yaml:"verifier_role" json:"verifier_role"`
	Template     string   `yaml:"template" json:"template"`
}

// Calendar holds the working time used by deadlines in working hours.
type Calendar struct {
	TimeZone string `yaml:"time_zone" json:"time_zone"`
	// DayStart and DayEnd are "HH:MM" in TimeZone.
	DayStart string `yaml:"day_start" json:"day_start"`
	DayEnd   string `yaml:"day_end" json:"day_end"`
	// OverrideFile is a YAML file of holidays and make-up working days for
	// years the library does not know yet; empty uses none.
	OverrideFile string `yaml:"override_file" json:"override_file"`
}

// People maps roles to the people who hold them. The supervisor of a rep
// is the manager in the CRM's sales-team data; these are the roles above.
type People struct {
	// EmailDomain builds an address for a person with no explicit one:
	// "Dustin Brinkmann" becomes dustin.brinkmann@EmailDomain.
	EmailDomain string `yaml:"email_domain" json:"email_domain"`
	// Roles maps a role (sales_director, coo, finance,
	// customer_success, product) to a person.
	Roles map[string]Person `yaml:"roles" json:"roles"`
}

// Person is someone who receives tasks and notifications.
type Person struct {
	Name  string `yaml:"name" json:"name"`
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	Phone string `yaml:"phone,omitempty" json:"phone,omitempty"`
}

// Role names that rules refer to. "supervisor" is resolved per rep from
// the sales-team data; the others from People.Roles.
const (
	RoleSupervisor      = "supervisor"
	RoleSalesDirector   = "sales_director"
	RoleCOO             = "coo"
	RoleFinance         = "finance"
	RoleCustomerSuccess = "customer_success"
	RoleProduct         = "product"
)

// Person returns the person a name refers to: the role holder with that
// name if the document lists one, otherwise the name with an address built
// from EmailDomain. It reads only the document, so workflow code may call
// it.
func (p People) Person(name string) Person {
	for _, holder := range p.Roles {
		if holder.Name == name {
			return p.withAddress(holder)
		}
	}
	return p.withAddress(Person{Name: name})
}

// Role returns the person holding role, and false when no one holds it.
func (p People) Role(role string) (Person, bool) {
	holder, ok := p.Roles[role]
	if !ok || holder.Name == "" {
		return Person{}, false
	}
	return p.withAddress(holder), true
}

func (p People) withAddress(person Person) Person {
	if person.Email == "" && p.EmailDomain != "" && person.Name != "" {
		local := strings.ToLower(strings.Join(strings.Fields(person.Name), "."))
		person.Email = local + "@" + p.EmailDomain
	}
	return person
}
