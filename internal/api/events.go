package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/contracts"
	"github.com/ordo-project/ordo/internal/logging"
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
	// EndDate, YYYY-MM-DD, is the last day of the contract term. Without
	// it the term lasts the rules' renewals.default_term.
	EndDate string `json:"end_date,omitempty"`
}

// EventAccount is the customer of a contract-signed event.
type EventAccount struct {
	Name           string `json:"name"`
	Sector         string `json:"sector,omitempty"`
	OfficeLocation string `json:"office_location,omitempty"`
	SubsidiaryOf   string `json:"subsidiary_of,omitempty"`
	// ContactName and ContactPhone reach the customer about renewals. A
	// recorded account takes those that are given.
	ContactName  string `json:"contact_name,omitempty"`
	ContactPhone string `json:"contact_phone,omitempty"`
}

// ContractSignedAnswer confirms a recorded event.
type ContractSignedAnswer struct {
	Status     string `json:"status"`
	ContractNo string `json:"contract_no"`
	WorkflowID string `json:"workflow_id"`
}

// contractSigned records a signed contract from the CRM and kicks the
// starter to start its chain. The event id, the customer and the contract
// are written in one transaction before the response, so an accepted event is
// never lost: the starter's loop starts every recorded contract that has no
// workflow yet, also after a restart.
func (s *Server) contractSigned(w http.ResponseWriter, r *http.Request) {
	body := s.readSigned(w, r)
	if body == nil {
		return
	}
	var event ContractSignedEvent
	if err := decodeStrict(body, &event); err != nil {
		if fieldErr := invalidDecimalField(body, "amount", "quantity"); fieldErr != nil {
			err = fieldErr
		}
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
	var endDate *time.Time
	if event.EndDate != "" {
		parsed, err := time.Parse(time.DateOnly, event.EndDate)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("event %s: end_date %q is not a date YYYY-MM-DD", event.EventID, event.EndDate))
			return
		}
		endDate = &parsed
	}
	if phone := strings.TrimSpace(event.Account.ContactPhone); phone != "" && !phonePattern.MatchString(phone) {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf(
			"event %s: account.contact_phone %q is not a phone number: use 5 to 20 digits, optionally with a leading + and spaces or hyphens", event.EventID, phone))
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
		Currency: currency, SignedOn: signedOn, EndDate: endDate, Source: store.SourceWebhook,
	}, contracts.Rules{Tax: s.Config.Tax, Plan: s.Config.Payment.Plan, ExchangeRates: s.Config.Invoice.ExchangeRates}, now)
	if err == nil {
		err = checkContractNo(contract.ContractNo, event.ContractNo == "")
	}
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_contract", fmt.Sprintf("event %s: %v", event.EventID, err))
		return
	}
	if err := s.checkProduct(r.Context(), contract.ProductName); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_contract", fmt.Sprintf("event %s: %v", event.EventID, err))
		return
	}
	digest := sha256.Sum256(body)
	contract.ContentHash = hex.EncodeToString(digest[:])

	recorded, err := s.recordSignedContract(r.Context(), &event, contract, plan, now)
	var conflict *contractConflictError
	switch {
	case errors.As(err, &conflict):
		writeError(w, http.StatusConflict, "contract_conflict", fmt.Sprintf("event %s: %v", event.EventID, conflict))
		return
	case err != nil:
		s.Logger.WithError(err).WithField(logging.KeyEventID, event.EventID).Error("recording contract-signed event failed")
		writeError(w, http.StatusInternalServerError, "internal", "could not record the event; retry it with the same event_id")
		return
	case recorded.replay:
		writeError(w, http.StatusConflict, "replayed_event", "event "+event.EventID+" was received before; nothing changed")
		return
	case recorded.existing != nil:
		if recorded.existing.WorkflowStartedAt == nil && s.Contracts != nil {
			s.Contracts.Kick()
		}
		writeJSON(w, http.StatusOK, ContractSignedAnswer{Status: "already_recorded",
			ContractNo: recorded.existing.ContractNo, WorkflowID: recorded.existing.WorkflowID})
		return
	}
	// The chain starts in the starter's next pass, which batches the starts
	// of concurrent events; the recorded contract guarantees it starts.
	if s.Contracts != nil {
		s.Contracts.Kick()
	}
	s.planRenewal(r.Context(), contract)
	writeJSON(w, http.StatusAccepted, ContractSignedAnswer{Status: "accepted", ContractNo: contract.ContractNo, WorkflowID: contract.WorkflowID})
}

// invalidDecimalField returns an error naming the first of fields whose
// value in body is not a decimal number, or nil. The JSON decoder's own
// error for such a value does not name the field.
func invalidDecimalField(body []byte, fields ...string) error {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return nil
	}
	for _, field := range fields {
		value, ok := raw[field]
		if !ok {
			continue
		}
		var d decimal.Decimal
		if err := d.UnmarshalJSON(value); err != nil {
			return fmt.Errorf("%s %s is not a decimal number: send it as a JSON number or string such as \"1054.10\"", field, value)
		}
	}
	return nil
}

// maxContractNoLength keeps the longest document number derived from a
// contract number, a reissued invoice serial INV-<contract_no>-R<n>, within
// the 64 letters, digits, '-' or '_' the e-invoice simulator accepts as a
// serial number.
const maxContractNoLength = 48

var contractNoPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// checkContractNo rejects a contract number that cannot be a path segment
// of the API or part of the document numbers derived from it. derived is
// true when the number was made from the opportunity id.
func checkContractNo(contractNo string, derived bool) error {
	field, subject := "contract_no", strconv.Quote(contractNo)
	if derived {
		field = "opportunity_id"
		subject = fmt.Sprintf("%q gives the contract number %q, which", strings.TrimPrefix(contractNo, "CT-"), contractNo)
	}
	if !contractNoPattern.MatchString(contractNo) {
		return &contracts.FieldError{Field: field, Message: subject +
			" contains characters other than letters, digits, '-' and '_', or does not start with a letter or digit"}
	}
	if len(contractNo) > maxContractNoLength {
		return &contracts.FieldError{Field: field, Message: fmt.Sprintf("%s has %d characters: use at most %d",
			subject, len(contractNo), maxContractNoLength)}
	}
	return nil
}

// recordResult is the outcome of recording a contract-signed event.
type recordResult struct {
	// replay is true when the event id was seen before.
	replay bool
	// existing is the recorded contract with the same terms when the
	// event named a contract recorded before.
	existing *store.Contract
}

// contractConflictError means an event names a recorded contract, by its
// number or its opportunity id, with other terms.
type contractConflictError struct {
	contractNo  string
	differences []string
}

func (e *contractConflictError) Error() string {
	return fmt.Sprintf("contract %s was recorded with other terms (%s); nothing changed: "+
		"to change a recorded contract, cancel it and send the new terms under a new contract_no",
		e.contractNo, strings.Join(e.differences, "; "))
}

// recordSignedContract writes the event id, the account if new and the
// contract with its plan in one transaction. When the contract number or
// the opportunity id is recorded already, it compares the terms and returns
// a *contractConflictError, writing nothing, when they differ.
//
// An account whose name differs from a recorded one only in case has the
// same customer number, so the contract takes the recorded spelling.
func (s *Server) recordSignedContract(ctx context.Context, event *ContractSignedEvent, contract *store.Contract,
	plan []store.PaymentInstalment, now time.Time) (recordResult, error) {
	var result recordResult
	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := store.RecordWebhookEvent(ctx, tx, &store.WebhookEvent{
			EventID: event.EventID, Kind: "contract-signed", ContractNo: contract.ContractNo,
			BodySHA256: contract.ContentHash, ReceivedAt: now,
		})
		if err != nil {
			return err
		}
		if !fresh {
			result.replay = true
			return nil
		}
		if err := recordAccount(ctx, tx, event, contract, now); err != nil {
			return err
		}
		created, err := store.InsertContract(ctx, tx, contract, plan)
		if err != nil {
			return err
		}
		if created {
			// The rep marked the contract signed when the CRM sent the event.
			return store.RecordSignedMarks(ctx, tx, []store.SignedMark{{
				ContractNo: contract.ContractNo, Customer: contract.CustomerNo, AccountName: contract.AccountName,
				Rep: contract.SalesAgent, Source: store.SourceWebhook, MarkedAt: now,
			}})
		}
		existing, err := findRecordedContract(ctx, tx, contract)
		if err != nil {
			return err
		}
		if differences := contractDifferences(existing, contract); len(differences) > 0 {
			return &contractConflictError{contractNo: existing.ContractNo, differences: differences}
		}
		result.existing = existing
		return nil
	})
	return result, err
}

// recordAccount inserts the event's account unless an account with the
// same customer number exists, whose name the contract then takes.
func recordAccount(ctx context.Context, tx bun.Tx, event *ContractSignedEvent, contract *store.Contract, now time.Time) error {
	var names []string
	err := tx.NewSelect().Model((*store.Account)(nil)).Column("name").
		Where("customer_no = ?", contract.CustomerNo).Limit(1).Scan(ctx, &names)
	if err != nil {
		return fmt.Errorf("look up account %s: %w", contract.CustomerNo, err)
	}
	contactName, contactPhone := strings.TrimSpace(event.Account.ContactName), strings.TrimSpace(event.Account.ContactPhone)
	if len(names) > 0 {
		contract.AccountName = names[0]
		if contactName == "" && contactPhone == "" {
			return nil
		}
		return store.SetCustomerContact(ctx, tx, names[0], contactName, contactPhone)
	}
	account := &store.Account{
		Name: contract.AccountName, CustomerNo: contract.CustomerNo,
		Sector: event.Account.Sector, OfficeLocation: event.Account.OfficeLocation,
		SubsidiaryOf: event.Account.SubsidiaryOf, ContactName: contactName, ContactPhone: contactPhone,
		ContentHash: "webhook", CreatedAt: now, UpdatedAt: now,
	}
	if _, err := tx.NewInsert().Model(account).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("record account %s: %w", account.Name, err)
	}
	return nil
}

// findRecordedContract returns the contract that kept contract from being
// inserted: the one with its number, or else the one with its opportunity
// id.
func findRecordedContract(ctx context.Context, tx bun.Tx, contract *store.Contract) (*store.Contract, error) {
	existing := new(store.Contract)
	q := tx.NewSelect().Model(existing).Where("contract_no = ?", contract.ContractNo)
	if contract.OpportunityID != nil {
		q = q.WhereOr("opportunity_id = ?", *contract.OpportunityID)
	}
	// The contract with the same number comes first when both exist.
	q = q.OrderExpr("CASE WHEN contract_no = ? THEN 0 ELSE 1 END", contract.ContractNo).Limit(1)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read recorded contract %s: %w", contract.ContractNo, err)
	}
	return existing, nil
}

// contractDifferences lists the terms in which the event's contract differs
// from the recorded one.
func contractDifferences(recorded, event *store.Contract) []string {
	var differences []string
	differ := func(field, was, now string) {
		differences = append(differences, fmt.Sprintf("%s %s, not %s", field, was, now))
	}
	if recorded.ContractNo != event.ContractNo {
		differ("opportunity_id "+derefOrEmpty(event.OpportunityID)+" belongs to contract_no", recorded.ContractNo, event.ContractNo)
	}
	if event.OpportunityID != nil && recorded.OpportunityID != nil && *recorded.OpportunityID != *event.OpportunityID {
		differ("opportunity_id", *recorded.OpportunityID, *event.OpportunityID)
	}
	if recorded.AccountName != event.AccountName {
		differ("account", strconv.Quote(recorded.AccountName), strconv.Quote(event.AccountName))
	}
	if recorded.ProductName != event.ProductName {
		differ("product", strconv.Quote(recorded.ProductName), strconv.Quote(event.ProductName))
	}
	if !recorded.Quantity.Equal(event.Quantity) {
		differ("quantity", recorded.Quantity.String(), event.Quantity.String())
	}
	if !recorded.Amount.Equal(event.Amount) || recorded.Currency != event.Currency {
		differ("amount", recorded.Amount.StringFixed(2)+" "+recorded.Currency, event.Amount.StringFixed(2)+" "+event.Currency)
	}
	if was, now := recorded.SignedOn.Format(time.DateOnly), event.SignedOn.Format(time.DateOnly); was != now {
		differ("signed_on", was, now)
	}
	// An event without an end date repeats any recorded contract; one with
	// an end date must match it. A changed end date goes through
	// POST /api/v1/contracts/{no}/end-date.
	if event.EndDate != nil {
		was := "none"
		if recorded.EndDate != nil {
			was = recorded.EndDate.Format(time.DateOnly)
		}
		if now := event.EndDate.Format(time.DateOnly); was != now {
			differ("end_date", was, now)
		}
	}
	return differences
}

func derefOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkProduct rejects a product missing from the catalogue once a
// catalogue exists, so a misspelt product never reaches the ERP as an
// invented material. Before the first CRM import the catalogue is empty
// and every product is accepted.
func (s *Server) checkProduct(ctx context.Context, name string) error {
	_, err := s.Store.ProductByName(ctx, name)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	count, countErr := s.Store.DB.NewSelect().Model((*store.Product)(nil)).Count(ctx)
	if countErr != nil {
		return countErr
	}
	if count == 0 {
		return nil
	}
	return &contracts.FieldError{Field: "product", Message: fmt.Sprintf(
		"%q is not in the product catalogue: send the name of an imported product, or import the CRM's products.csv with it", name)}
}
