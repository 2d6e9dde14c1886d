// Package tasklink builds and checks the signed links of task pages,
// <public URL>/t/ID?sig=SIG. The task activities put such a link into
// every notification, and the API serves the page only when the
// signature matches, so a link is usable without the API token but
// cannot be forged for another task.
package tasklink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
)

// signatureBytes is how many bytes of the HMAC-SHA256 a signature keeps:
// 128 bits, 22 characters of URL-safe base64.
const signatureBytes = 16

// Path returns the path of task id's page.
func Path(id int64) string {
	return "/t/" + strconv.FormatInt(id, 10)
}

// Sign returns the signature of the task with id and idempotency key
// under secret.
func Sign(secret []byte, id int64, key string) string {
	mac := hmac.New(sha256.New, secret)
	// The id and the key are separated by a byte that neither contains,
	// so no other pair signs the same message.
	mac.Write([]byte("ordo-task-link\x00" + strconv.FormatInt(id, 10) + "\x00" + key))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:signatureBytes])
}

// Verify reports whether sig is the signature of the task with id and key
// under secret. It is false for an empty secret, so a server without a
// link secret accepts no link.
func Verify(secret []byte, id int64, key, sig string) bool {
	if len(secret) == 0 || sig == "" {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(Sign(secret, id, key)))
}

// URL returns the signed link of the task's page under baseURL, the API's
// public URL.
func URL(baseURL string, secret []byte, id int64, key string) string {
	return strings.TrimRight(baseURL, "/") + Path(id) + "?" + url.Values{"sig": {Sign(secret, id, key)}}.Encode()
}
