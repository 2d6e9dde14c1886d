package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ordo-project/ordo/internal/store"
)

// pageLimit reads the "limit" query parameter of a list, fallback when it
// is absent. It writes a 400 and returns false when limit is not a number
// from 1 to store.MaxPageLimit.
func pageLimit(w http.ResponseWriter, query url.Values, fallback int) (int, bool) {
	text := query.Get("limit")
	if text == "" {
		return fallback, true
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > store.MaxPageLimit {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("limit must be a number from 1 to %d", store.MaxPageLimit))
		return 0, false
	}
	return n, true
}

// pageAfterID reads the "after" query parameter of a list keyed by a
// numeric id, 0 when it is absent. It writes a 400 and returns false when
// after is not an id.
func pageAfterID(w http.ResponseWriter, query url.Values, record string) (int64, bool) {
	text := query.Get("after")
	if text == "" {
		return 0, true
	}
	after, err := strconv.ParseInt(text, 10, 64)
	if err != nil || after < 0 {
		writeError(w, http.StatusBadRequest, "invalid_argument",
			fmt.Sprintf("after must be a %s id from the previous page's next field, not %q", record, text))
		return 0, false
	}
	return after, true
}

// nextCursor returns the "next" value of a page: the key of its last row
// when the page is full, and "" when it is the last page.
func nextCursor[T any](rows []T, limit int, key func(T) string) string {
	if len(rows) == 0 || len(rows) < limit {
		return ""
	}
	return key(rows[len(rows)-1])
}
