package notify

// Template keys. Each names a title and a body in every message file
// under messages/, filled from TaskRequest.Params.
const (
	TemplateLeadReminder        = "lead_reminder"
	TemplateLeadAlert           = "lead_alert"
	TemplateFollowUpReminder    = "follow_up_reminder"
	TemplateFollowUpAlert       = "follow_up_alert"
	TemplateRenewalTask         = "renewal_task"
	TemplateRenewalSMS          = "renewal_sms"
	TemplateRenewalEscalation   = "renewal_escalation"
	TemplateTicketNew           = "ticket_new"
	TemplateTicketEscalation    = "ticket_escalation"
	TemplateApprovalRequest     = "approval_request"
	TemplateVerificationRequest = "verification_request"
)

// ParamDeadline is filled from the task's due time when the caller does
// not pass it, formatted in the renderer's time zone.
const ParamDeadline = "deadline"

// TemplateParams lists, per template, the params its texts use. Callers
// pass them preformatted as strings, in the language of the configured
// locale where they are words. A param that is missing or empty renders
// as a visible placeholder such as "[missing account]".
//
//	lead_reminder         to the rep: lead_id, account, product, rep, deadline
//	lead_alert            to the rep's supervisor: lead_id, account, product, rep, deadline
//	                      (deadline is the missed first-contact deadline)
//	follow_up_reminder    to the rep: account, rep, last_contact (date), deadline
//	follow_up_alert       to the rep's supervisor: account, rep, last_contact, deadline
//	renewal_task          to the customer success manager: contract_no, account,
//	                      end_date, owner (the manager's name), deadline
//	renewal_sms           to the customer by SMS: company (the seller's short name,
//	                      shown as the SMS signature), account, contract_no, end_date
//	renewal_escalation    to the manager's superior: contract_no, account, end_date, owner
//	ticket_new            to the product department: ticket_id, account, summary, deadline
//	ticket_escalation     to the COO: ticket_id, account, summary, team (the team that
//	                      did not respond), opened_at
//	approval_request      to the approver: approval_id, requester, account, request
//	                      (what is requested, e.g. "12% discount"), amount (with its
//	                      currency), reason, deadline
//	verification_request  to the supervisor: account, reps (the names, comma
//	                      separated), since (start of the window), deadline
var TemplateParams = map[string][]string{
	TemplateLeadReminder:        {"lead_id", "account", "product", "rep", ParamDeadline},
	TemplateLeadAlert:           {"lead_id", "account", "product", "rep", ParamDeadline},
	TemplateFollowUpReminder:    {"account", "rep", "last_contact", ParamDeadline},
	TemplateFollowUpAlert:       {"account", "rep", "last_contact", ParamDeadline},
	TemplateRenewalTask:         {"contract_no", "account", "end_date", "owner", ParamDeadline},
	TemplateRenewalSMS:          {"company", "account", "contract_no", "end_date"},
	TemplateRenewalEscalation:   {"contract_no", "account", "end_date", "owner"},
	TemplateTicketNew:           {"ticket_id", "account", "summary", ParamDeadline},
	TemplateTicketEscalation:    {"ticket_id", "account", "summary", "team", "opened_at"},
	TemplateApprovalRequest:     {"approval_id", "requester", "account", "request", "amount", "reason", ParamDeadline},
	TemplateVerificationRequest: {"account", "reps", "since", ParamDeadline},
}
