package sms_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	smssim "github.com/ordo-project/ordo/internal/simulators/sms"
)

// TestTencentAcceptsOfficialSDKSignature sends SendSms with Tencent's own
// Go SDK. The simulator checks the signature with ordo's TC3 code, so a
// pass shows that ordo signs as Tencent's SDK does.
func TestTencentAcceptsOfficialSDKSignature(t *testing.T) {
	sim := startSim(t, smssim.Config{})
	u, err := url.Parse(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	clientProfile := profile.NewClientProfile()
	clientProfile.HttpProfile.Endpoint = u.Host
	clientProfile.HttpProfile.Scheme = "HTTP"
	clientProfile.HttpProfile.ReqMethod = "POST"
	clientProfile.SignMethod = "TC3-HMAC-SHA256"
	client := common.NewCommonClient(common.NewCredential(secretID, secret), "ap-guangzhou", clientProfile)

	request := tchttp.NewCommonRequest("sms", "2021-01-11", "SendSms")
	err = request.SetActionParameters(map[string]any{
		"PhoneNumberSet": []string{"+8613800138000"}, "SmsSdkAppId": appID, "SignName": sign,
		"TemplateId": template, "TemplateParamSet": []string{"1234"}, "SessionContext": "sdk-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	response := tchttp.NewCommonResponse()
	if err := client.Send(request, response); err != nil {
		t.Fatalf("send with the official SDK: %v", err)
	}
	var reply struct {
		Response struct {
			SendStatusSet []struct {
				Code string `json:"Code"`
			} `json:"SendStatusSet"`
		} `json:"Response"`
	}
	if err := json.Unmarshal(response.GetBody(), &reply); err != nil {
		t.Fatalf("decode reply %s: %v", response.GetBody(), err)
	}
	if len(reply.Response.SendStatusSet) != 1 || reply.Response.SendStatusSet[0].Code != "Ok" {
		t.Errorf("reply %s, expected one status Ok", response.GetBody())
	}
	messages, err := sim.Messages(context.Background(), "+8613800138000")
	if err != nil {
		t.Fatal(err)
	}
	if len(messages) != 1 || messages[0].OutID != "sdk-1" {
		t.Errorf("simulator recorded %+v, expected the SDK's SMS", messages)
	}
}
