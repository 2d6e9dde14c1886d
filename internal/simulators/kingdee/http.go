package kingdee

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// keyFault is the log field naming an injected fault.
const keyFault = "fault"

// maxBodyBytes bounds a request body. A BatchSave of a few thousand models
// stays well below it.
const maxBodyBytes = 32 << 20

// servicePrefix starts every WebAPI path after /k3cloud/.
const servicePrefix = "kingdee.bos.webapi.servicesstub."

// parseServicePath splits
// /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc
// into service "dynamicformservice" and method "save", both lower case
// because Kingdee matches them case-insensitively.
func parseServicePath(path string) (service, method string, ok bool) {
	lower := strings.ToLower(path)
	lower = strings.TrimPrefix(lower, "/k3cloud/")
	if !strings.HasPrefix(lower, servicePrefix) {
		return "", "", false
	}
	lower = strings.TrimPrefix(lower, servicePrefix)
	lower = strings.TrimSuffix(lower, ".common.kdsvc")
	service, method, ok = strings.Cut(lower, ".")
	if !ok || method == "" || strings.Contains(method, ".") {
		return "", "", false
	}
	return service, method, true
}

// serveAPI handles one WebAPI call: it applies latency and the drawn
// fault, checks the session, runs the operation and writes the reply.
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	service, method, ok := parseServicePath(r.URL.Path)
	if !ok {
		http.Error(w, "unknown Kingdee WebAPI service; expected Kingdee.BOS.WebApi.ServicesStub.<Service>.<Method>.common.kdsvc", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Kingdee WebAPI calls must be POST requests", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	entry := s.log.WithFields(logrus.Fields{
		logging.KeyOperation:  service + "." + method,
		logging.KeyRemoteAddr: r.RemoteAddr,
	})

	if latency := s.faults.Latency(); latency > 0 {
		if !s.wait(r.Context(), latency) {
			return
		}
	}
	isLogin := service == "authservice"
	fault := s.faults.DrawFor(method)
	if fault == FaultSessionLost && isLogin {
		fault = simulators.FaultNone
	}
	if fault != simulators.FaultNone {
		entry = entry.WithField(keyFault, string(fault))
		entry.Info("Injecting fault")
	}
	switch fault {
	case simulators.FaultServerError:
		http.Error(w, "simulated server error", http.StatusInternalServerError)
		return
	case simulators.FaultThrottle:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "simulated rate limit", http.StatusTooManyRequests)
		return
	case simulators.FaultTimeout:
		s.wait(r.Context(), s.faults.Hang())
		panic(http.ErrAbortHandler)
	case FaultSessionLost:
		s.sessions.drop(r)
	}

	var response any
	if isLogin {
		response = s.login(r, method, body, entry)
	} else {
		response = s.dispatch(r, service, method, body, entry)
	}

	if fault == simulators.FaultLostReply {
		// The work is done and committed. Aborting the handler closes the
		// connection before any byte of the reply is sent.
		panic(http.ErrAbortHandler)
	}
	writeJSON(w, http.StatusOK, response)
	entry.WithField(logging.KeyDuration, time.Since(started).String()).Debug("Served Kingdee call")
}

// wait sleeps for d unless the request or the simulator ends first, and
// reports whether the full time passed.
func (s *Simulator) wait(ctx context.Context, d time.Duration) bool { return s.runner.Wait(ctx, d) }

// dispatch checks the session and runs a DynamicFormService method.
func (s *Simulator) dispatch(r *http.Request, service, method string, body []byte, entry *logrus.Entry) any {
	isQuery := method == "executebillquery"
	if service != "dynamicformservice" {
		return messageReply("模拟器不支持服务“" + service + "”。")
	}
	if !s.sessions.touch(r, time.Now()) {
		s.rejected.Add(1)
		entry.Debug("Rejected call without a valid session")
		if isQuery {
			return wrapForQuery(sessionLostReply())
		}
		return sessionLostReply()
	}
	ctx := r.Context()
	if isQuery {
		return s.executeBillQuery(ctx, body, entry)
	}

	withOpNumber := method == "excuteoperation" || method == "executeoperation"
	req, err := parseFormRequest(body, withOpNumber)
	if err != nil {
		return messageReply("请求数据包格式错误：" + err.Error())
	}
	entry = entry.WithField(logging.KeyFormID, req.FormID)
	spec, ok := formByID(req.FormID)
	if !ok {
		return messageReply("表单“" + req.FormID + "”不存在或模拟器不支持。")
	}
	var response reply
	switch method {
	case "save":
		response = s.save(ctx, spec, req.Data, false, entry)
	case "draft":
		response = s.save(ctx, spec, req.Data, true, entry)
	case "batchsave":
		response = s.batchSave(ctx, spec, req.Data, entry)
	case "submit":
		response = s.transition(ctx, spec, req.Data, opSubmit, entry)
	case "audit":
		response = s.transition(ctx, spec, req.Data, opAudit, entry)
	case "unaudit":
		response = s.transition(ctx, spec, req.Data, opUnAudit, entry)
	case "delete":
		response = s.transition(ctx, spec, req.Data, opDelete, entry)
	case "view":
		response = s.view(ctx, spec, req.Data, entry)
	case "excuteoperation", "executeoperation":
		if !strings.EqualFold(req.OpNumber, "ForceClose") {
			return messageReply("模拟器不支持操作“" + req.OpNumber + "”，只支持 ForceClose。")
		}
		response = s.transition(ctx, spec, req.Data, opForceClose, entry)
	default:
		return messageReply("模拟器不支持方法“" + method + "”。")
	}
	return response
}

// login handles ValidateUser and LoginByAppSecret. Credentials are
// compared in constant time and never logged.
func (s *Simulator) login(r *http.Request, method string, body []byte, entry *logrus.Entry) any {
	byAppSecret := method == "loginbyappsecret"
	if !byAppSecret && method != "validateuser" {
		return loginReply{LoginResultType: loginFailure, Message: "模拟器不支持登录方法“" + method + "”。"}
	}
	req, err := parseLoginRequest(body, byAppSecret)
	if err != nil {
		return loginReply{LoginResultType: loginFailure, Message: "请求数据包格式错误：" + err.Error()}
	}
	equal := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	switch {
	case req.AccountID != s.cfg.AccountID:
		entry.Warn("Rejected login to an unknown data center")
		return loginReply{LoginResultType: loginFailure, Message: "数据中心不存在。"}
	case !equal(req.Username, s.cfg.Username):
		entry.Warn("Rejected login of an unknown user")
		return loginReply{LoginResultType: loginBadPassword, Message: "用户名或密码错误。"}
	case byAppSecret && (s.cfg.AppSecret == "" || !equal(req.AppID, s.cfg.AppID) || !equal(req.Secret, s.cfg.AppSecret)):
		entry.Warn("Rejected login with a wrong app id or app secret")
		return loginReply{LoginResultType: loginFailure, Message: "应用ID或应用密钥错误。"}
	case !byAppSecret && (s.cfg.Password == "" || !equal(req.Secret, s.cfg.Password)):
		entry.Warn("Rejected login with a wrong password")
		return loginReply{LoginResultType: loginBadPassword, Message: "用户名或密码错误。"}
	}
	sess := s.sessions.create(req.Username, time.Now())
	s.logins.Add(1)
	entry.Debug("Logged in")
	return loginSuccess{
		loginReply: loginReply{
			LoginResultType: loginOK,
			KDSVCSessionID:  sess.id,
			IsSuccessByAPI:  true,
			Context:         map[string]any{"UserName": req.Username, "DBid": s.cfg.AccountID, "LogonLocale": 2052},
		},
		cookies: []*http.Cookie{
			{Name: cookieSession, Value: sess.id, Path: "/", HttpOnly: true},
			{Name: cookieASPNET, Value: sess.aspnetID, Path: "/", HttpOnly: true},
		},
	}
}

// loginSuccess is a login reply that also sets the session cookies.
type loginSuccess struct {
	loginReply
	cookies []*http.Cookie
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	if login, ok := value.(loginSuccess); ok {
		for _, c := range login.cookies {
			http.SetCookie(w, c)
		}
		value = login.loginReply
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

func (s *Simulator) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.faults.Config())
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
		if !knownFault(kind) {
			http.Error(w, "unknown fault kind "+string(kind)+": use server_error, throttle, timeout, lost_reply or session_lost", http.StatusBadRequest)
			return
		}
	}
	s.faults.SetConfig(config)
	s.log.WithField(keyFault, config.Kinds).Infof("Fault rate set to %v", config.Rate)
	writeJSON(w, http.StatusOK, s.faults.Config())
}

func knownFault(kind simulators.Fault) bool {
	for _, known := range DefaultFaults {
		if kind == known {
			return true
		}
	}
	return false
}

func (s *Simulator) handleLedger(w http.ResponseWriter, r *http.Request) {
	ledger := simulators.NewLedger(s.db)
	contractNo := r.URL.Query().Get("contract_no")
	if contractNo == "" {
		summary, err := ledger.Summary(r.Context())
		if err != nil {
			s.log.WithError(err).Error("Failed to summarise the ledger")
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, summary)
		return
	}
	entries, err := ledger.Entries(r.Context(), contractNo)
	if err != nil {
		s.log.WithError(err).WithField(logging.KeyContractNo, contractNo).Error("Failed to read the ledger")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	own := make([]simulators.LedgerEntry, 0, len(entries))
	for _, e := range entries {
		if e.System == System {
			own = append(own, e)
		}
	}
	writeJSON(w, http.StatusOK, own)
}

func (s *Simulator) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Simulator) handleExpireSessions(w http.ResponseWriter, r *http.Request) {
	n := s.ExpireSessions()
	s.log.WithField(logging.KeyCount, n).Info("Expired all sessions")
	writeJSON(w, http.StatusOK, map[string]int{"expired": n})
}

// errRejected rolls back a transaction whose request failed validation,
// while the reply carries the field errors.
var errRejected = errors.New("request rejected")
