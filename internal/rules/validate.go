package rules

import (
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/validation"
)

var (
	templateName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	roleName     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	clockTime    = regexp.MustCompile(`^[0-9]{2}:[0-9]{2}$`)
	phoneNumber  = regexp.MustCompile(`^\+?[0-9][0-9 -]{4,19}$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate checks what the types cannot: durations that must be positive,
// reminders before their deadline, approval routes in ascending order,
// roles that exist, a time zone that loads and a working day that ends
// after it starts. It returns every problem it finds, or nil.
func (d Document) Validate() validation.Problems {
	v := &validator{doc: d}
	v.leads(d.Leads)
	v.renewals(d.Renewals)
	v.tickets(d.Tickets)
	v.approvals(d.Approvals)
	v.verification(d.Verification)
	v.calendar(d.Calendar)
	v.people(d.People)
	return v.problems
}

type validator struct {
	doc      Document
	problems validation.Problems
}

func (v *validator) add(path, format string, args ...any) {
	v.problems.Add(path, format, args...)
}

func (v *validator) leads(l Leads) {
	v.deadline("leads.first_contact", l.FirstContact)
	v.deadline("leads.follow_up", l.FollowUp)
}

func (v *validator) renewals(r Renewals) {
	v.positive("renewals.notice_before", r.NoticeBefore)
	v.positive("renewals.default_term", r.DefaultTerm)
	if r.NoticeBefore > 0 && r.DefaultTerm > 0 && r.NoticeBefore >= r.DefaultTerm {
		v.add("renewals.notice_before", "must be shorter than renewals.default_term (%s), or the notice falls before the contract starts", r.DefaultTerm)
	}
	v.deadline("renewals.act_within", r.ActWithin)
	v.template("renewals.task_template", r.TaskTemplate)
	v.template("renewals.sms_template", r.SMSTemplate)
	v.role("renewals.escalate_to", r.EscalateTo)
}

func (v *validator) tickets(t Tickets) {
	v.role("tickets.route_to", t.RouteTo)
	v.template("tickets.template", t.Template)
	v.deadline("tickets.respond", t.Respond)
	v.role("tickets.escalate_to", t.EscalateTo)
}

func (v *validator) approvals(a Approvals) {
	if !currencyCode.MatchString(a.Currency) {
		v.add("approvals.currency", "%q is not an ISO 4217 code such as CNY", a.Currency)
	}
	v.template("approvals.template", a.Template)
	if len(a.Routes) == 0 {
		v.add("approvals.routes", "needs at least one route")
	}
	// previous is the index of the last route with a valid up_to, the
	// one the next up_to must exceed.
	previous := -1
	for i, route := range a.Routes {
		path := validation.Index("approvals.routes", i)
		last := i == len(a.Routes)-1
		switch {
		case route.UpTo == nil && !last:
			v.add(path+".up_to", "is required on every route but the last: routes are chosen by amount, in ascending order")
		case route.UpTo != nil && last:
			v.add(path+".up_to", "must be left out on the last route, which takes every amount above the previous routes")
		case route.UpTo != nil && !route.UpTo.IsPositive():
			v.add(path+".up_to", "must be greater than 0, got %s", route.UpTo)
		case route.UpTo != nil && previous >= 0 && !route.UpTo.GreaterThan(*a.Routes[previous].UpTo):
			v.add(path+".up_to", "must be greater than routes[%d].up_to %s", previous, a.Routes[previous].UpTo)
		}
		if route.UpTo != nil && route.UpTo.IsPositive() && (previous < 0 || route.UpTo.GreaterThan(*a.Routes[previous].UpTo)) {
			previous = i
		}
		v.levels(path, route.Levels)
	}
}

func (v *validator) levels(routePath string, levels []Level) {
	if len(levels) == 0 {
		v.add(routePath+".levels", "needs at least one approval level")
	}
	first := map[string]int{}
	for j, level := range levels {
		path := validation.Index(routePath+".levels", j)
		v.role(path+".role", level.Role)
		v.positive(path+".timeout", level.Timeout)
		v.hours(path+".hours", level.Hours)
		v.role(path+".escalate_to", level.EscalateTo)
		if level.EscalateTo != "" && level.EscalateTo == level.Role {
			v.add(path+".escalate_to", "must differ from role %q: escalating to the same role changes nothing", level.Role)
		}
		if earlier, ok := first[level.Role]; ok && level.Role != "" {
			v.add(path+".role", "%q already decides at levels[%d] of this route: each level needs another role", level.Role, earlier)
		} else {
			first[level.Role] = j
		}
	}
}

func (v *validator) verification(r Verification) {
	if r.DistinctReps < 2 {
		v.add("verification.distinct_reps", "must be at least 2, got %d: one rep reporting a signing is the normal case", r.DistinctReps)
	}
	v.positive("verification.window", r.Window)
	v.role("verification.verifier_role", r.VerifierRole)
	v.template("verification.template", r.Template)
}

func (v *validator) calendar(c Calendar) {
	if c.TimeZone == "" {
		v.add("calendar.time_zone", "is required: name an IANA time zone such as Asia/Shanghai")
	} else if _, err := time.LoadLocation(c.TimeZone); err != nil {
		v.add("calendar.time_zone", "%q is not an IANA time zone such as Asia/Shanghai", c.TimeZone)
	}
	start, startOK := v.clock("calendar.day_start", c.DayStart)
	end, endOK := v.clock("calendar.day_end", c.DayEnd)
	if startOK && endOK && end <= start {
		v.add("calendar.day_end", "must be later than calendar.day_start (%s)", c.DayStart)
	}
}

// clock parses "HH:MM" and returns the minutes since midnight.
func (v *validator) clock(path, value string) (int, bool) {
	parsed, err := time.Parse("15:04", value)
	if !clockTime.MatchString(value) || err != nil {
		v.add(path, "%q is not a time of day written as HH:MM, such as 09:00", value)
		return 0, false
	}
	return parsed.Hour()*60 + parsed.Minute(), true
}

func (v *validator) people(p People) {
	switch {
	case p.EmailDomain == "":
		v.add("people.email_domain", "is required: it builds the address of every person without an email")
	case strings.ContainsAny(p.EmailDomain, "@ \t") || !strings.Contains(p.EmailDomain, "."):
		v.add("people.email_domain", "%q is not a domain name such as example.com", p.EmailDomain)
	}
	for _, role := range sortedRoles(p.Roles) {
		person := p.Roles[role]
		path := validation.Key("people.roles", role)
		switch {
		case role == RoleSupervisor:
			v.add(path, "supervisor is each rep's manager from the CRM sales teams and cannot be assigned here: remove it")
			continue
		case !roleName.MatchString(role):
			v.add(path, "%q is not a role name: use lower-case letters, digits and _, such as sales_director", role)
		}
		if strings.TrimSpace(person.Name) == "" {
			v.add(path+".name", "is required")
		}
		if person.Email != "" {
			if address, err := mail.ParseAddress(person.Email); err != nil || address.Address != person.Email {
				v.add(path+".email", "%q is not an email address such as name@example.com", person.Email)
			}
		}
		if person.Phone != "" && !phoneNumber.MatchString(person.Phone) {
			v.add(path+".phone", "%q is not a phone number such as +86 138 0000 0000", person.Phone)
		}
	}
}

// deadline checks a response deadline and its reminder.
func (v *validator) deadline(path string, d Deadline) {
	v.positive(path+".within", d.Within)
	v.hours(path+".hours", d.Hours)
	switch {
	case d.RemindBefore < 0:
		v.add(path+".remind_before", "must not be negative, got %s: use 0 for no reminder", d.RemindBefore)
	case d.RemindBefore > 0 && d.Within > 0 && d.RemindBefore >= d.Within:
		v.add(path+".remind_before", "must be shorter than within (%s)", d.Within)
	}
	switch {
	case d.RemindBefore > 0:
		v.template(path+".reminder_template", d.ReminderTemplate)
	case d.RemindBefore == 0 && d.ReminderTemplate != "":
		v.add(path+".reminder_template", "is set but remind_before is 0, so no reminder is sent: set remind_before or remove reminder_template")
	}
	v.template(path+".escalation_template", d.EscalationTemplate)
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration such as 48h or 3d, got %s", d)
	}
}

func (v *validator) hours(path string, h Hours) {
	if h != CalendarHours && h != WorkingHours {
		v.add(path, "%q is not %s or %s", h, CalendarHours, WorkingHours)
	}
}

func (v *validator) template(path, name string) {
	switch {
	case name == "":
		v.add(path, "is required: name a notification template")
	case !templateName.MatchString(name):
		v.add(path, "%q is not a template name: use letters, digits, _, . and -", name)
	}
}

// role checks that a rule refers to supervisor or to a role of
// people.roles.
func (v *validator) role(path, role string) {
	if role == "" {
		v.add(path, "is required: name %s or a role of people.roles", RoleSupervisor)
		return
	}
	if role == RoleSupervisor {
		return
	}
	if _, ok := v.doc.People.Roles[role]; !ok {
		known := []string{RoleSupervisor}
		for _, name := range sortedRoles(v.doc.People.Roles) {
			if name != RoleSupervisor {
				known = append(known, name)
			}
		}
		v.add(path, "role %q is not defined: use one of %s, or add it under people.roles", role, strings.Join(known, ", "))
	}
}

func sortedRoles(roles map[string]Person) []string {
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
