package bank

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	bankconn "github.com/ordo-project/ordo/connectors/bank"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/money"
	"github.com/ordo-project/ordo/internal/simulators"
)

// Reply codes, listed in the package doc.
const (
	codeOK         = "000000"
	codeInvalid    = "E1001"
	codeNoAccount  = "E1004"
	codeAuthFailed = "E4001"
	codeThrottled  = "E4291"
	codeBusy       = "E5001"
)

const (
	componentID     = "bank-sim"
	defaultPageSize = 50
	maxBodyBytes    = 64 << 10
)

// Log field names this package adds to those of package logging.
const (
	keyAmount     = "amount"
	keyPaymentKey = "payment_key"
	keyFault      = "fault"
	keyFaultRate  = "fault_rate"
	keyFaultKinds = "fault_kinds"
)

// Simulator is the simulated bank and its customers. Create it with New,
// then Start it; Close stops the server and the payment loop. Its World
// methods work before Start, since they only schedule payments.
type Simulator struct {
	cfg       Config
	behaviour Behaviour
	log       logrus.FieldLogger
	injector  *simulators.Injector

	runner *simulators.Runner
}

// New validates the configuration and creates the simulator's tables.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	injector, err := simulators.NewInjector(cfg.Faults, DefaultFaults...)
	if err != nil {
		return nil, fmt.Errorf("bank simulator: %w", err)
	}
	if err := migrate(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("bank simulator: %w", err)
	}
	log := cfg.Logger.WithField(logging.KeyComponent, componentID)
	return &Simulator{
		cfg:       cfg,
		behaviour: *cfg.Behaviour,
		log:       log,
		injector:  injector,
		runner:    simulators.NewRunner("bank simulator", log),
	}, nil
}

// Start listens on Config.Address and starts the loop that posts due
// payments. The loop stops when ctx ends or Close is called.
func (s *Simulator) Start(ctx context.Context) error {
	if _, err := s.runner.Serve(s.cfg.Address, s.Handler()); err != nil {
		return err
	}
	s.runner.GoContext(ctx, s.runPayments)
	return nil
}

// URL returns the base URL of the started server.
func (s *Simulator) URL() string { return s.runner.URL() }

// AccountNo returns the collection account the statement belongs to.
func (s *Simulator) AccountNo() string { return s.cfg.AccountNo }

// Injector returns the fault injector, for tests and the admin endpoint.
func (s *Simulator) Injector() *simulators.Injector { return s.injector }

// Close stops the server and waits for the payment loop. Scheduled
// payments stay in the database for the next start.
func (s *Simulator) Close() error { return s.runner.Close(nil) }

// Handler returns the HTTP handler of the statement API and the simulator
// controls.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /openapi/v1/statements/query", s.handleQuery)
	mux.HandleFunc("GET /sim/faults", s.handleGetFaults)
	mux.HandleFunc("PUT /sim/faults", s.handlePutFaults)
	mux.HandleFunc("GET /sim/payments", s.handlePayments)
	mux.HandleFunc("GET /sim/health", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, http.StatusOK, codeOK, "ok", nil)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, http.StatusNotFound, codeInvalid, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path), nil)
	})
	return mux
}

type reply struct {
	RetCode string `json:"ret_code"`
	RetMsg  string `json:"ret_msg"`
	Data    any    `json:"data,omitempty"`
}

func writeReply(w http.ResponseWriter, status int, code, message string, data any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(reply{RetCode: code, RetMsg: message, Data: data})
}

// signature returns the hex HMAC-SHA256 of a request, computed as the
// connector computes it.
var signature = bankconn.RequestSignature

// authenticate returns the reason a request's credentials are rejected,
// or "" if they are valid.
func (s *Simulator) authenticate(r *http.Request, body []byte) string {
	if r.Header.Get("X-Client-Id") != s.cfg.ClientID {
		return "unknown client ID"
	}
	timestamp := r.Header.Get("X-Timestamp")
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "missing or invalid X-Timestamp: use Unix seconds"
	}
	skew := time.Since(time.Unix(seconds, 0))
	if skew > s.cfg.ClockSkew || skew < -s.cfg.ClockSkew {
		return "timestamp outside the allowed clock skew of " + s.cfg.ClockSkew.String()
	}
	expected := signature(s.cfg.ClientSecret, timestamp, r.Method, r.URL.RequestURI(), body)
	if !hmac.Equal([]byte(expected), []byte(r.Header.Get("X-Signature"))) {
		return "signature invalid"
	}
	return ""
}

// queryRequest is the body of a statement query.
type queryRequest struct {
	AccountNo string `json:"account_no"`
	Cursor    string `json:"cursor"`
	PageSize  int    `json:"page_size"`
}

// statementLine is one line as the API sends it.
type statementLine struct {
	SerialNo            string `json:"serial_no"`
	BusinessDate        string `json:"business_date"`
	TradeTime           string `json:"trade_time"`
	Amount              string `json:"amount"`
	Balance             string `json:"balance"`
	Currency            string `json:"currency"`
	CounterpartyName    string `json:"counterparty_name"`
	CounterpartyAccount string `json:"counterparty_account"`
	Remark              string `json:"remark"`
}

type queryReply struct {
	AccountNo  string          `json:"account_no"`
	Lines      []statementLine `json:"lines"`
	NextCursor string          `json:"next_cursor"`
	HasMore    bool            `json:"has_more"`
}

func (s *Simulator) handleQuery(w http.ResponseWriter, r *http.Request) {
	if !s.wait(r.Context(), s.injector.Latency()) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		writeReply(w, http.StatusBadRequest, codeInvalid, "missing or oversized request body", nil)
		return
	}
	if reason := s.authenticate(r, body); reason != "" {
		s.log.WithFields(logrus.Fields{logging.KeyHTTPPath: r.URL.Path, logging.KeyRemoteAddr: r.RemoteAddr}).
			Warn("rejected request: " + reason)
		writeReply(w, http.StatusUnauthorized, codeAuthFailed, reason, nil)
		return
	}

	fault := s.injector.Draw()
	if fault != simulators.FaultNone {
		s.log.WithFields(logrus.Fields{logging.KeyHTTPPath: r.URL.Path, keyFault: string(fault)}).Debug("injecting fault")
	}
	switch fault {
	case simulators.FaultServerError:
		writeReply(w, http.StatusInternalServerError, codeBusy, "system busy, try again later", nil)
		return
	case simulators.FaultThrottle:
		writeReply(w, http.StatusTooManyRequests, codeThrottled, "too many requests, try again later", nil)
		return
	case simulators.FaultTimeout:
		s.wait(r.Context(), s.injector.Hang())
		simulators.LoseReply(w)
		return
	case simulators.FaultLostReply:
		simulators.LoseReply(w)
		return
	}

	var request queryRequest
	if err := json.Unmarshal(body, &request); err != nil {
		writeReply(w, http.StatusBadRequest, codeInvalid, "invalid JSON body: "+err.Error(), nil)
		return
	}
	if request.AccountNo != s.cfg.AccountNo {
		writeReply(w, http.StatusNotFound, codeNoAccount, fmt.Sprintf("no account %q for this client", request.AccountNo), nil)
		return
	}
	pageSize := request.PageSize
	if pageSize == 0 {
		pageSize = defaultPageSize
	}
	if pageSize < 0 || pageSize > s.cfg.MaxPageSize {
		writeReply(w, http.StatusBadRequest, codeInvalid,
			fmt.Sprintf("invalid page_size %d: use 1 to %d", request.PageSize, s.cfg.MaxPageSize), nil)
		return
	}
	var after int64
	if request.Cursor != "" {
		after, err = strconv.ParseInt(request.Cursor, 10, 64)
		if err != nil || after < 0 {
			writeReply(w, http.StatusBadRequest, codeInvalid, fmt.Sprintf("invalid cursor %q: pass the next_cursor of the previous page", request.Cursor), nil)
			return
		}
	}

	page, err := s.page(r.Context(), after, pageSize, fault == FaultDuplicateLine)
	if err != nil {
		s.log.WithFields(logrus.Fields{logging.KeyHTTPPath: r.URL.Path, logging.KeyError: err}).Error("statement query failed")
		writeReply(w, http.StatusInternalServerError, codeBusy, "system busy, try again later", nil)
		return
	}
	writeReply(w, http.StatusOK, codeOK, "success", page)
}

// page reads up to size lines after the cursor position. With resend set
// it starts at the line at the cursor, which the previous page already
// delivered.
func (s *Simulator) page(ctx context.Context, after int64, size int, resend bool) (queryReply, error) {
	query := s.cfg.DB.NewSelect().Model((*lineRow)(nil)).Order("seq").Limit(int64(size))
	if resend && after > 0 {
		query = query.Where("seq >= ?", after)
	} else {
		query = query.Where("seq > ?", after)
	}
	var rows []lineRow
	if err := query.Scan(ctx, &rows); err != nil {
		return queryReply{}, fmt.Errorf("read statement lines after %d: %w", after, err)
	}

	result := queryReply{AccountNo: s.cfg.AccountNo, Lines: make([]statementLine, 0, len(rows)), NextCursor: strconv.FormatInt(after, 10)}
	if after == 0 && len(rows) == 0 {
		result.NextCursor = ""
	}
	for _, row := range rows {
		line, err := apiLine(row)
		if err != nil {
			return queryReply{}, err
		}
		result.Lines = append(result.Lines, line)
		result.NextCursor = strconv.FormatInt(row.Seq, 10)
	}
	last := after
	if len(rows) > 0 {
		last = rows[len(rows)-1].Seq
	}
	more, err := s.cfg.DB.NewSelect().Model((*lineRow)(nil)).Where("seq > ?", last).Exists(ctx)
	if err != nil {
		return queryReply{}, fmt.Errorf("look for statement lines after %d: %w", last, err)
	}
	result.HasMore = more
	return result, nil
}

func apiLine(row lineRow) (statementLine, error) {
	amount, err := money.Parse(row.Amount)
	if err != nil {
		return statementLine{}, fmt.Errorf("stored amount of line %s: %w", row.SerialNo, err)
	}
	balance, err := money.Parse(row.Balance)
	if err != nil {
		return statementLine{}, fmt.Errorf("stored balance of line %s: %w", row.SerialNo, err)
	}
	return statementLine{
		SerialNo:            row.SerialNo,
		BusinessDate:        row.BusinessDate,
		TradeTime:           row.TradeTime,
		Amount:              money.FormatSigned(amount),
		Balance:             money.FormatSigned(balance),
		Currency:            row.Currency,
		CounterpartyName:    row.CounterpartyName,
		CounterpartyAccount: row.CounterpartyAccount,
		Remark:              row.Remark,
	}, nil
}

// wait sleeps for d and reports false if the request or the simulator
// ended first.
func (s *Simulator) wait(ctx context.Context, d time.Duration) bool {
	return s.runner.Wait(ctx, d)
}

func (s *Simulator) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeReply(w, http.StatusOK, codeOK, "success", s.injector.Config())
}

func (s *Simulator) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var config simulators.FaultConfig
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&config); err != nil {
		writeReply(w, http.StatusBadRequest, codeInvalid, "invalid fault configuration: "+err.Error(), nil)
		return
	}
	if config.Rate < 0 || config.Rate > 1 {
		writeReply(w, http.StatusBadRequest, codeInvalid, fmt.Sprintf("invalid fault rate %v: use a probability between 0 and 1", config.Rate), nil)
		return
	}
	s.injector.SetConfig(config)
	s.log.WithFields(logrus.Fields{keyFaultRate: config.Rate, keyFaultKinds: config.Kinds}).Info("fault configuration changed")
	writeReply(w, http.StatusOK, codeOK, "success", s.injector.Config())
}

func (s *Simulator) handlePayments(w http.ResponseWriter, r *http.Request) {
	var payments []paymentRow
	if err := s.cfg.DB.NewSelect().Model(&payments).Order("due_at_ms", "key").Scan(r.Context()); err != nil {
		s.log.WithField(logging.KeyError, err).Error("listing payments failed")
		writeReply(w, http.StatusInternalServerError, codeBusy, "system busy, try again later", nil)
		return
	}
	writeReply(w, http.StatusOK, codeOK, "success", payments)
}
