package numbering

// ApprovalWorkflowID is the Temporal workflow id of an approval request.
func ApprovalWorkflowID(approvalID string) string {
	return "approval-" + approvalID
}

// PriceListNo is the number of the ERP price list that an approved price
// change writes.
func PriceListNo(approvalID string) string { return "PL-" + approvalID }
