// Package testports hands tests loopback ports that stay theirs for the
// whole test binary, so a server a test stops and starts again (a killed
// `ordo dev`, say) finds its ports still free.
//
// A port from net.Listen("127.0.0.1:0") comes from the kernel's ephemeral
// range. The kernel uses that range for outgoing connections and for every
// other port-0 listener too, so a released port can be taken by anyone
// before the test binds it again. These ports come from below
// that range instead, which the kernel never hands out on its own. Test
// binaries running in parallel split it into blocks: a binary owns a
// block while it listens on the block's first port, and hands out the
// rest of the block, each port once.
package testports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	blockSize = 32
	// lowest is the first port considered; the range ends where the
	// kernel's ephemeral range starts.
	lowest = 10000
	// attempts bounds the search for a free block.
	attempts = 200
)

var (
	mu      sync.Mutex
	owned   []net.Listener // block locks, held until the binary exits
	current int            // next port to try in the newest block; 0: none
	end     int            // first port past the newest block
)

// Address returns "127.0.0.1:PORT" with a port no other caller of this
// package receives while the test binary runs. It fails the test when no
// port can be found.
func Address(t testing.TB) string {
	t.Helper()
	port, err := next()
	if err != nil {
		t.Fatalf("reserve a loopback port: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// Port is Address for callers outside a test, such as TestMain.
func Port() (int, error) {
	return next()
}

func next() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	for range attempts {
		for current != 0 && current < end {
			port := current
			current++
			if free(port) {
				return port, nil
			}
		}
		if err := claimBlock(); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("no free port found in %d blocks", attempts)
}

// claimBlock takes a block no other test binary holds and makes it the
// newest one.
func claimBlock() error {
	limit := ephemeralStart()
	blocks := (limit - lowest) / blockSize
	if blocks < 1 {
		return fmt.Errorf("the ephemeral port range starts at %d, leaving no room below it", limit)
	}
	for range attempts {
		start := lowest + rand.IntN(blocks)*blockSize
		lock, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(start)))
		if err != nil {
			continue // another binary holds it, or a server uses the port
		}
		owned = append(owned, lock)
		current, end = start+1, start+blockSize
		return nil
	}
	return fmt.Errorf("every block of %d ports tried between %d and %d is taken", blockSize, lowest, limit)
}

// free reports whether port can be bound on loopback right now.
func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// ephemeralStart reads the first port of the kernel's ephemeral range,
// falling back to Linux's default.
func ephemeralStart() int {
	const fallback = 32768
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return fallback
	}
	start, err := strconv.Atoi(fields[0])
	if err != nil {
		return fallback
	}
	return start
}
