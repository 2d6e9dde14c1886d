package workflows

import (
	"time"
)

// RenewalName is the registered workflow type name of Renewal.
const RenewalName = "Renewal"

// Signal names of the renewal workflow. Its QueryStatus returns a
// RenewalStatus, and it also takes SignalTaskCompleted.
const (
	// SignalEndDateChanged carries an EndDateChange.
	SignalEndDateChanged = "end-date-changed"
	// SignalRenewalActed carries a RenewalActed.
	SignalRenewalActed = "renewal-acted"
	// SignalRenewalRenewed carries a RenewalRenewed.
	SignalRenewalRenewed = "renewal-renewed"
	// SignalContractCancelled carries a ContractCancelled.
	SignalContractCancelled = "contract-cancelled"
)

// RenewalWorkflowID returns the ID of a contract's renewal workflow. One
// workflow follows a contract through all its terms, continuing as new
// after each renewal.
func RenewalWorkflowID(contractNo string) string {
	return "renewal-" + contractNo
}

// RenewalInput starts the renewal of one contract term.
type RenewalInput struct {
	ContractNo string `json:"contract_no"`
	// Customer is the account name of the contract.
	Customer   string `json:"customer"`
	SalesAgent string `json:"sales_agent,omitempty"`
	// EndDate is the last day of the term as midnight UTC. It is zero only
	// in a run started together with a signal that sets it or ends the
	// renewal.
	EndDate time.Time `json:"end_date"`
	// RulesVersion is the rules version to run under; 0 takes the newest
	// when the run starts.
	RulesVersion int `json:"rules_version"`
	// Cycle numbers the term: 1 for the first, one more after each
	// renewal with a new end date.
	Cycle int `json:"cycle"`
}

// EndDateChange moves the end date of the running term.
type EndDateChange struct {
	EndDate time.Time `json:"end_date"`
	By      string    `json:"by"`
}

// RenewalActed reports that someone acted on the renewal reminder, which
// stops its escalation.
type RenewalActed struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// RenewalRenewed reports that the contract was renewed. With NewEndDate
// the workflow goes on to remind about the next term.
type RenewalRenewed struct {
	NewEndDate *time.Time `json:"new_end_date,omitempty"`
	By         string     `json:"by"`
}

// ContractCancelled reports that the contract was cancelled, which ends
// its renewal.
type ContractCancelled struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// RenewalStatus is the result of QueryStatus and of a run.
type RenewalStatus struct {
	ContractNo   string `json:"contract_no"`
	Customer     string `json:"customer"`
	Cycle        int    `json:"cycle"`
	RulesVersion int    `json:"rules_version"`
	// State is one of the store.Renewal* constants from scheduled on.
	State     string     `json:"state"`
	EndDate   time.Time  `json:"end_date"`
	RemindAt  *time.Time `json:"remind_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Owner is the customer success manager who receives the reminder.
	Owner      string     `json:"owner,omitempty"`
	RemindedAt *time.Time `json:"reminded_at,omitempty"`
	// ActBy is the deadline for acting on the reminder.
	ActBy       *time.Time `json:"act_by,omitempty"`
	ActedAt     *time.Time `json:"acted_at,omitempty"`
	ActedBy     string     `json:"acted_by,omitempty"`
	EscalatedAt *time.Time `json:"escalated_at,omitempty"`
	EscalatedTo string     `json:"escalated_to,omitempty"`
	// Notes lists what a person may want to know: moved end dates,
	// ignored signals and notifications that could not be sent.
	Notes []RenewalNote `json:"notes,omitempty"`
}

// RenewalNote is one entry of RenewalStatus.Notes.
type RenewalNote struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}
