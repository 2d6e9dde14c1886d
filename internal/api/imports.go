package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/store"
)

// maxUploadBytes bounds a CRM export upload. It is a whole number of MiB,
// and a variable so that tests can lower it.
var maxUploadBytes int64 = 256 << 20

// ImportEvent is one line of the streamed answer of an import: progress
// while it runs, then the summary or an error.
type ImportEvent struct {
	Type     string              `json:"type"`
	Progress *crmimport.Progress `json:"progress,omitempty"`
	Summary  *crmimport.Summary  `json:"summary,omitempty"`
	// Started counts chains started after the import, in the final event.
	Started int `json:"workflows_started,omitempty"`
	// Renewals counts all contracts by renewal state once the renewals of
	// the new contracts are planned, in the final event. Contracts whose
	// end date passed before the import are "expired" and get no reminder.
	Renewals []store.StateCount `json:"renewals,omitempty"`
	// LeadsStarted counts lead SLA workflows this request started after
	// the import, in the final event. The lead starter's background pass
	// may start some of the new leads' workflows while the import runs.
	LeadsStarted int `json:"lead_workflows_started,omitempty"`
	// OpenLeadsWithWorkflow counts the open leads that have an SLA
	// workflow once the import is done, whoever started it.
	OpenLeadsWithWorkflow int          `json:"open_leads_with_workflow,omitempty"`
	Error                 *errorDetail `json:"error,omitempty"`
}

// PhaseStartChains is the progress phase after the import proper, while
// the chains of new contracts start.
const PhaseStartChains = "start_chains"

// ChainStarter starts pending chains and reports how many it started.
type ChainStarter interface {
	ContractStarter
	StartPendingWithProgress(ctx context.Context, progress func(started int)) (int, error)
}

// importCRM imports a CRM export uploaded as multipart/form-data, one part
// per file named after it (accounts.csv, products.csv, sales_teams.csv,
// sales_pipeline.csv). The answer is newline-delimited JSON: progress
// events, then a summary event. The import goes on when the client
// disconnects, so a half-written import never depends on the client.
func (s *Server) importCRM(w http.ResponseWriter, r *http.Request) {
	files, rejected := readExportUpload(w, r)
	if rejected != nil {
		writeError(w, rejected.status, rejected.code, rejected.message)
		return
	}
	source, err := crmimport.ReaderSource("upload", files)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_export", err.Error())
		return
	}
	// A missing file is found here, before the response starts, so the
	// client gets a plain 400 instead of a stream that ends in an error.
	var missing []string
	for _, file := range crmimport.Files {
		if _, ok := files[file]; !ok {
			missing = append(missing, file)
		}
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_export", fmt.Sprintf(
			"the upload lacks %s: a CRM export has the files %s, each sent as one part named after the file",
			strings.Join(missing, ", "), strings.Join(crmimport.Files, ", ")))
		return
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	stream := &eventStream{w: w}
	ctx := context.WithoutCancel(r.Context())

	summary, err := crmimport.Import(ctx, s.Store, source, crmimport.Options{
		Currency: s.Config.Currency,
		Tax:      s.Config.Tax,
		Plan:     s.Config.Payment.Plan,

		ExchangeRates: s.Config.Invoice.ExchangeRates,
		Progress:      func(p crmimport.Progress) { stream.send(ImportEvent{Type: "progress", Progress: &p}) },
	})
	if err != nil {
		s.Logger.WithError(err).Error("CRM import failed")
		code := "import_failed"
		var headerErr *crmimport.HeaderError
		if errors.As(err, &headerErr) || errors.Is(err, crmimport.ErrMissingFile) {
			code = "invalid_export"
		}
		stream.send(ImportEvent{Type: "error", Summary: summary, Error: &errorDetail{Code: code, Message: err.Error()}})
		return
	}

	started := 0
	if starter, ok := s.Contracts.(ChainStarter); ok && summary.Contracts.Created > 0 {
		total := summary.Contracts.Created
		started, err = starter.StartPendingWithProgress(ctx, func(n int) {
			stream.send(ImportEvent{Type: "progress", Progress: &crmimport.Progress{Phase: PhaseStartChains, Done: n, Total: total}})
		})
		if err != nil {
			// The starter's background loop retries; the import itself is done.
			s.Logger.WithError(err).Warn("starting chains after the import failed; the starter retries")
		}
	} else if s.Contracts != nil {
		s.Contracts.Kick()
	}
	leadsStarted := s.startImportedLeads(ctx, stream, summary.Leads.Created)
	final := ImportEvent{Type: "summary", Summary: summary, Started: started, LeadsStarted: leadsStarted}
	if open, err := s.Store.DB.NewSelect().Model((*store.Lead)(nil)).
		Where("workflow_started_at IS NOT NULL").Where("state <> ?", store.LeadClosed).Count(ctx); err == nil {
		final.OpenLeadsWithWorkflow = int(open)
	} else {
		s.Logger.WithError(err).Warn("counting open leads with a workflow after the import failed")
	}
	if s.Renewals != nil && summary.Contracts.Created > 0 {
		if _, err := s.Renewals.PlanPending(ctx); err != nil {
			s.Logger.WithError(err).Warn("planning renewals after the import failed; the planner retries")
			s.Renewals.Kick()
		} else if final.Renewals, err = s.Store.CountRenewalStates(ctx); err != nil {
			s.Logger.WithError(err).Warn("counting renewal states after the import failed")
		}
	}
	stream.send(final)
}

// startImportedLeads starts the SLA workflows of the created leads, when
// there are any, and returns how many it started. The lead starter's
// background pass retries a failure and signals running workflows the
// reassignments and closings of the import.
func (s *Server) startImportedLeads(ctx context.Context, stream *eventStream, created int) int {
	if s.LeadStarter == nil {
		return 0
	}
	defer s.LeadStarter.Kick()
	if created == 0 {
		return 0
	}
	started, err := s.LeadStarter.StartPendingWithProgress(ctx, func(n int) {
		stream.send(ImportEvent{Type: "progress", Progress: &crmimport.Progress{Phase: PhaseStartLeads, Done: n, Total: max(created, n)}})
	})
	if err != nil {
		s.Logger.WithError(err).Warn("starting lead workflows after the import failed; the lead starter retries")
	}
	return started
}

// uploadError is a rejected upload, answered before the stream starts.
type uploadError struct {
	status  int
	code    string
	message string
}

// readExportUpload reads the parts of a multipart CRM export upload into
// memory, keyed by export file name. A part whose form name is one of
// crmimport.Files is that file, so a client may upload a file saved under
// another name. Any other part is keyed by its file name, or by its form
// name when it has none.
func readExportUpload(w http.ResponseWriter, r *http.Request) (map[string]io.Reader, *uploadError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	reader, err := r.MultipartReader()
	if err != nil {
		return nil, &uploadError{http.StatusBadRequest, "invalid_argument",
			"expected a multipart/form-data upload of the export's CSV files: " + err.Error()}
	}
	readFailed := func(what string, err error) *uploadError {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &uploadError{http.StatusRequestEntityTooLarge, "too_large",
				fmt.Sprintf("the upload exceeds %d MiB, the limit of a CRM export upload", maxUploadBytes>>20)}
		}
		return &uploadError{http.StatusBadRequest, "invalid_argument", what + ": " + err.Error()}
	}
	files := map[string]io.Reader{}
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, readFailed("read upload", err)
		}
		name := part.FormName()
		if !slices.Contains(crmimport.Files, name) && part.FileName() != "" {
			name = part.FileName()
		}
		if _, seen := files[name]; seen {
			return nil, &uploadError{http.StatusBadRequest, "invalid_export", "the upload contains " + name + " twice: send each file once"}
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, readFailed("read uploaded file "+name, err)
		}
		files[name] = bytes.NewReader(data)
	}
}

// eventStream writes NDJSON events and flushes each, ignoring a client
// that went away.
type eventStream struct {
	mu     sync.Mutex
	w      http.ResponseWriter
	failed bool
}

func (e *eventStream) send(event ImportEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failed {
		return
	}
	data, err := json.Marshal(event)
	if err != nil {
		return
	}
	if _, err := e.w.Write(append(data, '\n')); err != nil {
		e.failed = true
		return
	}
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) showImport(w http.ResponseWriter, r *http.Request) {
	run, err := store.GetImportRun(r.Context(), s.Store.DB, r.PathValue("id"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	var summary json.RawMessage = json.RawMessage(run.Summary)
	if !json.Valid(summary) {
		summary = json.RawMessage("{}")
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": run, "summary": summary})
}
