package config

import (
	"strings"
	"testing"
)

func TestSAPB1DevExampleLoads(t *testing.T) {
	cfg, err := Load("../../deploy/sapb1-dev.example.yaml")
	if err != nil {
		t.Fatalf("load the SAP dev example: %v", err)
	}
	if cfg.ERP.Connector != "plugin:sapb1" || !cfg.Sim.SAPB1.Enabled {
		t.Errorf("erp.connector %q, simulators.sapb1.enabled %v; expected the plugin and its simulator", cfg.ERP.Connector, cfg.Sim.SAPB1.Enabled)
	}
	plugin, ok := cfg.PluginByName("sapb1")
	if !ok {
		t.Fatal("plugin sapb1 is not configured")
	}
	env := strings.Join(plugin.Env, " ")
	if !strings.Contains(env, "SAPB1_SERVICE_LAYER_URL=http://"+cfg.Sim.SAPB1.Address+"/b1s/v1/") {
		t.Errorf("plugin env %q does not point at the simulator on %s", env, cfg.Sim.SAPB1.Address)
	}
	password, err := cfg.Sim.SAPB1.Password.Resolve()
	if err != nil || !strings.Contains(env, "SAPB1_PASSWORD="+password) {
		t.Errorf("the plugin's password differs from the simulator's")
	}
}

func TestSimSAPB1NamesMissingKeys(t *testing.T) {
	cfg := Default()
	cfg.Sim.SAPB1 = SimSAPB1{Enabled: true, Address: "nowhere", FaultRate: 2}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("an enabled simulator without settings passed validation")
	}
	for _, key := range []string{"simulators.sapb1.address", "simulators.sapb1.company_db", "simulators.sapb1.username", "simulators.sapb1.password", "simulators.sapb1.fault_rate"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
}
