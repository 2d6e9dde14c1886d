package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AliyunSignature returns the Signature parameter of an Aliyun RPC-style
// request (signature version 1.0, HMAC-SHA1): the base64 HMAC, keyed with
// the AccessKey secret and "&", of "METHOD&%2F&" and the percent-encoded,
// sorted query string. params must not contain Signature.
func AliyunSignature(method string, params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for key := range params {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, key := range keys {
		pairs = append(pairs, aliyunEncode(key)+"="+aliyunEncode(params.Get(key)))
	}
	stringToSign := method + "&" + aliyunEncode("/") + "&" + aliyunEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// aliyunEncode percent-encodes as RFC 3986 does, which Aliyun's signature
// requires: space as %20, * as %2A and ~ left as it is.
func aliyunEncode(s string) string {
	encoded := url.QueryEscape(s)
	encoded = strings.ReplaceAll(encoded, "+", "%20")
	encoded = strings.ReplaceAll(encoded, "*", "%2A")
	return strings.ReplaceAll(encoded, "%7E", "~")
}

// TC3Algorithm is the signing algorithm of Tencent Cloud API 3.0.
const TC3Algorithm = "TC3-HMAC-SHA256"

// TC3CanonicalRequest returns the canonical request of a Tencent Cloud API
// 3.0 POST to "/". Its lines are the method, the URI, an empty query, the
// signed headers as lower-case, trimmed "name:value" lines in the order of
// signedHeaders, the header names and the hex SHA-256 of the payload.
func TC3CanonicalRequest(headers map[string]string, signedHeaders []string, payload []byte) string {
	var canonical strings.Builder
	for _, name := range signedHeaders {
		canonical.WriteString(name + ":" + strings.ToLower(strings.TrimSpace(headers[name])) + "\n")
	}
	sum := sha256.Sum256(payload)
	return strings.Join([]string{
		"POST", "/", "", canonical.String(), strings.Join(signedHeaders, ";"), hex.EncodeToString(sum[:]),
	}, "\n")
}

// TC3Signature returns the hex signature of a canonical request made at
// timestamp (Unix seconds) for service, e.g. "sms": HMAC-SHA256 with a key
// derived from "TC3"+secretKey, the UTC date, the service and
// "tc3_request", over the string to sign.
func TC3Signature(secretKey, service string, timestamp int64, canonicalRequest string) string {
	date := time.Unix(timestamp, 0).UTC().Format(time.DateOnly)
	sum := sha256.Sum256([]byte(canonicalRequest))
	stringToSign := TC3Algorithm + "\n" + strconv.FormatInt(timestamp, 10) + "\n" +
		date + "/" + service + "/tc3_request\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("TC3"+secretKey), date)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "tc3_request")
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

// TC3Authorization returns the Authorization header value.
func TC3Authorization(secretID, service string, timestamp int64, signedHeaders []string, signature string) string {
	date := time.Unix(timestamp, 0).UTC().Format(time.DateOnly)
	return TC3Algorithm + " Credential=" + secretID + "/" + date + "/" + service + "/tc3_request, SignedHeaders=" +
		strings.Join(signedHeaders, ";") + ", Signature=" + signature
}

func hmacSHA256(key []byte, message string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(message))
	return mac.Sum(nil)
}
