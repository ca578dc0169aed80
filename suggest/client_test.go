package suggest

import (
	"slices"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

// TestClientSocketsNotOpened: a UDP client socket (scan.Listener.Client,
// dig or host on a port the kernel picked) is never opened; the same socket
// not marked a client is (with a review comment).
func TestClientSocketsNotOpened(t *testing.T) {
	dig := lst("udp", "0.0.0.0", 47857, "dig", false)
	dig.Client = true
	host6 := lst("udp", "::", 54929, "host", true)
	host6.Client = true
	server := lst("udp", "0.0.0.0", 47858, "dig", false)
	sshd := lst("tcp", "0.0.0.0", 22, "sshd", false)

	p, _, err := Build([]scan.Listener{sshd, dig, host6, server}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := ruleKeys(p)
	for _, k := range got {
		if strings.Contains(k, "/47857") || strings.Contains(k, "/54929") {
			t.Errorf("client socket opened: %s (rules %v)", k, got)
		}
	}
	if !slices.Contains(got, "ipv4 udp/47858") {
		t.Errorf("the same socket, not a client, is not opened: rules %v", got)
	}
}

// TestClientSocketsInChanges: the per-port account names a client socket
// as such rather than as a listener closed for no reason.
func TestClientSocketsInChanges(t *testing.T) {
	dig := lst("udp", "0.0.0.0", 47857, "dig", false)
	dig.Client = true
	ls := []scan.Listener{lst("tcp", "0.0.0.0", 22, "sshd", false), dig}
	cur := currentOf(t, acceptAll, acceptAll)
	p, _, err := Build(ls, Options{Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := Changes(p, ls, cur, "iptables")
	if err != nil {
		t.Fatal(err)
	}
	want := "udp/47857: open → blocked (a client socket (dig), not a service: not opened)"
	if got := strings.Join(changeLines(cs), "\n"); !strings.Contains(got, want) {
		t.Errorf("no line %q in:\n%s", want, got)
	}
}
