package simulators

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Fault is a failure a simulator injects into one request.
type Fault string

// Faults shared by the HTTP simulators. Each simulator documents which of
// them it honours and may add protocol-specific ones (lost session, expired
// token, silent drop).
const (
	FaultNone        Fault = ""
	FaultServerError Fault = "server_error" // answer HTTP 500 without doing the work
	FaultThrottle    Fault = "throttle"     // answer HTTP 429 without doing the work
	FaultTimeout     Fault = "timeout"      // hold the request past the client timeout, then do nothing
	// FaultLostReply does the work and then drops the connection, so the
	// client cannot tell whether the call took effect.
	FaultLostReply Fault = "lost_reply"
)

// FaultConfig selects how often a simulator misbehaves.
type FaultConfig struct {
	// Rate is the probability, 0 to 1, that a request gets a fault.
	Rate float64 `yaml:"rate" json:"rate"`
	// Kinds lists the faults to draw from, uniformly. Empty means the
	// simulator's default list.
	Kinds []Fault `yaml:"kinds" json:"kinds"`
	// Latency is added to every request.
	Latency time.Duration `yaml:"latency" json:"latency"`
	// Hang is how long a FaultTimeout request is held.
	Hang time.Duration `yaml:"hang" json:"hang"`
	// Seed makes the sequence of faults repeatable; 0 picks one from the clock.
	Seed uint64 `yaml:"seed" json:"seed"`
}

// Injector draws faults for requests according to a FaultConfig. It is safe
// for concurrent use.
type Injector struct {
	mu       sync.Mutex
	config   FaultConfig
	defaults []Fault
	random   *rand.Rand
	armed    []armedFault
}

// armedFault is a fault for the next request whose key starts with prefix.
type armedFault struct {
	fault  Fault
	prefix string
}

// NewInjector returns an injector; defaults is used when config.Kinds is empty.
func NewInjector(config FaultConfig, defaults ...Fault) (*Injector, error) {
	if config.Rate < 0 || config.Rate > 1 {
		return nil, fmt.Errorf("invalid fault rate %v: use a probability between 0 and 1", config.Rate)
	}
	seed := config.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if config.Hang <= 0 {
		config.Hang = 30 * time.Second
	}
	return &Injector{
		config:   config,
		defaults: defaults,
		random:   rand.New(rand.NewPCG(seed, seedMix(seed))),
	}, nil
}

// SetConfig replaces the configuration, for tests and the admin endpoint.
func (i *Injector) SetConfig(config FaultConfig) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if config.Hang <= 0 {
		config.Hang = 30 * time.Second
	}
	i.config = config
}

// Config returns the current configuration.
func (i *Injector) Config() FaultConfig {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.config
}

// Draw returns the fault for the next request, FaultNone most of the time.
func (i *Injector) Draw() Fault {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.config.Rate == 0 || i.random.Float64() >= i.config.Rate {
		return FaultNone
	}
	kinds := i.config.Kinds
	if len(kinds) == 0 {
		kinds = i.defaults
	}
	if len(kinds) == 0 {
		return FaultNone
	}
	return kinds[i.random.IntN(len(kinds))]
}

// Arm makes the next request whose key starts with prefix get fault,
// before and regardless of the rate. Each simulator documents its request
// keys, such as "POST Orders". Tests use it to hit one exact call; armed
// faults are taken in the order they were armed.
func (i *Injector) Arm(fault Fault, prefix string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.armed = append(i.armed, armedFault{fault: fault, prefix: prefix})
}

// DrawFor returns the fault for the request with key: the first armed
// fault whose prefix matches, or else a draw as in Draw.
func (i *Injector) DrawFor(key string) Fault {
	i.mu.Lock()
	for n, a := range i.armed {
		if strings.HasPrefix(key, a.prefix) {
			i.armed = append(i.armed[:n:n], i.armed[n+1:]...)
			i.mu.Unlock()
			return a.fault
		}
	}
	i.mu.Unlock()
	return i.Draw()
}

// Latency returns the configured added latency.
func (i *Injector) Latency() time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.config.Latency
}

// Hang returns how long a timeout fault holds a request.
func (i *Injector) Hang() time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.config.Hang
}

// Chance reports, deterministically for a key, whether an event with
// probability p happens. Simulators use it for business behaviour (which
// customer pays late or in parts), so the same contract behaves the same
// way after a restart.
func Chance(key string, salt string, p float64) bool {
	if p <= 0 {
		return false
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(salt))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	return float64(h.Sum64()%1_000_000)/1_000_000 < p
}

func seedMix(seed uint64) uint64 {
	return seed*0x9E3779B97F4A7C15 + 1
}
