package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// SignalPhoneVerified carries a PhoneVerifiedSignal to a chain held by
// the signing verification.
const SignalPhoneVerified = "phone-verified"

// changeSigningVerification names the workflow.GetVersion change that
// added the signing verification, so chains recorded before it replay
// without the check.
const changeSigningVerification = "signing-verification"

// PhoneVerifiedSignal records that the verifier confirmed the signing by
// phone. The chain ignores it from anybody else; the API rejects such a
// request before it sends the signal.
type PhoneVerifiedSignal struct {
	By   string    `json:"by"`
	Note string    `json:"note,omitempty"`
	At   time.Time `json:"at"`
}

// SigningVerification is the outcome of a chain's signing verification:
// whether enough different reps marked the customer signed within the
// window to hold the chain, and who released it.
type SigningVerification struct {
	// Checked is false when the check failed. Error then contains the
	// reason, and the chain went on unverified with an attention item.
	Checked bool   `json:"checked"`
	Error   string `json:"error,omitempty"`
	Held    bool   `json:"held"`
	// Waiting is true while the held chain waits for the verification.
	Waiting      bool           `json:"waiting"`
	Reps         []string       `json:"reps,omitempty"`
	DistinctReps int            `json:"distinct_reps"`
	Window       rules.Duration `json:"window"`
	MarkedAt     time.Time      `json:"marked_at"`
	Verifier     string         `json:"verifier,omitempty"`
	VerifierRole string         `json:"verifier_role,omitempty"`
	RulesVersion int            `json:"rules_version"`
	Since        *time.Time     `json:"since,omitempty"`
	VerifiedBy   string         `json:"verified_by,omitempty"`
	VerifiedAt   *time.Time     `json:"verified_at,omitempty"`
	Note         string         `json:"note,omitempty"`
}

// verifySigning holds the chain before its first ERP step when enough
// different reps marked the customer signed within the rules' window,
// until the verifier records a phone verification. A chain continued as
// new while held keeps waiting without checking again.
func (c *contractChain) verifySigning() error {
	if workflow.GetVersion(c.waitCtx, changeSigningVerification, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	v := c.status.Verification
	if v == nil {
		var result activities.SignedMarksResult
		v, result = c.checkSignedMarks()
		c.status.Verification = v
		if !v.Held {
			return nil
		}
		c.hold(result)
	}
	if !v.Waiting {
		return nil
	}
	err := c.await(0, func() bool { return v.VerifiedAt != nil })
	switch {
	case err == nil:
		c.releaseHold(fmt.Sprintf("verified by phone by %s: %s", v.VerifiedBy, orNone(v.Note)), true)
		return nil
	case errors.Is(err, errCancelRequested):
		c.releaseHold("chain cancelled before the phone verification", false)
	}
	return err
}

// checkSignedMarks runs the check as one local activity with a short,
// bounded retry, so the chain's throughput stays. When the check fails,
// the chain goes on unverified and records an attention item: a rules or
// database outage must not stop every new contract.
func (c *contractChain) checkSignedMarks() (*SigningVerification, activities.SignedMarksResult) {
	ctx := workflow.WithLocalActivityOptions(c.waitCtx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 30 * time.Second,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Second,
			MaximumAttempts:    3,
		},
	})
	var result activities.SignedMarksResult
	err := workflow.ExecuteLocalActivity(ctx, c.verify.CheckSignedMarks, activities.SignedMarksCheck{
		ContractNo: c.in.ContractNo, CustomerNo: c.in.Customer.Number, Rep: c.in.SalesAgent,
	}).Get(ctx, &result)
	if err != nil {
		message := rootMessage(err)
		c.logger.Warn("Signing verification check failed; the chain goes on unverified", "Error", err)
		_ = c.record(activities.Progress{
			ContractNo: c.in.ContractNo, At: workflow.Now(c.waitCtx),
			Reason: "signing verification not checked: " + message,
			Attention: &activities.AttentionRecord{
				Kind: store.AttentionVerificationUnchecked, Reference: c.in.ContractNo + "/verification",
				Message: fmt.Sprintf("contract %s went on without the signing verification, because the check failed: %s. "+
					"Check whether several reps marked customer %s signed within a day", c.in.ContractNo, message, c.in.Customer.Name),
			},
		})
		return &SigningVerification{Error: message}, result
	}
	return &SigningVerification{
		Checked: true, Held: result.Held, Reps: result.Reps, DistinctReps: result.DistinctReps,
		Window: result.Window, MarkedAt: result.MarkedAt, Verifier: result.Verifier.Name,
		VerifierRole: result.VerifierRole, RulesVersion: result.RulesVersion,
	}, result
}

// hold opens the verifier's task, shows the chain as needing attention
// and records an attention item naming the verifier.
func (c *contractChain) hold(result activities.SignedMarksResult) {
	v := c.status.Verification
	now := workflow.Now(c.waitCtx)
	v.Since = &now
	v.Waiting = true
	no := c.in.ContractNo
	reps := strings.Join(v.Reps, ", ")
	c.logger.Info("Chain held for a phone verification", "Reps", reps, "Verifier", v.Verifier)

	task := activities.TaskRequest{
		Key:  workflow.GetInfo(c.waitCtx).WorkflowExecution.ID + "/verification/phone",
		Kind: activities.TaskVerification, Assignee: v.Verifier, AssigneeRole: v.VerifierRole,
		Email: result.Verifier.Email, Phone: result.Verifier.Phone,
		Subject: "contract:" + no, Template: result.Template,
		Params: map[string]string{
			"contract_no": no, "customer": c.in.Customer.Name, "rep": c.in.SalesAgent,
			"reps": reps, "distinct_reps": fmt.Sprint(len(v.Reps)), "window": v.Window.String(),
			"marked_at": v.MarkedAt.UTC().Format(time.RFC3339),
		},
	}
	if err := c.call(c.tasks.OpenTask, task, nil); err != nil {
		c.logger.Error("Opening the verification task failed; the attention item still names the verifier", "Key", task.Key, "Error", err)
	}

	c.upsertState()
	_ = c.record(activities.Progress{
		ContractNo: no, State: store.ContractNeedsAttention, At: now,
		Reason: fmt.Sprintf("held for a phone verification: %d reps marked the customer signed within %s", len(v.Reps), v.Window),
		Attention: &activities.AttentionRecord{
			Kind: store.AttentionSigningVerification, Reference: no + "/verification",
			Message: fmt.Sprintf("contract %s is held: reps %s marked customer %s signed within %s. "+
				"%s (%s) must confirm the signing with the customer by phone, then run: ordo contract verify %s --by %q",
				no, reps, c.in.Customer.Name, v.Window, v.Verifier, v.VerifierRole, no, v.Verifier),
		},
	})
}

// releaseHold ends the wait, resolves the attention item and closes the
// verifier's task. Only a verification puts the contract back to its
// state; a cancellation leaves the state to the compensation.
func (c *contractChain) releaseHold(resolution string, verified bool) {
	v := c.status.Verification
	v.Waiting = false
	c.upsertState()
	progress := activities.Progress{
		ContractNo: c.in.ContractNo, At: workflow.Now(c.waitCtx), Reason: resolution,
		ResolveAttention: &activities.AttentionRecord{
			Kind: store.AttentionSigningVerification, Reference: c.in.ContractNo + "/verification",
			By: v.VerifiedBy, Message: resolution,
		},
	}
	if verified {
		progress.State = c.status.State
	}
	_ = c.record(progress)
	closing := activities.CloseTasksRequest{Subject: "contract:" + c.in.ContractNo, Kinds: []string{activities.TaskVerification}, Resolution: resolution}
	if err := c.call(c.tasks.CloseTasks, closing, nil); err != nil {
		c.logger.Error("Closing the verification task failed", "Error", err)
	}
}

// onPhoneVerified accepts the verification from the verifier only.
func (c *contractChain) onPhoneVerified(s PhoneVerifiedSignal) {
	v := c.status.Verification
	if v == nil || !v.Waiting {
		c.logger.Warn("Ignoring a phone verification: the chain is not held for one", "By", s.By)
		return
	}
	if !strings.EqualFold(strings.TrimSpace(s.By), v.Verifier) {
		c.logger.Warn("Ignoring a phone verification from someone other than the verifier", "By", s.By, "Verifier", v.Verifier)
		return
	}
	at := s.At.UTC()
	if s.At.IsZero() {
		at = workflow.Now(c.waitCtx).UTC()
	}
	v.VerifiedBy = v.Verifier
	v.VerifiedAt = &at
	v.Note = s.Note
}

// awaitingVerification reports whether the chain waits for a phone
// verification.
func (c *contractChain) awaitingVerification() bool {
	return c.status.Verification != nil && c.status.Verification.Waiting
}

func orNone(note string) string {
	if strings.TrimSpace(note) == "" {
		return "no note"
	}
	return note
}
