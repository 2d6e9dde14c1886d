package config

import "time"

// SimSAPB1 configures the SAP Business One Service Layer simulator that
// `ordo dev` starts for the example SAP plugin (erp.connector
// "plugin:sapb1"). The plugin logs in with the same company, user and
// password, passed to it through plugins[].env.
type SimSAPB1 struct {
	Enabled   bool       `yaml:"enabled"`
	Address   string     `yaml:"address"`
	CompanyDB string     `yaml:"company_db"`
	UserName  string     `yaml:"username"`
	Password  Credential `yaml:"password"`
	// ProductionDelay is how long a production order takes to complete.
	ProductionDelay time.Duration `yaml:"production_delay"`
	// SessionTimeout ends a session unused this long; zero means 30 minutes.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// FaultRate overrides simulators.fault_rate for this simulator when
	// it is above zero.
	FaultRate float64 `yaml:"fault_rate"`
	// FaultHang is how long a timeout fault holds a request; zero means
	// 30 seconds.
	FaultHang time.Duration `yaml:"fault_hang"`
}

func (c *Config) validateSimSAPB1(add func(key, format string, args ...any)) {
	s := c.Sim.SAPB1
	if !s.Enabled {
		return
	}
	if !isHostPort(s.Address) {
		add("simulators.sapb1.address", "%q is not host:port, e.g. 127.0.0.1:8095", s.Address)
	}
	if s.CompanyDB == "" {
		add("simulators.sapb1.company_db", "must name the company database the plugin logs in to, e.g. SBODEMOCN")
	}
	if s.UserName == "" {
		add("simulators.sapb1.username", "must name the user the plugin logs in as, e.g. manager")
	}
	if s.Password == (Credential{}) {
		add("simulators.sapb1.password", "must be set with value, env or file")
	}
	if s.FaultRate < 0 || s.FaultRate > 1 {
		add("simulators.sapb1.fault_rate", "%v is not a probability between 0 and 1", s.FaultRate)
	}
	if s.ProductionDelay < 0 || s.SessionTimeout < 0 || s.FaultHang < 0 {
		add("simulators.sapb1", "production_delay, session_timeout and fault_hang must not be negative")
	}
}
