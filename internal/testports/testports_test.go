package testports

import (
	"net"
	"strconv"
	"testing"
)

func TestAddressesAreDistinctAndBelowTheEphemeralRange(t *testing.T) {
	seen := map[string]bool{}
	for range 3 * blockSize {
		address := Address(t)
		if seen[address] {
			t.Fatalf("%s handed out twice", address)
		}
		seen[address] = true
		_, portText, err := net.SplitHostPort(address)
		if err != nil {
			t.Fatalf("address %q: %v", address, err)
		}
		port, _ := strconv.Atoi(portText)
		if port < lowest || port >= ephemeralStart() {
			t.Errorf("port %d outside [%d, %d)", port, lowest, ephemeralStart())
		}
		l, err := net.Listen("tcp", address)
		if err != nil {
			t.Fatalf("bind %s: %v", address, err)
		}
		_ = l.Close()
	}
	if len(owned) < 3 {
		t.Errorf("%d blocks held after %d addresses, expected at least 3", len(owned), 3*blockSize)
	}
}
