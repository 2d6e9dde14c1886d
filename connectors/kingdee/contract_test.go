package kingdee

import (
	"testing"

	"github.com/ordo-project/ordo/connectors/erptest"
)

// TestContract runs the ERP contract suite that every ERP connector and
// the SAP Business One plugin run.
func TestContract(t *testing.T) {
	env := newEnv(t, envOptions{})
	erptest.Run(t, "KD", func(*testing.T) erptest.ERP { return env.client })
}
