package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ordo-project/ordo/internal/erpsync"
	"github.com/ordo-project/ordo/internal/store"
)

// RetryRequest names the operator who retries a dead letter.
type RetryRequest struct {
	By string `json:"by"`
}

// DeadLetterList is one page of dead letters, newest first.
type DeadLetterList struct {
	DeadLetters []store.DeadLetter `json:"dead_letters"`
	// Next is the value of "after" for the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

// listDeadLetters serves GET /api/v1/dead-letters?state=open&sync=customers&limit=100&after=ID.
func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	filter := store.DeadLetterFilter{State: query.Get("state"), SyncName: query.Get("sync")}
	switch filter.State {
	case "", store.DeadLetterOpen, store.DeadLetterRequeued, store.DeadLetterResolved:
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument", "state "+strconv.Quote(filter.State)+" is invalid: use open, requeued or resolved")
		return
	}
	var ok bool
	if filter.Limit, ok = pageLimit(w, query, store.DefaultPageLimit); !ok {
		return
	}
	if filter.After, ok = pageAfterID(w, query, "dead letter"); !ok {
		return
	}
	letters, err := store.ListDeadLetters(r.Context(), s.Store.DB, filter)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, DeadLetterList{
		DeadLetters: letters,
		Next:        nextCursor(letters, filter.Limit, func(l store.DeadLetter) string { return strconv.FormatInt(l.ID, 10) }),
	})
}

// retryDeadLetter serves POST /api/v1/dead-letters/{id}/retry with a
// RetryRequest body.
func (s *Server) retryDeadLetter(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "dead letter id "+strconv.Quote(r.PathValue("id"))+" is invalid: use the numeric id from the list")
		return
	}
	var req RetryRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	// Retry rejects a blank name too, with an error the switch below
	// would report as a database error.
	if strings.TrimSpace(req.By) == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "by is required: name the operator for the audit")
		return
	}
	syncer := &erpsync.Syncer{Store: s.Store}
	result, err := syncer.Retry(r.Context(), id, req.By)
	switch {
	case errors.Is(err, erpsync.ErrAlreadyResolved):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found",
			fmt.Sprintf("dead letter %d not found: use an id from GET /api/v1/dead-letters (ordo dlq list)", id))
	case err != nil:
		s.writeStoreError(w, err)
	default:
		writeJSON(w, http.StatusOK, result)
	}
}

// syncStatus serves GET /api/v1/sync/status: every sync's watermark and
// counters, and the number of open dead letters.
func (s *Server) syncStatus(w http.ResponseWriter, r *http.Request) {
	cursors, err := store.ListSyncCursors(r.Context(), s.Store.DB)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	open, err := s.Store.DB.NewSelect().Model((*store.DeadLetter)(nil)).Where("state <> ?", store.DeadLetterResolved).Count(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"syncs": cursors, "unresolved_dead_letters": open})
}
