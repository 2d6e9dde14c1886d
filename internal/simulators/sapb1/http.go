package sapb1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

const apiPrefix = "/b1s/v1/"

func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.faults.Config())
	})
	mux.HandleFunc("PUT /sim/faults", s.handlePutFaults)
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /sim/sessions/expire", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"expired": s.ExpireSessions()})
	})
	mux.HandleFunc(apiPrefix, s.serveWithFaults)
	return mux
}

func (s *Simulator) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var config simulators.FaultConfig
	decoder := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&config); err != nil {
		http.Error(w, "invalid fault configuration: "+err.Error(), http.StatusBadRequest)
		return
	}
	if config.Rate < 0 || config.Rate > 1 {
		http.Error(w, "invalid fault rate: use a probability between 0 and 1", http.StatusBadRequest)
		return
	}
	for _, kind := range config.Kinds {
		known := false
		for _, k := range DefaultFaults {
			known = known || k == kind
		}
		if !known {
			http.Error(w, "unknown fault kind "+string(kind), http.StatusBadRequest)
			return
		}
	}
	s.faults.SetConfig(config)
	writeJSON(w, http.StatusOK, s.faults.Config())
}

// serveWithFaults adds the configured latency and draws a fault before
// the request reaches the Service Layer handler.
func (s *Simulator) serveWithFaults(w http.ResponseWriter, r *http.Request) {
	if d := s.faults.Latency(); d > 0 && !s.sleep(r, d) {
		return
	}
	fault := s.faults.DrawFor(r.Method + " " + strings.TrimPrefix(r.URL.Path, apiPrefix))
	entry := s.log.WithField(logging.KeyHTTPPath, r.URL.Path)
	if fault != simulators.FaultNone {
		s.injected.Add(1)
		entry.WithField("fault", fault).Debug("Injecting fault")
	}
	switch fault {
	case simulators.FaultServerError:
		writeError(w, &apiError{status: http.StatusInternalServerError, code: -1, message: "Internal server error (injected)"})
		return
	case simulators.FaultThrottle:
		writeError(w, &apiError{status: http.StatusTooManyRequests, code: -1, message: "Too many requests (injected)"})
		return
	case simulators.FaultTimeout:
		s.sleep(r, s.faults.Hang())
		dropConnection(w)
		return
	case FaultSilentDrop:
		dropConnection(w)
		return
	case FaultSessionLost:
		s.sessions.drop(r)
	case simulators.FaultLostReply:
		recorder := httptest.NewRecorder()
		s.serveAPI(recorder, r)
		dropConnection(w)
		return
	}
	s.serveAPI(w, r)
}

// sleep waits d or until the client goes away or the simulator stops,
// and reports whether the full time passed.
func (s *Simulator) sleep(r *http.Request, d time.Duration) bool {
	return s.runner.Wait(r.Context(), d)
}

// dropConnection closes the client's connection without a reply.
func dropConnection(w http.ResponseWriter) {
	if hijacker, ok := w.(http.Hijacker); ok {
		if conn, _, err := hijacker.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// serveAPI dispatches one Service Layer request.
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	resource := strings.TrimPrefix(r.URL.Path, apiPrefix)
	if resource == "Login" && r.Method == http.MethodPost {
		s.login(w, r)
		return
	}
	if s.sessions.touch(r, time.Now()) == nil {
		s.rejected.Add(1)
		writeError(w, &apiError{status: http.StatusUnauthorized, code: 301, message: "Invalid session."})
		return
	}
	if resource == "Logout" && r.Method == http.MethodPost {
		s.sessions.drop(r)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	name, key, action, err := parseResource(resource)
	if err != nil {
		writeError(w, err)
		return
	}
	spec, ok := entities[name]
	if !ok {
		writeError(w, &apiError{status: http.StatusNotFound, code: -1, message: fmt.Sprintf("Invalid resource path: %s", name)})
		return
	}
	ctx := r.Context()
	switch {
	case r.Method == http.MethodGet && key == "":
		s.handleList(w, r, spec)
	case r.Method == http.MethodGet && action == "":
		found, err := s.findByKey(ctx, s.db, spec, key)
		if err != nil {
			writeError(w, err)
			return
		}
		body, err := s.present(found, time.Now())
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, selectProps(body, r.URL.Query().Get("$select")))
	case r.Method == http.MethodPost && key == "":
		body, err := decodeBody(r)
		if err != nil {
			writeError(w, err)
			return
		}
		_, created, err := s.create(ctx, spec, body)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, created)
	case r.Method == http.MethodPatch && action == "":
		body, err := decodeBody(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if err := s.update(ctx, spec, key, body); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodDelete && action == "":
		if err := s.remove(ctx, spec, key); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && action == "Cancel":
		if err := s.cancel(ctx, spec, key); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: -1, message: fmt.Sprintf("%s is not supported on %s", r.Method, resource)})
	}
}

type loginRequest struct {
	CompanyDB string `json:"CompanyDB"`
	UserName  string `json:"UserName"`
	Password  string `json:"Password"`
}

func (s *Simulator) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, badRequest("Invalid login body: %v", err))
		return
	}
	if req.CompanyDB != s.cfg.CompanyDB {
		writeError(w, &apiError{status: http.StatusUnauthorized, code: -304, message: fmt.Sprintf("Fail to get DB Credentials from SLD server (company %s)", req.CompanyDB)})
		return
	}
	if req.UserName != s.cfg.UserName || req.Password != s.cfg.Password {
		writeError(w, &apiError{status: http.StatusUnauthorized, code: 100000027, message: "Login failed"})
		return
	}
	session := s.sessions.create(time.Now())
	s.logins.Add(1)
	http.SetCookie(w, &http.Cookie{Name: CookieSession, Value: session.id, Path: "/b1s/v1", HttpOnly: true})
	http.SetCookie(w, &http.Cookie{Name: CookieRoute, Value: ".node1", Path: "/b1s"})
	writeJSON(w, http.StatusOK, map[string]any{
		"odata.metadata": "$metadata#B1Sessions/@Element",
		"SessionId":      session.id,
		"Version":        "1000190",
		"SessionTimeout": int(s.cfg.SessionTimeout / time.Minute),
	})
}

// handleList serves a collection with $filter, $select, $top and $skip,
// a page of at most PageSize entities (or the odata.maxpagesize the
// client prefers) and odata.nextLink when more follow.
func (s *Simulator) handleList(w http.ResponseWriter, r *http.Request, spec *entitySpec) {
	query := r.URL.Query()
	filter, err := parseFilter(query.Get("$filter"))
	if err != nil {
		writeError(w, err)
		return
	}
	top, err := intParam(query, "$top", -1)
	if err != nil {
		writeError(w, err)
		return
	}
	skip, err := intParam(query, "$skip", 0)
	if err != nil {
		writeError(w, err)
		return
	}

	pageSize := s.cfg.PageSize
	if prefer := r.Header.Get("Prefer"); strings.HasPrefix(prefer, "odata.maxpagesize=") {
		if n, err := strconv.Atoi(strings.TrimPrefix(prefer, "odata.maxpagesize=")); err == nil && n > 0 {
			pageSize = n
		}
	}

	all, err := s.list(r.Context(), spec, filter)
	if err != nil {
		writeError(w, err)
		return
	}
	if skip > len(all) {
		skip = len(all)
	}
	rest := all[skip:]
	if top >= 0 && top < len(rest) {
		rest = rest[:top]
	}
	page := rest
	if len(page) > pageSize {
		page = page[:pageSize]
	}

	values := make([]map[string]any, 0, len(page))
	for _, body := range page {
		values = append(values, selectProps(body, query.Get("$select")))
	}
	reply := map[string]any{"odata.metadata": "$metadata#" + spec.name, "value": values}
	if len(rest) > len(page) {
		next := url.Values{}
		for _, name := range []string{"$filter", "$select"} {
			if v := query.Get(name); v != "" {
				next.Set(name, v)
			}
		}
		if top >= 0 {
			next.Set("$top", strconv.Itoa(top-len(page)))
		}
		next.Set("$skip", strconv.Itoa(skip+len(page)))
		reply["odata.nextLink"] = spec.name + "?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, reply)
}

func intParam(query url.Values, name string, fallback int) (int, error) {
	text := query.Get(name)
	if text == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 {
		return 0, badRequest("Invalid value %q of %s", text, name)
	}
	return n, nil
}

// parseResource splits "Orders(12)/Cancel" into its entity set, key and
// action. A string key is quoted: BusinessPartners('C001').
func parseResource(resource string) (name, key, action string, err error) {
	resource, action, _ = strings.Cut(resource, "/")
	open := strings.IndexByte(resource, '(')
	if open < 0 {
		return resource, "", action, nil
	}
	if !strings.HasSuffix(resource, ")") {
		return "", "", "", badRequest("Invalid resource path %q", resource)
	}
	name = resource[:open]
	key = resource[open+1 : len(resource)-1]
	if strings.HasPrefix(key, "'") {
		if len(key) < 2 || !strings.HasSuffix(key, "'") {
			return "", "", "", badRequest("Invalid key %s", key)
		}
		key = strings.ReplaceAll(key[1:len(key)-1], "''", "'")
	}
	if key == "" {
		return "", "", "", badRequest("Empty key in %q", resource)
	}
	return name, key, action, nil
}

func decodeBody(r *http.Request) (map[string]any, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, badRequest("Cannot read the request body: %v", err)
	}
	var body map[string]any
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	if err := decoder.Decode(&body); err != nil || body == nil {
		return nil, badRequest("The request body is not a JSON object")
	}
	return body, nil
}

func selectProps(body map[string]any, selection string) map[string]any {
	if selection == "" {
		return body
	}
	out := map[string]any{}
	for _, name := range strings.Split(selection, ",") {
		name = strings.TrimSpace(name)
		if v, ok := body[name]; ok {
			out[name] = v
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json;odata=minimalmetadata;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, code: -1, message: err.Error()}
	}
	writeJSON(w, ae.status, map[string]any{
		"error": map[string]any{
			"code":    ae.code,
			"message": map[string]string{"lang": "en-us", "value": ae.message},
		},
	})
}
