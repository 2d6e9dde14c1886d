package sms_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/ordo-project/ordo/internal/notify/sms"
)

// TestAliyunSignatureMatchesDocumentedExample signs the DescribeRegions
// request of Aliyun's RPC signature documentation (signature version 1.0)
// and compares the result with the signature the documentation gives.
func TestAliyunSignatureMatchesDocumentedExample(t *testing.T) {
	params := url.Values{}
	for key, value := range map[string]string{
		"Action": "DescribeRegions", "Format": "XML", "Version": "2014-05-26", "AccessKeyId": "testid",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
		"SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "Timestamp": "2016-02-23T12:46:24Z",
	} {
		params.Set(key, value)
	}
	if got, want := sms.AliyunSignature(http.MethodGet, params, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY="; got != want {
		t.Errorf("signature %s, expected %s", got, want)
	}
}
