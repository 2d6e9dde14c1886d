// Package numbering derives every number ordo writes into an outside
// system from the business identity of the record: the contract number and
// the step. The same input always gives the same number, which is what
// makes a retried or replayed call find the document it created before
// instead of creating a second one.
package numbering

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ContractNo returns the contract number for a CRM opportunity id.
func ContractNo(opportunityID string) string {
	return "CT-" + strings.ToUpper(strings.TrimSpace(opportunityID))
}

// CustomerNo returns a stable ERP customer number for an account name. The
// name is the CRM's only account key, so the number is a hash of it.
func CustomerNo(accountName string) string {
	return "CUST-" + shortHash(strings.TrimSpace(accountName))
}

// ProductNo returns a stable ERP material number for a product name.
func ProductNo(productName string) string {
	return "MAT-" + shortHash(strings.TrimSpace(productName))
}

// ContractWorkflowID is the Temporal workflow id of a contract's chain.
func ContractWorkflowID(contractNo string) string {
	return "contract-to-cash-" + contractNo
}

// LeadWorkflowID is the Temporal workflow id of a lead's SLA workflow. The
// opportunity id is the CRM's key of the lead, so a repeated import or
// start finds the same workflow.
func LeadWorkflowID(opportunityID string) string {
	return "lead-" + strings.TrimSpace(opportunityID)
}

// Document numbers per chain step.
func SalesOrderNo(contractNo string) string      { return "SO-" + contractNo }
func ProductionOrderNo(contractNo string) string { return "MO-" + contractNo }
func DeliveryNo(contractNo string) string        { return "DN-" + contractNo }
func ReceivableNo(contractNo string) string      { return "AR-" + contractNo }
func WriteOffNo(contractNo string) string        { return "RB-" + contractNo }
func InvoiceSerial(contractNo string) string     { return "INV-" + contractNo }
func RedLetterSerial(contractNo string) string   { return "RED-" + contractNo }

func shortHash(text string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(text)))
	return strings.ToUpper(hex.EncodeToString(sum[:5]))
}
