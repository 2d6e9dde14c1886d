package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// heldResult is a check that holds the chain: three reps marked the
// customer signed within 24 hours.
func heldResult(in activities.SignedMarksCheck) activities.SignedMarksResult {
	return activities.SignedMarksResult{
		Held: true, Reps: []string{"Anna Snelling", in.Rep, "Versie Hillebrand"}, DistinctReps: 3,
		Window: rules.Duration(24 * time.Hour), MarkedAt: signedOn,
		Verifier:     rules.Person{Name: testSupervisor, Email: "dustin.brinkmann@example.com"},
		VerifierRole: rules.RoleSupervisor, Template: activities.DefaultVerificationTemplate, RulesVersion: 4,
	}
}

// verificationMocks mocks the check with result and records the tasks and
// the start of the sales order.
type verificationMocks struct {
	opened         []activities.TaskRequest
	closed         []activities.CloseTasksRequest
	salesOrderTime time.Time
}

func (ct *chainTest) mockVerification(result func(activities.SignedMarksCheck) (activities.SignedMarksResult, error)) *verificationMocks {
	m := &verificationMocks{}
	env := ct.env
	env.OnActivity(ct.verify.CheckSignedMarks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SignedMarksCheck) (activities.SignedMarksResult, error) {
			ct.count("check_signed_marks")
			return result(in)
		})
	env.OnActivity(ct.tasks.OpenTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TaskRequest) (activities.TaskResult, error) {
			ct.mu.Lock()
			defer ct.mu.Unlock()
			m.opened = append(m.opened, in)
			return activities.TaskResult{TaskID: 1, Created: true}, nil
		})
	env.OnActivity(ct.tasks.CloseTasks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseTasksRequest) error {
			ct.mu.Lock()
			defer ct.mu.Unlock()
			m.closed = append(m.closed, in)
			return nil
		})
	env.OnActivity(ct.acts.EnsureSalesOrder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SalesOrderInput) (activities.SalesOrderResult, error) {
			ct.mu.Lock()
			m.salesOrderTime = env.Now()
			ct.mu.Unlock()
			ct.count("sales_order")
			return activities.SalesOrderResult{
				Customer:   doc("customer", in.Customer.Number).Document,
				SalesOrder: doc("sales_order", in.Order.Number).Document,
			}, nil
		})
	return m
}

func TestChainHeldUntilPhoneVerified(t *testing.T) {
	bothModes(t, func(t *testing.T, in ContractToCashInput) {
		ct := newChainTest(t)
		m := ct.mockVerification(func(in activities.SignedMarksCheck) (activities.SignedMarksResult, error) {
			return heldResult(in), nil
		})
		started := ct.env.Now()
		// A verification from someone other than the supervisor is ignored.
		ct.signal(time.Hour, SignalPhoneVerified, PhoneVerifiedSignal{By: testDirector, Note: "not mine to verify"})
		ct.signal(2*time.Hour, SignalPhoneVerified, PhoneVerifiedSignal{By: testSupervisor, Note: "customer confirmed"})
		// The advance arrives while the chain is held, which must not hide
		// the hold.
		ct.pay(90*time.Minute, "A1", "316.2")
		ct.pay(10*24*time.Hour, "A2", "737.8")

		status := ct.run(in)

		if status.State != store.ContractClosed {
			t.Fatalf("state = %s, want closed after the verification", status.State)
		}
		if waited := m.salesOrderTime.Sub(started); waited != 2*time.Hour {
			t.Errorf("sales order started %s after the chain, want 2h: held until the supervisor's verification", waited)
		}
		v := status.Verification
		if v == nil || !v.Held || v.Waiting || v.VerifiedBy != testSupervisor || v.Note != "customer confirmed" || v.VerifiedAt == nil {
			t.Fatalf("verification = %+v, want held and verified by the supervisor", v)
		}
		if len(m.opened) != 1 {
			t.Fatalf("opened %d tasks, want one verification task", len(m.opened))
		}
		task := m.opened[0]
		if task.Kind != activities.TaskVerification || task.Assignee != testSupervisor || task.Subject != "contract:CT-TEST0001" ||
			task.Key != "default-test-workflow-id/verification/phone" || task.Template != "verification_request" {
			t.Errorf("task = %+v, want the supervisor's verification task", task)
		}
		if len(m.closed) != 1 || m.closed[0].Kinds[0] != activities.TaskVerification {
			t.Errorf("closed = %+v, want the verification task closed", m.closed)
		}
		held := ct.attention(store.AttentionSigningVerification)
		if len(held) != 1 || held[0].Reference != "CT-TEST0001/verification" {
			t.Fatalf("attention = %+v, want one signing verification item", held)
		}
		states := ct.recordedStates()
		if len(states) < 2 || states[0] != store.ContractNeedsAttention || states[1] != store.ContractSigned {
			t.Errorf("recorded states = %v, want needs_attention until the verification, then signed", states)
		}
		if !status.InstalmentPaid[0].Equal(decimal.RequireFromString("316.2")) {
			t.Errorf("advance paid = %s, want the payment received while held", status.InstalmentPaid[0])
		}
		if !ct.resolved(store.AttentionSigningVerification, "CT-TEST0001/verification") {
			t.Error("the signing verification item was not resolved")
		}
	})
}

func TestChainNotHeldBelowThreshold(t *testing.T) {
	ct := newChainTest(t)
	m := ct.mockVerification(func(in activities.SignedMarksCheck) (activities.SignedMarksResult, error) {
		if in.CustomerNo != "CUST-1" || in.Rep != "Moses Frase" || in.ContractNo != "CT-TEST0001" {
			return activities.SignedMarksResult{}, errors.New("check got the wrong contract")
		}
		return activities.SignedMarksResult{Reps: []string{"Anna Snelling", in.Rep}, DistinctReps: 3}, nil
	})
	started := ct.env.Now()
	ct.pay(time.Hour, "A1", "1054")

	status := ct.run(testInput())

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed", status.State)
	}
	if !m.salesOrderTime.Equal(started) || len(m.opened) != 0 {
		t.Errorf("sales order at %s with %d tasks, want at once with none", m.salesOrderTime.Sub(started), len(m.opened))
	}
	if status.Verification == nil || !status.Verification.Checked || status.Verification.Held {
		t.Errorf("verification = %+v, want checked and not held", status.Verification)
	}
	if n := ct.callCount("check_signed_marks"); n != 1 {
		t.Errorf("check ran %d times, want once", n)
	}
}

func TestChainCancelledWhileHeld(t *testing.T) {
	ct := newChainTest(t)
	m := ct.mockVerification(func(in activities.SignedMarksCheck) (activities.SignedMarksResult, error) {
		return heldResult(in), nil
	})
	ct.signal(time.Hour, SignalCancel, CancelSignal{Reason: "the signing was not real", RequestedBy: testSupervisor})

	status := ct.run(testInput())

	if status.State != store.ContractCancelled {
		t.Fatalf("state = %s, want cancelled", status.State)
	}
	if n := ct.callCount("sales_order"); n != 0 {
		t.Errorf("sales order created %d times on a chain cancelled while held", n)
	}
	if !ct.resolved(store.AttentionSigningVerification, "CT-TEST0001/verification") || len(m.closed) != 1 {
		t.Errorf("hold not released on cancel: closed tasks %+v", m.closed)
	}
}

func TestChainGoesOnWhenCheckFails(t *testing.T) {
	ct := newChainTest(t)
	m := ct.mockVerification(func(activities.SignedMarksCheck) (activities.SignedMarksResult, error) {
		return activities.SignedMarksResult{}, errors.New("database is locked")
	})
	ct.pay(time.Hour, "A1", "1054")

	status := ct.run(testInput())

	if status.State != store.ContractClosed {
		t.Fatalf("state = %s, want closed: a failed check must not stop the chain", status.State)
	}
	if n := ct.callCount("check_signed_marks"); n != 3 {
		t.Errorf("check ran %d times, want 3 bounded attempts", n)
	}
	unchecked := ct.attention(store.AttentionVerificationUnchecked)
	if len(unchecked) != 1 || status.Verification == nil || status.Verification.Checked || len(m.opened) != 0 {
		t.Errorf("attention %+v verification %+v, want one unchecked item and no hold", unchecked, status.Verification)
	}
}

// resolved reports whether a progress record resolved the item.
func (ct *chainTest) resolved(kind, reference string) bool {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	for _, p := range ct.progress {
		if r := p.ResolveAttention; r != nil && r.Kind == kind && r.Reference == reference {
			return true
		}
	}
	return false
}
