package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// LeadSLAName is the registered workflow type name of the lead response
// SLA.
const LeadSLAName = "LeadSLA"

// Signals of the lead SLA workflow. Its QueryStatus query returns
// LeadSLAStatus.
const (
	SignalLeadContacted  = "lead-contacted"
	SignalLeadReassigned = "lead-reassigned"
	SignalLeadClosed     = "lead-closed"
)

// LeadKind is the value of the OrdoKind search attribute of lead SLA
// workflows.
const LeadKind = "lead"

// OrdoKind is the search attribute that names the process a workflow
// runs, e.g. OrdoKind = "lead" in the Temporal Web UI.
var OrdoKind = temporal.NewSearchAttributeKeyKeyword("OrdoKind")

// LeadSLAInput starts the SLA of one lead. The rules version is fixed when
// the workflow starts: a later version of the rules applies to leads
// started after it.
type LeadSLAInput struct {
	LeadID     string `json:"lead_id"`
	Rep        string `json:"rep"`
	Supervisor string `json:"supervisor"`
	Account    string `json:"account,omitempty"`
	Product    string `json:"product,omitempty"`
	// Kind is store.LeadSLAFirstContact or store.LeadSLAFollowUp.
	Kind string `json:"kind"`
	// ClockStart is when the first clock starts: the assignment for a
	// first contact, the last contact (or the import) for a follow-up.
	ClockStart time.Time `json:"clock_start"`
	// RulesVersion is the rules version to apply; 0 means the newest when
	// the workflow starts.
	RulesVersion int            `json:"rules_version"`
	Options      LeadSLAOptions `json:"options"`
	// Resume and Pending carry the state and the unhandled signals of the
	// previous run after continue-as-new.
	Resume  *LeadSLAStatus `json:"resume,omitempty"`
	Pending []LeadEvent    `json:"pending,omitempty"`
}

// LeadSLAOptions are the settings of a lead SLA workflow.
type LeadSLAOptions struct {
	// SearchAttributes enables upserts of OrdoKind and OrdoState, which
	// need the attributes registered on the namespace.
	SearchAttributes bool `json:"search_attributes"`
}

// LeadContactedSignal reports a contact between the rep and the customer.
// A zero At means the moment the workflow receives the signal.
type LeadContactedSignal struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	Channel string    `json:"channel,omitempty"`
}

// LeadReassignedSignal gives the lead to another rep, whose clock starts
// at At (zero: when the workflow receives the signal).
type LeadReassignedSignal struct {
	NewRep        string    `json:"new_rep"`
	NewSupervisor string    `json:"new_supervisor"`
	By            string    `json:"by"`
	At            time.Time `json:"at"`
}

// LeadClosedSignal reports that the lead's deal was won or lost, which
// ends the workflow.
type LeadClosedSignal struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// LeadEvent is one received signal; exactly one field is set.
type LeadEvent struct {
	Contacted  *LeadContactedSignal  `json:"contacted,omitempty"`
	Reassigned *LeadReassignedSignal `json:"reassigned,omitempty"`
	Closed     *LeadClosedSignal     `json:"closed,omitempty"`
}

// LeadSLAStatus is the result of QueryStatus: the current clock and what
// it has done.
type LeadSLAStatus struct {
	LeadID string `json:"lead_id"`
	// Kind is the rule the current clock applies; State one of the
	// store.SLA* states.
	Kind         string    `json:"kind"`
	State        string    `json:"state"`
	Rep          string    `json:"rep"`
	Supervisor   string    `json:"supervisor"`
	Account      string    `json:"account,omitempty"`
	Product      string    `json:"product,omitempty"`
	RulesVersion int       `json:"rules_version"`
	ClockStart   time.Time `json:"clock_start"`
	// RemindAt is nil when the rule sends no reminder, Deadline when it
	// sets no deadline.
	RemindAt       *time.Time `json:"remind_at,omitempty"`
	Deadline       *time.Time `json:"deadline,omitempty"`
	ReminderSentAt *time.Time `json:"reminder_sent_at,omitempty"`
	AlertSentAt    *time.Time `json:"alert_sent_at,omitempty"`
	FirstContactAt *time.Time `json:"first_contact_at,omitempty"`
	LastContactAt  *time.Time `json:"last_contact_at,omitempty"`
	// Clocks counts the clocks started, including the current one, over
	// every run of the workflow.
	Clocks        int `json:"clocks"`
	Reassignments int `json:"reassignments"`
	// LastError is the last failure the workflow went on after, e.g. a
	// task that could not be opened.
	LastError string `json:"last_error,omitempty"`
}
