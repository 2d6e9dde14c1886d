package simulators_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ordo-project/ordo/internal/simulators"
)

func TestReplyFault(t *testing.T) {
	injector, err := simulators.NewInjector(simulators.FaultConfig{})
	if err != nil {
		t.Fatalf("new injector: %v", err)
	}
	const busy simulators.Fault = "busy"
	platform := func(w http.ResponseWriter, fault simulators.Fault) bool {
		if fault == busy {
			simulators.WriteJSON(w, map[string]any{"errcode": -1})
			return true
		}
		return false
	}
	cases := []struct {
		fault   simulators.Fault
		replied bool
		status  int
	}{
		{simulators.FaultNone, false, http.StatusOK},
		{simulators.FaultLostReply, false, http.StatusOK},
		{busy, true, http.StatusOK},
		{simulators.FaultServerError, true, http.StatusInternalServerError},
		{simulators.FaultThrottle, true, http.StatusTooManyRequests},
	}
	for _, c := range cases {
		recorder := httptest.NewRecorder()
		if replied := injector.ReplyFault(recorder, c.fault, platform); replied != c.replied {
			t.Errorf("fault %q: replied %v, expected %v", c.fault, replied, c.replied)
		}
		if recorder.Code != c.status {
			t.Errorf("fault %q: status %d, expected %d", c.fault, recorder.Code, c.status)
		}
	}

	// Without a platform function a platform fault gets no reply.
	recorder := httptest.NewRecorder()
	if injector.ReplyFault(recorder, busy, nil) {
		t.Errorf("fault %q without a platform function: replied", busy)
	}
}
