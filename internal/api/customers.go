package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ordo-project/ordo/internal/store"
)

// CustomerView is a customer with the marks processes set on it.
type CustomerView struct {
	Account *store.Account `json:"account"`
	// Tags are the open tags, e.g. the red renewal_due tag of a contract
	// that ends soon.
	Tags []store.CustomerTag `json:"tags"`
	// Freezes are the renewal-approval freezes in force.
	Freezes []store.CustomerFreeze `json:"freezes"`
	// RenewalApprovalFrozen is true while a freeze is in force, with the
	// reason of the oldest one.
	RenewalApprovalFrozen bool   `json:"renewal_approval_frozen"`
	FrozenReason          string `json:"frozen_reason,omitempty"`
}

// ContactRequest is the body of POST /api/v1/customers/{name}/contact.
// An empty field leaves the stored value unchanged.
type ContactRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// phonePattern accepts a phone number of 5 to 20 digits with an optional
// leading + and spaces or hyphens between digits.
var phonePattern = regexp.MustCompile(`^\+?[0-9](?:[ -]?[0-9]){4,19}$`)

func (s *Server) showCustomer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	account, err := store.FindAccount(ctx, s.Store.DB, r.PathValue("name"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	view := CustomerView{Account: account}
	if view.Tags, err = store.CustomerTags(ctx, s.Store.DB, account.Name, false); err != nil {
		s.writeStoreError(w, err)
		return
	}
	if view.Freezes, err = store.CustomerFreezes(ctx, s.Store.DB, account.Name, false); err != nil {
		s.writeStoreError(w, err)
		return
	}
	if view.RenewalApprovalFrozen, view.FrozenReason, err = store.IsRenewalApprovalFrozen(ctx, s.Store.DB, account.Name); err != nil {
		s.writeStoreError(w, err)
		return
	}
	view.Tags = nonNil(view.Tags)
	view.Freezes = nonNil(view.Freezes)
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) setCustomerContact(w http.ResponseWriter, r *http.Request) {
	var req ContactRequest
	if err := readJSON(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	name, phone := strings.TrimSpace(req.Name), strings.TrimSpace(req.Phone)
	if name == "" && phone == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "name or phone is required")
		return
	}
	if phone != "" && !phonePattern.MatchString(phone) {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf(
			"phone %q is not a phone number: use 5 to 20 digits, optionally with a leading + and spaces or hyphens", phone))
		return
	}
	account, err := store.FindAccount(r.Context(), s.Store.DB, r.PathValue("name"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if err := store.SetCustomerContact(r.Context(), s.Store.DB, account.Name, name, phone); err != nil {
		s.writeStoreError(w, err)
		return
	}
	if account, err = store.FindAccount(r.Context(), s.Store.DB, account.Name); err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, account)
}
