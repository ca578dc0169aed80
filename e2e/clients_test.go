//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"
)

// TestClientSockets: UDP sockets on ports the kernel picked for a program
// that is not a known server are client sockets. The lab's host namespace
// gets its own ephemeral range (45000-45100, 45090 reserved), so the test
// also proves that fwaudit reads the range of the host it runs on and not
// Linux's default 32768-60999.
func TestClientSockets(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	requireFwaudit(t)
	lab.Host.Run("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=45000 45100")
	lab.Host.Run("sysctl", "-q", "-w", "net.ipv4.ip_local_reserved_ports=45090")
	// everything is let in by policy: each server raises exposed-by-policy
	accept := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	lab.LoadIptables(accept)
	lab.LoadIp6tables(accept)

	client := lab.Start(lab.Host, "unknownd", "udp:0.0.0.0:0", "udp6only:[::]:0")
	// in the default range, outside this host's: a server
	fixed := lab.Start(lab.Host, "unknownd", "udp:0.0.0.0:40001")
	// a reserved port is never picked by the kernel: a server
	reserved := lab.Start(lab.Host, "unknownd", "udp:0.0.0.0:45090")
	// a known server's own port-0 socket stays a server's
	named := lab.Start(lab.Host, "named", "udp:0.0.0.0:53", "udp:0.0.0.0:0")
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")

	stdout, stderr, code := lab.Fwaudit("scan", "-o", "json")
	if code != 0 {
		t.Fatalf("scan: exit %d\nstderr: %s", code, stderr)
	}
	var doc struct {
		Sockets []struct {
			Proto   string `json:"proto"`
			Family  string `json:"family"`
			Port    uint16 `json:"port"`
			PID     int    `json:"pid"`
			Process string `json:"process"`
			Client  bool   `json:"client"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("decoding scan: %v", err)
	}
	// a client port is named with its family: the kernel may give the
	// same number to a v6-only client and to an IPv4 server next to it
	type famPort struct {
		family string
		port   uint16
	}
	var clientPorts []famPort
	seen := map[int]int{}
	for _, s := range doc.Sockets {
		seen[s.PID]++
		isClient := s.PID == client.PID
		if s.PID == client.PID && (s.Port < 45000 || s.Port > 45100) {
			t.Fatalf("the kernel picked %d outside the namespace's range 45000-45100: the sysctl did not take", s.Port)
		}
		if s.Client != isClient {
			t.Errorf("%s %s/%d of %s(%d): client %v, want %v", s.Family, s.Proto, s.Port, s.Process, s.PID, s.Client, isClient)
		}
		if s.Client {
			clientPorts = append(clientPorts, famPort{s.Family, s.Port})
		}
	}
	for _, p := range []*Proc{client, fixed, reserved, named} {
		if seen[p.PID] != len(p.Specs) {
			t.Errorf("%s(%d): %d sockets listed, want %d", p.Name, p.PID, seen[p.PID], len(p.Specs))
		}
	}
	if len(clientPorts) != 2 {
		t.Fatalf("client ports %v, want 2", clientPorts)
	}

	// report: no finding names a client port; they are counted apart
	stdout, stderr, code = lab.Fwaudit("report", "--format", "json")
	if code != 0 {
		t.Fatalf("report: exit %d\nstderr: %s", code, stderr)
	}
	var rep struct {
		Summary struct {
			Clients int `json:"clients"`
		} `json:"summary"`
		Findings []reportFinding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("decoding report: %v", err)
	}
	if rep.Summary.Clients != 2 {
		t.Errorf("summary.clients = %d, want 2", rep.Summary.Clients)
	}
	flagged := map[uint16]bool{}
	for _, f := range rep.Findings {
		flagged[f.Port] = true
		if slices.Contains(clientPorts, famPort{f.Family, f.Port}) {
			t.Errorf("finding on a client socket: %s", f)
		}
	}
	// the test means something only if the servers next to them are flagged
	if !flagged[40001] || !flagged[45090] {
		t.Errorf("no finding on udp/40001 or udp/45090, the unknown servers: %v", rep.Findings)
	}

	// suggest: never opens a client port, opens the server next to it
	stdout, stderr, code = lab.Fwaudit("suggest")
	if code != 0 {
		t.Fatalf("suggest: exit %d\nstderr: %s", code, stderr)
	}
	for _, p := range clientPorts {
		if p.family != "ipv4" { // the default output is rules.v4
			continue
		}
		if regexp.MustCompile(fmt.Sprintf(`--dport %d\b`, p.port)).MatchString(stdout) {
			t.Errorf("suggest opens the client port %d:\n%s", p.port, stdout)
		}
	}
	if !regexp.MustCompile(`--dport 40001\b`).MatchString(stdout) {
		t.Errorf("suggest does not open udp/40001, the server next to the clients:\n%s", stdout)
	}
}
