package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/rules"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/validation"
)

// yamlContentType is the media type of YAML (RFC 9512).
const yamlContentType = "application/yaml"

// RulesVersion is a stored rules version with its document.
type RulesVersion struct {
	Version   int            `json:"version"`
	AppliedBy string         `json:"applied_by"`
	AppliedAt time.Time      `json:"applied_at"`
	Comment   string         `json:"comment"`
	Checksum  string         `json:"checksum"`
	Document  rules.Document `json:"document"`
}

// RulesApplied is the response to POST /api/v1/rules: the version
// stored, or the newest version when Unchanged.
type RulesApplied struct {
	RulesVersion
	// Unchanged is true when the document's values equal those of the
	// newest version, so no version was stored.
	Unchanged bool `json:"unchanged"`
}

// RuleVersionList is the response to GET /api/v1/rules/versions, newest
// first.
type RuleVersionList struct {
	Versions []store.RuleVersion `json:"versions"`
}

// InvalidRules is the response to a rejected document: the general error
// and every problem with the path of its value.
type InvalidRules struct {
	Error  errorDetail          `json:"error"`
	Errors []validation.Problem `json:"errors"`
}

func (s *Server) showLatestRules(w http.ResponseWriter, r *http.Request) {
	version, err := s.Store.LatestRules(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	s.writeRulesVersion(w, r, version)
}

func (s *Server) showRulesVersion(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, "invalid_argument",
			fmt.Sprintf("invalid rules version %q: versions are whole numbers from 1", r.PathValue("n")))
		return
	}
	version, err := s.Store.RulesVersion(r.Context(), n)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	s.writeRulesVersion(w, r, version)
}

// writeRulesVersion writes a version as JSON, or its text as applied when
// the query has format=yaml.
func (s *Server) writeRulesVersion(w http.ResponseWriter, r *http.Request, version store.RuleVersion) {
	switch format := r.URL.Query().Get("format"); format {
	case "", "json":
	case "yaml":
		w.Header().Set("Content-Type", yamlContentType+"; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, version.Document)
		return
	default:
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("invalid format %q: use json or yaml", format))
		return
	}
	answer, err := rulesVersionOf(version)
	if err != nil {
		s.Logger.WithError(err).Error("stored rules version cannot be decoded")
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

func rulesVersionOf(version store.RuleVersion) (RulesVersion, error) {
	doc, err := version.Rules()
	if err != nil {
		return RulesVersion{}, err
	}
	return RulesVersion{
		Version: version.Version, AppliedBy: version.AppliedBy, AppliedAt: version.AppliedAt,
		Comment: version.Comment, Checksum: version.Checksum, Document: doc,
	}, nil
}

func (s *Server) listRuleVersions(w http.ResponseWriter, r *http.Request) {
	versions, err := s.Store.ListRuleVersions(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RuleVersionList{Versions: nonNil(versions)})
}

// applyRules stores a new rules version. The body is the document in YAML
// (Content-Type application/yaml) or JSON (application/json). The query
// parameters by and comment record who applied it and why; by defaults to
// "api", like the by field of other requests. A JSON document is stored
// as YAML, so every version can be shown as YAML.
func (s *Server) applyRules(w http.ResponseWriter, r *http.Request) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mediaType = ""
	}
	isJSON := mediaType == "application/json"
	switch mediaType {
	case "application/json", yamlContentType, "application/x-yaml", "text/yaml", "text/x-yaml":
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q is not supported: send the rules as %s or application/json", r.Header.Get("Content-Type"), yamlContentType))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "read request body: "+err.Error())
		return
	}
	if len(body) > maxBodyBytes {
		writeBodyError(w, errBodyTooLarge)
		return
	}

	document := body
	if isJSON {
		doc, err := rules.ParseJSON(body)
		if err != nil {
			s.writeRulesError(w, err)
			return
		}
		if document, err = doc.YAML(); err != nil {
			s.Logger.WithError(err).Error("encode rules document as YAML failed")
			writeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
	}

	query := r.URL.Query()
	applied, err := s.Store.ApplyRules(r.Context(), document, orDefault(query.Get("by"), "api"), query.Get("comment"))
	if err != nil {
		s.writeRulesError(w, err)
		return
	}
	answer, err := rulesVersionOf(applied.Version)
	if err != nil {
		s.Logger.WithError(err).Error("stored rules version cannot be decoded")
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	if !applied.Unchanged {
		s.Logger.WithField(logging.KeyRuleVersion, applied.Version.Version).Info("rules version applied")
	}
	writeJSON(w, http.StatusOK, RulesApplied{RulesVersion: answer, Unchanged: applied.Unchanged})
}

// writeRulesError writes a 422 response with every problem of an invalid
// document, and maps other errors as writeStoreError does.
func (s *Server) writeRulesError(w http.ResponseWriter, err error) {
	var invalid *validation.Error
	if !errors.As(err, &invalid) {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusUnprocessableEntity, InvalidRules{
		Error: errorDetail{
			Code:    "invalid_rules",
			Message: fmt.Sprintf("the rules document has %d problems; nothing was applied", len(invalid.Problems)),
		},
		Errors: invalid.Problems,
	})
}
