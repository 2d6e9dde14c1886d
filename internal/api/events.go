package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/contracts"
	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/numbering"
	"github.com/ordo-project/ordo/internal/store"
)

// ContractSignedEvent is the body of POST /api/v1/events/contract-signed,
// sent by the CRM when a deal is won.
type ContractSignedEvent struct {
	// EventID identifies the event; a repeated id is rejected as a replay.
	EventID       string          `json:"event_id"`
	ContractNo    string          `json:"contract_no,omitempty"`
	OpportunityID string          `json:"opportunity_id,omitempty"`
	Account       EventAccount    `json:"account"`
	Product       string          `json:"product"`
	SalesAgent    string          `json:"sales_agent,omitempty"`
	Quantity      decimal.Decimal `json:"quantity,omitempty"`
	// Amount is the tax-inclusive contract total, as a JSON string or
	// number with at most two decimals.
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency,omitempty"`
	// SignedOn is the signing date, YYYY-MM-DD.
	SignedOn string `json:"signed_on"`
}

// EventAccount is the customer of a contract-signed event.
type EventAccount struct {
	Name           string `json:"name"`
	Sector         string `json:"sector,omitempty"`
	OfficeLocation string `json:"office_location,omitempty"`
	SubsidiaryOf   string `json:"subsidiary_of,omitempty"`
}

// ContractSignedAnswer confirms a recorded event.
type ContractSignedAnswer struct {
	Status     string `json:"status"`
	ContractNo string `json:"contract_no"`
	WorkflowID string `json:"workflow_id"`
}

// contractSigned records a signed contract from the CRM and starts its
// chain. The event id, the customer and the contract are written in one
// transaction before anything is started, so an accepted event is never
// lost: if starting fails, the starter's loop starts the chain later.
func (s *Server) contractSigned(w http.ResponseWriter, r *http.Request) {
	body := s.readSigned(w, r)
	if body == nil {
		return
	}
	var event ContractSignedEvent
	if err := decodeStrict(body, &event); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	if strings.TrimSpace(event.EventID) == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "event_id is required: give every event a unique id")
		return
	}
	signedOn, err := time.Parse(time.DateOnly, event.SignedOn)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("event %s: signed_on %q is not a date YYYY-MM-DD", event.EventID, event.SignedOn))
		return
	}
	currency := event.Currency
	if currency == "" {
		currency = s.Config.Currency
	}
	now := store.Now()
	contract, plan, err := contracts.Build(contracts.Deal{
		ContractNo: event.ContractNo, OpportunityID: event.OpportunityID,
		AccountName: strings.TrimSpace(event.Account.Name), ProductName: strings.TrimSpace(event.Product),
		SalesAgent: event.SalesAgent, Quantity: event.Quantity, Amount: event.Amount,
		Currency: currency, SignedOn: signedOn, Source: store.SourceWebhook,
	}, contracts.Rules{Tax: s.Config.Tax, Plan: s.Config.Payment.Plan}, now)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_contract", fmt.Sprintf("event %s: %v", event.EventID, err))
		return
	}
	digest := sha256.Sum256(body)
	contract.ContentHash = hex.EncodeToString(digest[:])

	replay, created, err := s.recordSignedContract(r.Context(), &event, contract, plan, now)
	if err != nil {
		s.Logger.WithError(err).WithField(logging.KeyEventID, event.EventID).Error("recording contract-signed event failed")
		writeError(w, http.StatusInternalServerError, "internal", "could not record the event; retry it with the same event_id")
		return
	}
	if replay {
		writeError(w, http.StatusConflict, "replayed_event", "event "+event.EventID+" was received before; nothing changed")
		return
	}
	answer := ContractSignedAnswer{Status: "accepted", ContractNo: contract.ContractNo, WorkflowID: contract.WorkflowID}
	if !created {
		answer.Status = "already_recorded"
		writeJSON(w, http.StatusOK, answer)
		return
	}
	if s.Contracts != nil {
		account := &store.Account{Name: contract.AccountName, Sector: event.Account.Sector,
			OfficeLocation: event.Account.OfficeLocation, SubsidiaryOf: event.Account.SubsidiaryOf}
		if err := s.Contracts.Start(r.Context(), contract, account); err == nil {
			if err := s.Store.MarkWorkflowsStarted(r.Context(), []string{contract.ContractNo}, time.Now()); err != nil {
				s.Logger.WithError(err).Warn("marking a started chain failed; the starter will find it started")
			}
		} else {
			s.Contracts.Kick()
		}
	}
	writeJSON(w, http.StatusAccepted, answer)
}

// recordSignedContract writes the event id, the account if new and the
// contract with its plan in one transaction. replay is true when the event
// id was seen before; created is false when the contract number exists.
func (s *Server) recordSignedContract(ctx context.Context, event *ContractSignedEvent, contract *store.Contract,
	plan []store.PaymentInstalment, now time.Time) (replay, created bool, err error) {
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := store.RecordWebhookEvent(ctx, tx, &store.WebhookEvent{
			EventID: event.EventID, Kind: "contract-signed", ContractNo: contract.ContractNo,
			BodySHA256: contract.ContentHash, ReceivedAt: now,
		})
		if err != nil {
			return err
		}
		if !fresh {
			replay = true
			return nil
		}
		account := &store.Account{
			Name: contract.AccountName, CustomerNo: numbering.CustomerNo(contract.AccountName),
			Sector: event.Account.Sector, OfficeLocation: event.Account.OfficeLocation,
			SubsidiaryOf: event.Account.SubsidiaryOf, ContentHash: "webhook", CreatedAt: now, UpdatedAt: now,
		}
		if _, err := tx.NewInsert().Model(account).On("CONFLICT (name) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("record account %s: %w", account.Name, err)
		}
		created, err = store.InsertContract(ctx, tx, contract, plan)
		return err
	})
	return replay, created, err
}
