package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
)

// isAdmin reports whether the request carries the admin token. It is false
// when no admin token is configured.
func (s *Server) isAdmin(r *http.Request) bool {
	if s.AdminToken == "" {
		return false
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer") && constantTimeEqual(strings.TrimSpace(token), s.AdminToken)
}

// assigneeManager returns the manager of a task's assignee: the manager
// of a sales rep in the sales-team data, and the sales director of the
// current rules for a manager of a sales team. It returns "" for anyone
// else, whose tasks only they and an admin can complete.
func (s *Server) assigneeManager(ctx context.Context, assignee string) (string, error) {
	manager, err := store.SalesAgentManager(ctx, s.Store.DB, assignee)
	if err != nil || manager != "" {
		return manager, err
	}
	leads, err := s.Store.DB.NewSelect().Model((*store.SalesAgent)(nil)).Where("manager = ?", assignee).Exists(ctx)
	if err != nil {
		return "", fmt.Errorf("read sales team of %s: %w", assignee, err)
	}
	if !leads {
		return "", nil
	}
	version, err := s.Store.LatestRules(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	document, err := version.Rules()
	if err != nil {
		return "", err
	}
	director, ok := document.People.Role(rules.RoleSalesDirector)
	if !ok {
		return "", nil
	}
	return director.Name, nil
}

// authorizeCompletion returns nil when by may complete the task: its
// assignee, the assignee's manager, or anyone on a request with the admin
// token. Otherwise it returns the rejection, a 403.
func (s *Server) authorizeCompletion(r *http.Request, task *store.Task, by string) *completionError {
	if s.isAdmin(r) || strings.EqualFold(by, strings.TrimSpace(task.Assignee)) {
		return nil
	}
	manager, err := s.assigneeManager(r.Context(), task.Assignee)
	if err != nil {
		return &completionError{err: err}
	}
	if manager != "" && strings.EqualFold(by, manager) {
		return nil
	}
	allowed := fmt.Sprintf("its assignee %s", task.Assignee)
	if manager != "" {
		allowed += fmt.Sprintf(" or their manager %s", manager)
	}
	s.Logger.WithField("task_id", task.ID).WithField("by", by).Warn("task completion by someone other than the assignee or their manager rejected")
	return &completionError{status: http.StatusForbidden, code: "forbidden", task: task, manager: manager,
		message: fmt.Sprintf("%s may not complete task %d (field by): only %s may, or a request with the admin token", by, task.ID, allowed)}
}
