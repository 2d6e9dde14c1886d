package config

import (
	"fmt"
	"time"
)

// validateRanges reports the numeric and duration settings that are
// outside the range they can work in. Settings documented with a meaning
// for 0 or for a negative value accept it.
func (c *Config) validateRanges(add func(key, format string, args ...any)) {
	atLeast := []struct {
		key   string
		value int
		min   int
		hint  string
	}{
		{"worker.max_concurrent_activities", c.Worker.MaxConcurrentActivities, 1, ""},
		{"worker.max_concurrent_workflow_tasks", c.Worker.MaxConcurrentWorkflowTasks, 1, ""},
		{"worker.activity_pollers", c.Worker.ActivityPollers, 1, ""},
		{"worker.workflow_pollers", c.Worker.WorkflowPollers, 1, ""},
		{"worker.max_cached_workflows", c.Worker.MaxCachedWorkflows, 0, " (0 turns the workflow cache off)"},
		{"database.max_conns", c.Database.MaxConns, 0, " (0 means the driver's default)"},
		{"erp.max_conns", c.ERP.MaxConns, 0, " (0 means the connector's default)"},
		{"einvoice.max_conns", c.EInvoice.MaxConns, 0, " (0 means the connector's default)"},
	}
	for _, field := range atLeast {
		if field.value < field.min {
			add(field.key, "%d must be at least %d%s", field.value, field.min, field.hint)
		}
	}
	if c.ERP.SyncPageSize < 0 || c.ERP.SyncPageSize > 2000 {
		add("erp.sync_page_size", "%d is not between 0 and 2000 (0 means 2000)", c.ERP.SyncPageSize)
	}

	notNegative := []struct {
		key   string
		value time.Duration
		hint  string
	}{
		{"erp.timeout", c.ERP.Timeout, " (0 means the connector's default)"},
		{"einvoice.timeout", c.EInvoice.Timeout, " (0 means the connector's default)"},
		{"bank.timeout", c.Bank.Timeout, " (0 means the connector's default)"},
		{"simulators.kingdee.production_delay", c.Sim.Kingdee.ProductionDelay, ""},
		{"simulators.einvoice.issue_delay", c.Sim.EInvoice.IssueDelay, ""},
		{"simulators.bank.payment_delay", c.Sim.Bank.PaymentDelay, ""},
	}
	for _, field := range notNegative {
		if field.value < 0 {
			add(field.key, "%s must not be negative%s", field.value, field.hint)
		}
	}
	if c.Sim.Kingdee.FaultRate < 0 || c.Sim.Kingdee.FaultRate > 1 {
		add("simulators.kingdee.fault_rate", "%s is not a probability between 0 and 1", fmt.Sprint(c.Sim.Kingdee.FaultRate))
	}
	if c.Sim.FaultRate < 0 || c.Sim.FaultRate > 1 {
		add("simulators.fault_rate", "%s is not a probability between 0 and 1", fmt.Sprint(c.Sim.FaultRate))
	}
}
