package store

import "github.com/uptrace/bun"

// Limits of one page of a list.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// PageLimit returns limit when it is 1 to MaxPageLimit, and
// DefaultPageLimit otherwise.
func PageLimit(limit int) int {
	if limit <= 0 || limit > MaxPageLimit {
		return DefaultPageLimit
	}
	return limit
}

// keysetPage orders q by the unique column key and keeps at most limit rows
// past the cursor after, the key of the previous page's last row. A zero
// after (empty string or 0) starts at the first row. With descending set
// the rows run from the highest key down, and "past" means a lower key.
func keysetPage[K comparable](q *bun.SelectQuery, key string, descending bool, after K, limit int) *bun.SelectQuery {
	q = q.Apply(keysetFrom(key, descending, after))
	if descending {
		q = q.OrderExpr("? DESC", bun.Ident(key))
	} else {
		q = q.OrderExpr("? ASC", bun.Ident(key))
	}
	return q.Limit(int64(PageLimit(limit)))
}

// keysetFrom returns a query modifier that keeps the rows past the cursor
// after, so a count of the rows left uses the same condition as the page.
func keysetFrom[K comparable](key string, descending bool, after K) func(*bun.SelectQuery) *bun.SelectQuery {
	return func(q *bun.SelectQuery) *bun.SelectQuery {
		var zero K
		if after == zero {
			return q
		}
		if descending {
			return q.Where("? < ?", bun.Ident(key), after)
		}
		return q.Where("? > ?", bun.Ident(key), after)
	}
}
