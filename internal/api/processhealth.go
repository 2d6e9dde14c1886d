package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/processhealth"
	"github.com/ordo-project/ordo/internal/store"
)

// earliestRecord is the default start of a report period: before any
// date the CRM export or ordo records.
var earliestRecord = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// processHealth serves GET /api/v1/metrics/process-health. The period is
// ?month=YYYY-MM, or ?from= and ?to= as dates (to exclusive) or RFC 3339
// times; without them it covers every record. ?by=team or ?by=region adds
// the figures per group.
func (s *Server) processHealth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now()
	from, to := earliestRecord, now.Add(time.Second)
	if month := q.Get("month"); month != "" {
		start, err := time.Parse("2006-01", month)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("month %q is not a month YYYY-MM", month))
			return
		}
		from, to = start, start.AddDate(0, 1, 0)
	}
	for _, bound := range []struct {
		name string
		into *time.Time
	}{{"from", &from}, {"to", &to}} {
		value := q.Get(bound.name)
		if value == "" {
			continue
		}
		t, err := parseDateOrTime(value)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("%s %q: %v", bound.name, value, err))
			return
		}
		*bound.into = t
	}
	by := strings.TrimSpace(q.Get("by"))
	report, err := processhealth.Compute(r.Context(), s.Store.DB, processhealth.Options{From: from, To: to, Now: now, GroupBy: by})
	if err != nil {
		if strings.HasPrefix(err.Error(), "invalid ") {
			writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
			return
		}
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

func parseDateOrTime(value string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, value); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a date YYYY-MM-DD or an RFC 3339 time")
	}
	return t, nil
}

// InteractionRequest is the body of POST /api/v1/customers/{name}/interactions.
type InteractionRequest struct {
	Channel string `json:"channel"`
	By      string `json:"by"`
	// At defaults to the time of the request.
	At   *time.Time `json:"at,omitempty"`
	Note string     `json:"note,omitempty"`
}

// recordInteraction records a meeting, call or other contact with a
// customer, which the high-risk intervention measure counts.
func (s *Server) recordInteraction(w http.ResponseWriter, r *http.Request) {
	var req InteractionRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	if !slices.Contains(store.InteractionChannels, req.Channel) {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("channel %q is not one of %s",
			req.Channel, strings.Join(store.InteractionChannels, ", ")))
		return
	}
	if strings.TrimSpace(req.By) == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "by is required: name the person who contacted the customer")
		return
	}
	account, err := store.FindAccount(r.Context(), s.Store.DB, r.PathValue("name"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	at := time.Now()
	if req.At != nil {
		at = *req.At
	}
	interaction := &store.Interaction{Customer: account.Name, CustomerNo: account.CustomerNo, Channel: req.Channel,
		By: strings.TrimSpace(req.By), At: at, Note: req.Note, Source: "api"}
	if err := store.RecordInteraction(r.Context(), s.Store.DB, interaction); err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, interaction)
}
