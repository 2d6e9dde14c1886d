package resterp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

const maxBodyBytes = 1 << 20

func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{collection}", s.guard(s.handleCreate))
	mux.HandleFunc("GET /api/{collection}/{number}", s.guard(s.handleFind))
	mux.HandleFunc("PUT /api/{collection}/{number}", s.guard(s.handleUpdate))
	mux.HandleFunc("DELETE /api/{collection}/{number}", s.guard(s.handleCancel))
	mux.HandleFunc("GET /api/production-orders/{number}/progress", s.guard(s.handleProgress))
	return mux
}

// guard checks the token and the collection, then injects latency and
// faults before the handler runs. Silent drops and lost replies are left
// to the handlers, because only they know whether the request writes.
func (s *Simulator) guard(handler func(w http.ResponseWriter, r *http.Request, fault simulators.Fault)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Token != "" {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) != 1 {
				writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
				return
			}
		}
		if collection := r.PathValue("collection"); collection != "" {
			if _, ok := collections[collection]; !ok {
				writeError(w, http.StatusNotFound, "unknown collection "+collection)
				return
			}
		}
		if latency := s.faults.Latency(); latency > 0 && !s.wait(r.Context(), latency) {
			return
		}
		fault := s.faults.DrawFor(r.Method + " " + r.URL.Path)
		if fault != simulators.FaultNone {
			s.log.WithFields(map[string]any{"fault": string(fault), logging.KeyHTTPMethod: r.Method, logging.KeyHTTPPath: r.URL.Path}).Info("Injecting fault")
		}
		switch fault {
		case simulators.FaultServerError:
			writeError(w, http.StatusInternalServerError, "simulated server error")
			return
		case simulators.FaultThrottle:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "simulated rate limit")
			return
		case simulators.FaultTimeout:
			s.wait(r.Context(), s.faults.Hang())
			panic(http.ErrAbortHandler)
		}
		handler(w, r, fault)
	}
}

func (s *Simulator) handleCreate(w http.ResponseWriter, r *http.Request, fault simulators.Fault) {
	collection := r.PathValue("collection")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil || !gjson.ValidBytes(body) {
		writeError(w, http.StatusBadRequest, "the body is not JSON")
		return
	}

	number, contractNo := identity(collection, body)
	if number == "" {
		writeError(w, http.StatusUnprocessableEntity, "missing document number ("+numberPath(collection)+")")
		return
	}
	if needsItems(collection) && len(gjson.GetBytes(body, "items").Array()) == 0 {
		writeError(w, http.StatusUnprocessableEntity, collection+" need at least one line in items")
		return
	}
	if fault == FaultSilentDrop {
		writeJSON(w, http.StatusCreated, reply(collection, &document{Number: number, Body: string(body)}))
		return
	}

	ctx := r.Context()
	created, status, err := s.insert(ctx, collection, number, contractNo, r.Header.Get("Idempotency-Key"), body)
	if err != nil {
		s.log.WithFields(map[string]any{logging.KeyDocumentNo: number, logging.KeyError: err}).Error("REST ERP simulator failed to store a document")
		writeError(w, http.StatusInternalServerError, "store document: "+err.Error())
		return
	}

	if status == http.StatusConflict {
		writeError(w, http.StatusConflict, fmt.Sprintf("%s %s exists already", collection, number))
		return
	}
	if status == http.StatusCreated && collection == "sales-orders" {
		s.reportSalesOrder(ctx, created)
	}
	if fault == simulators.FaultLostReply {
		// The document is stored; aborting closes the connection before
		// any byte of the reply is sent.
		panic(http.ErrAbortHandler)
	}
	writeJSON(w, status, reply(collection, created))
}

// insert stores a new document and its ledger entry in one transaction.
// It returns the document an earlier request with the same idempotency
// key created with 200, and 409 for a number that exists already.
func (s *Simulator) insert(ctx context.Context, collection, number, contractNo, key string, body []byte) (*document, int, error) {
	var created *document
	var status int
	err := s.cfg.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if key != "" {
			existing, err := findByKey(ctx, tx, collection, key)
			if err != nil || existing != nil {
				created, status = existing, http.StatusOK
				return err
			}
		}
		existing, err := findByNumber(ctx, tx, collection, number)
		if err != nil {
			return err
		}
		if existing != nil {
			status = http.StatusConflict
			return nil
		}

		created = &document{
			Collection: collection, Number: number, ContractNo: contractNo, IdempotencyKey: key,
			Body: string(body), CreatedAt: time.Now().UTC(),
		}
		if _, err := tx.NewInsert().Model(created).Exec(ctx); err != nil {
			return err
		}
		status = http.StatusCreated
		ledgerContract := contractNo
		if ledgerContract == "" {
			ledgerContract = number
		}
		return simulators.Record(ctx, tx, System, string(collections[collection]), number, ledgerContract, collection)
	})
	return created, status, err
}

func (s *Simulator) handleFind(w http.ResponseWriter, r *http.Request, fault simulators.Fault) {
	collection := r.PathValue("collection")
	doc, err := findByNumber(r.Context(), s.cfg.DB, collection, r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if doc == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s %s not found", collection, r.PathValue("number")))
		return
	}
	if fault == simulators.FaultLostReply {
		panic(http.ErrAbortHandler)
	}
	writeJSON(w, http.StatusOK, reply(collection, doc))
}

func (s *Simulator) handleUpdate(w http.ResponseWriter, r *http.Request, fault simulators.Fault) {
	collection := r.PathValue("collection")
	if collection != "customers" {
		writeError(w, http.StatusMethodNotAllowed, "only customers can be updated")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil || !gjson.ValidBytes(body) {
		writeError(w, http.StatusBadRequest, "the body is not JSON")
		return
	}
	result, err := s.cfg.DB.NewUpdate().Model((*document)(nil)).Set("body = ?", string(body)).
		Where("collection = ? AND number = ?", collection, r.PathValue("number")).Exec(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if n, _ := result.RowsAffected(); n == 0 {
		writeError(w, http.StatusNotFound, "customer "+r.PathValue("number")+" not found")
		return
	}
	if fault == simulators.FaultLostReply {
		panic(http.ErrAbortHandler)
	}
	s.handleFind(w, r, simulators.FaultNone)
}

func (s *Simulator) handleCancel(w http.ResponseWriter, r *http.Request, fault simulators.Fault) {
	result, err := s.cfg.DB.NewDelete().Model((*document)(nil)).
		Where("collection = ? AND number = ?", r.PathValue("collection"), r.PathValue("number")).Exec(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if n, _ := result.RowsAffected(); n == 0 {
		writeError(w, http.StatusNotFound, r.PathValue("number")+" not found")
		return
	}
	if fault == simulators.FaultLostReply {
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Simulator) handleProgress(w http.ResponseWriter, r *http.Request, fault simulators.Fault) {
	doc, err := findByNumber(r.Context(), s.cfg.DB, "production-orders", r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if doc == nil {
		writeError(w, http.StatusNotFound, "production order "+r.PathValue("number")+" not found")
		return
	}
	progress := map[string]any{"no": doc.Number, "state": "in_progress", "finished": false, "closed": false}
	if done := doc.CreatedAt.Add(s.cfg.CompletionDelay); !time.Now().Before(done) {
		progress["state"], progress["finished"], progress["finished_at"] = "finished", true, done.UTC().Format(time.RFC3339)
	}
	if fault == simulators.FaultLostReply {
		panic(http.ErrAbortHandler)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": progress})
}

// reportSalesOrder reports to the simulated world about a new sales order, so
// the simulated customer pays. The bank ignores a repeated report.
func (s *Simulator) reportSalesOrder(ctx context.Context, doc *document) {
	body := []byte(doc.Body)
	event := simulators.SalesOrderAudited{
		Number: doc.Number, ContractNo: doc.ContractNo,
		Currency: gjson.GetBytes(body, "header.currency").String(), AuditedAt: doc.CreatedAt,
	}
	event.Total, _ = decimal.NewFromString(gjson.GetBytes(body, "header.amount").String())
	if customer, err := findByNumber(ctx, s.cfg.DB, "customers", gjson.GetBytes(body, "header.customer").String()); err == nil && customer != nil {
		event.CustomerName = gjson.Get(customer.Body, "name").String()
	}
	if err := s.cfg.World.SalesOrderAudited(ctx, event); err != nil {
		s.log.WithFields(map[string]any{logging.KeyDocumentNo: doc.Number, logging.KeyError: err}).Warn("Report of a sales order to the simulated bank failed")
	}
}

// identity returns the document number and contract number of a body.
func identity(collection string, body []byte) (number, contractNo string) {
	number = gjson.GetBytes(body, numberPath(collection)).String()
	if collection != "customers" {
		contractNo = gjson.GetBytes(body, "header.contract_ref").String()
	}
	return number, contractNo
}

// needsItems reports whether documents of collection must have lines.
func needsItems(collection string) bool {
	return collection == "sales-orders" || collection == "deliveries"
}

func numberPath(collection string) string {
	if collection == "customers" {
		return "code"
	}
	return "header.doc_no"
}

// reply is the API's reply body for a document: its stored body under data,
// with id, no and state added.
func reply(collection string, doc *document) json.RawMessage {
	data := []byte(doc.Body)
	data, _ = sjson.SetBytes(data, "id", fmt.Sprintf("%s-%06d", strings.ToUpper(collection[:2]), doc.ID))
	data, _ = sjson.SetBytes(data, "no", doc.Number)
	data, _ = sjson.SetBytes(data, "state", "approved")
	out, _ := sjson.SetRawBytes([]byte("{}"), "data", data)
	return out
}

func (s *Simulator) wait(ctx context.Context, d time.Duration) bool { return s.runner.Wait(ctx, d) }

func writeJSON(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}
