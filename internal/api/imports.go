package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/ordo-project/ordo/internal/crmimport"
	"github.com/ordo-project/ordo/internal/store"
)

// maxUploadBytes bounds a CRM export upload.
const maxUploadBytes = 256 << 20

// ImportEvent is one line of the streamed answer of an import: progress
// while it runs, then the summary or an error.
type ImportEvent struct {
	Type     string              `json:"type"`
	Progress *crmimport.Progress `json:"progress,omitempty"`
	Summary  *crmimport.Summary  `json:"summary,omitempty"`
	// Started counts chains started after the import, in the final event.
	Started int          `json:"workflows_started,omitempty"`
	Error   *errorDetail `json:"error,omitempty"`
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
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	reader, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "expected a multipart/form-data upload of the export's CSV files: "+err.Error())
		return
	}
	files := map[string]io.Reader{}
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", "read upload: "+err.Error())
			return
		}
		name := part.FileName()
		if name == "" {
			name = part.FormName()
		}
		data, err := io.ReadAll(part)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", "read uploaded file "+name+": "+err.Error())
			return
		}
		files[name] = strings.NewReader(string(data))
	}
	source, err := crmimport.ReaderSource("upload", files)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
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
		Progress: func(p crmimport.Progress) { stream.send(ImportEvent{Type: "progress", Progress: &p}) },
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
	stream.send(ImportEvent{Type: "summary", Summary: summary, Started: started})
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
