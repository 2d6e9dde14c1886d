package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/tasklink"
	"github.com/ordo-project/ordo/internal/taskpage"
)

// maxFormBytes bounds the body of a completion form: a name and a note.
const maxFormBytes = 64 << 10

// showTaskPage serves GET /t/{id}?sig=..., the page that a task's
// notification links to. The signature replaces the API token.
func (s *Server) showTaskPage(w http.ResponseWriter, r *http.Request) {
	locale, explicit := taskpage.Locale(r)
	task, ok := s.signedTask(w, r, locale)
	if !ok {
		return
	}
	page := s.taskPage(r, task, locale, explicit, false)
	page.By = task.Assignee
	s.writeTaskPage(w, r, http.StatusOK, page)
}

// completeTaskPage serves POST /t/{id}/complete?sig=..., the completion
// form of the task page. It completes the task the way
// POST /api/v1/tasks/{id}/complete does and shows the outcome.
func (s *Server) completeTaskPage(w http.ResponseWriter, r *http.Request) {
	locale, explicit := taskpage.Locale(r)
	task, ok := s.signedTask(w, r, locale)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.Logger.WithError(err).WithField("task_id", task.ID).Info("task page: completion form rejected as unreadable")
		s.writeTaskPage(w, r, http.StatusBadRequest, s.errorPage(locale, "error_title", "invalid_form_body"))
		return
	}
	by, note := r.PostForm.Get("by"), r.PostForm.Get("note")

	response, failure := s.completeAndSignal(r, task.ID, by, note)
	page := s.taskPage(r, task, locale, explicit, true)
	page.By, page.Note = by, note
	status := http.StatusOK
	switch {
	case failure == nil:
		page.Task = response.Task
		page.Notice = s.completedNotice(locale, response)
	default:
		if failure.task != nil {
			page.Task = failure.task
		}
		status = failure.status
		page.Notice = &taskpage.Notice{Text: s.completionFailureText(r, locale, failure, by), Bad: true}
		if failure.err != nil {
			status = http.StatusInternalServerError
		}
	}
	// After a 503 the task is done but its workflow missed the signal, so
	// the form stays for the person to send it again.
	page.ShowForm = page.Task.State == store.TaskOpen || (failure != nil && failure.status == http.StatusServiceUnavailable)
	s.writeTaskPage(w, r, status, page)
}

// signedTask returns the task of the {id} path value when the sig query
// parameter signs it. Otherwise it writes a 403 page, without telling
// whether the task exists, and returns false.
func (s *Server) signedTask(w http.ResponseWriter, r *http.Request, locale string) (*store.Task, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var task *store.Task
	if err == nil && id > 0 {
		task, err = s.Store.GetTask(r.Context(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.Logger.WithError(err).WithField("task_id", id).Error("task page: read task failed")
			s.writeTaskPage(w, r, http.StatusInternalServerError, s.errorPage(locale, "error_title", "notice_failed"))
			return nil, false
		}
	}
	if task == nil || !tasklink.Verify(s.LinkSecret, task.ID, task.Key, r.URL.Query().Get("sig")) {
		s.Logger.WithField("task_path", r.URL.Path).Info("task page link rejected: unknown task or invalid signature")
		s.writeTaskPage(w, r, http.StatusForbidden, s.errorPage(locale, "invalid_link_title", "invalid_link_body"))
		return nil, false
	}
	return task, true
}

// taskPage returns the page of task with its links. The links are
// relative to the request's path: /t/ID for the page, /t/ID/complete for
// the outcome of the form. They keep a language chosen by the lang
// parameter.
func (s *Server) taskPage(r *http.Request, task *store.Task, locale string, explicit, afterForm bool) taskpage.Page {
	query := url.Values{"sig": {r.URL.Query().Get("sig")}}
	if explicit {
		query.Set("lang", locale)
	}
	id := strconv.FormatInt(task.ID, 10)
	page := taskpage.Page{Locale: locale, Location: s.pageLocation(), Task: task, ShowForm: task.State == store.TaskOpen}
	self := id
	page.ActionURL = id + "/complete?" + query.Encode()
	if afterForm {
		self = "../" + id
		page.ActionURL = "complete?" + query.Encode()
		page.BackURL = self + "?" + query.Encode()
	}
	query.Set("lang", taskpage.OtherLocale(locale))
	page.SwitchURL = self + "?" + query.Encode()
	return page
}

// completedNotice returns the outcome of a completion that succeeded.
func (s *Server) completedNotice(locale string, response CompleteTaskResponse) *taskpage.Notice {
	task := response.Task
	switch {
	case !response.Changed:
		at := ""
		if task.CompletedAt != nil {
			at = taskpage.FormatTime(*task.CompletedAt, s.pageLocation())
		}
		return &taskpage.Notice{Text: s.pageText(locale, "notice_already_done", map[string]string{"by": task.CompletedBy, "at": at})}
	case response.Signal == SignalSent:
		return &taskpage.Notice{Text: s.pageText(locale, "notice_done", nil)}
	default:
		return &taskpage.Notice{Text: s.pageText(locale, "notice_done_no_signal", nil)}
	}
}

// completionFailureText returns the reason of a rejected or failed
// completion in words for the person who sent the form.
func (s *Server) completionFailureText(r *http.Request, locale string, failure *completionError, by string) string {
	switch {
	case failure.err != nil:
		s.Logger.WithError(failure.err).WithField("task_path", r.URL.Path).Error("task page: completion failed in the database")
		return s.pageText(locale, "notice_failed", nil)
	case failure.status == http.StatusBadRequest:
		return s.pageText(locale, "notice_by_missing", nil)
	case failure.status == http.StatusForbidden:
		data := map[string]string{"by": by, "assignee": failure.task.Assignee, "manager": failure.manager}
		if failure.manager == "" {
			return s.pageText(locale, "notice_forbidden", data)
		}
		return s.pageText(locale, "notice_forbidden_manager", data)
	case failure.status == http.StatusConflict:
		return s.pageText(locale, "notice_cancelled", nil)
	case failure.status == http.StatusServiceUnavailable:
		return s.pageText(locale, "notice_unavailable", nil)
	}
	return s.pageText(locale, "notice_failed", nil)
}

// errorPage returns the page of an error without a task, with the texts
// headingID and messageID.
func (s *Server) errorPage(locale, headingID, messageID string) taskpage.Page {
	return taskpage.Page{Locale: locale, Heading: s.pageText(locale, headingID, nil), Message: s.pageText(locale, messageID, nil)}
}

// pageText returns a text of the task page. A missing text is a defect of
// the message files, which a test of package taskpage catches, so it is
// logged and shown as its id.
func (s *Server) pageText(locale, id string, data map[string]string) string {
	text, err := taskpage.Text(locale, id, data)
	if err != nil {
		s.Logger.WithError(err).Error("task page text missing")
		return id
	}
	return text
}

// pageLocation returns the time zone of notify.time_zone, in which the
// page shows times as notifications do, or UTC when it is not set.
func (s *Server) pageLocation() *time.Location {
	if s.Config == nil {
		return time.UTC
	}
	location, err := s.Config.Notify.Location()
	if err != nil {
		return time.UTC
	}
	return location
}

func (s *Server) writeTaskPage(w http.ResponseWriter, r *http.Request, status int, page taskpage.Page) {
	if err := taskpage.Write(w, status, page); err != nil {
		s.Logger.WithError(err).WithField("task_path", r.URL.Path).Error("task page: render failed")
		http.Error(w, "task page could not be rendered; see the ordo log", http.StatusInternalServerError)
	}
}
