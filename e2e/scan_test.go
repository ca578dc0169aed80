//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScanLive starts real listeners of every shape in the host namespace
// and requires `fwaudit scan -o json`, run in that namespace, to report
// exactly them: no more, no fewer, every field right.
func TestScanLive(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	type want struct {
		proto, family string
		dual          bool
		addr          string
		port          uint16
		proc          *Proc
		service       string
		exposure      string
	}
	sshd := lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22", "tcp6only:[::]:22")
	sshdAlt := lab.Start(lab.Host, "sshd", "tcp:192.0.2.1:5622")
	nginx := lab.Start(lab.Host, "nginx", "tcp:[::]:80")
	mysqld := lab.Start(lab.Host, "mysqld", "tcp:127.0.0.1:3306")
	postgres := lab.Start(lab.Host, "postgres", "tcp:127.0.0.1:5432", "tcp:[::1]:5432")
	named := lab.Start(lab.Host, "named", "udp:0.0.0.0:53", "udp6only:[::]:53",
		"tcp:192.0.2.1:53", "tcp:[2001:db8::1]:53", "udp:127.0.0.1:53", "udp:[::1]:53")
	unknown := lab.Start(lab.Host, "unknownd", "udp:[::]:40001", "tcp6only:[::]:40002", "tcp:0.0.0.0:40003",
		"tcp:0.0.0.0%lo:7000", "udp:0.0.0.0%veth0:7001")
	// A pre-forked server: the master and a worker own the same socket.
	apache := lab.StartShared(lab.Host, "apache2", "nginx", "tcp:0.0.0.0:8443")
	// An established connection and its server side must not show up.
	held := lab.Hold("192.0.2.2", "192.0.2.1", 22)
	if !held.Alive() {
		t.Fatal("held ssh connection not alive")
	}

	wants := []want{
		{"tcp", "ipv4", false, "0.0.0.0", 22, sshd, "ssh", "public"},
		{"tcp", "ipv6", false, "::", 22, sshd, "ssh", "public"},
		{"tcp", "ipv4", false, "192.0.2.1", 5622, sshdAlt, "ssh", "specific"},
		{"tcp", "ipv6", true, "::", 80, nginx, "http", "public"},
		{"tcp", "ipv4", false, "127.0.0.1", 3306, mysqld, "mysql", "local"},
		{"tcp", "ipv4", false, "127.0.0.1", 5432, postgres, "postgresql", "local"},
		{"tcp", "ipv6", false, "::1", 5432, postgres, "postgresql", "local"},
		{"udp", "ipv4", false, "0.0.0.0", 53, named, "dns", "public"},
		{"udp", "ipv6", false, "::", 53, named, "dns", "public"},
		{"tcp", "ipv4", false, "192.0.2.1", 53, named, "dns", "specific"},
		{"tcp", "ipv6", false, "2001:db8::1", 53, named, "dns", "specific"},
		{"udp", "ipv4", false, "127.0.0.1", 53, named, "dns", "local"},
		{"udp", "ipv6", false, "::1", 53, named, "dns", "local"},
		{"udp", "ipv6", true, "::", 40001, unknown, "", "public"},
		{"tcp", "ipv6", false, "::", 40002, unknown, "", "public"},
		{"tcp", "ipv4", false, "0.0.0.0", 40003, unknown, "", "public"},
		{"tcp", "ipv4", false, "0.0.0.0%lo", 7000, unknown, "", "local"},
		{"udp", "ipv4", false, "0.0.0.0%veth0", 7001, unknown, "", "public"},
		{"tcp", "ipv4", false, "0.0.0.0", 8443, apache, "https-alt", "public"},
	}
	line := func(proto, family string, dual bool, addr string, port uint16, pid int, process, service, exposure string) string {
		return fmt.Sprintf("%s %s %-15s port=%-5d dual_stack=%-5v pid=%-7d process=%-8q service=%-12q exposure=%s",
			proto, family, addr, port, dual, pid, process, service, exposure)
	}
	var wantLines []string
	for _, w := range wants {
		wantLines = append(wantLines, line(w.proto, w.family, w.dual, w.addr, w.port, w.proc.PID, w.proc.Name, w.service, w.exposure))
	}

	scan := lab.Scan()
	var gotLines []string
	for _, s := range scan.Sockets {
		addr := s.Address
		if s.Device != "" {
			addr += "%" + s.Device // the bound device, kept in its own field
		}
		gotLines = append(gotLines, line(s.Proto, s.Family, s.DualStack, addr, s.Port, s.PID, s.Process, s.Service, s.Exposure))
	}
	if d := lineDiff(wantLines, gotLines); d != "" {
		t.Errorf("scan -o json sockets mismatch (-want +got):\n%s", d)
	}
	// Both owners of the shared socket, master first (lowest PID).
	for _, s := range scan.Find("tcp", "ipv4", 8443) {
		var got []string
		for _, p := range s.Processes {
			got = append(got, fmt.Sprintf("%s(%d)", p.Name, p.PID))
		}
		want := []string{fmt.Sprintf("apache2(%d)", apache.PID), fmt.Sprintf("nginx(%d)", apache.Children[0])}
		if apache.Children[0] < apache.PID {
			want[0], want[1] = want[1], want[0]
		}
		if !slices.Equal(got, want) {
			t.Errorf("processes of tcp 0.0.0.0:8443: got %v, want %v", got, want)
		}
	}
	// Loopback binds are out of the firewall's reach, whatever the rules.
	for _, s := range scan.Sockets {
		if s.Exposure != "local" || s.Firewall == nil {
			continue
		}
		if s.Firewall.Verdict != "not-applicable" {
			t.Errorf("%s %s %s:%d is bound to loopback but its verdict is %q, want not-applicable",
				s.Proto, s.Family, s.Address, s.Port, s.Firewall.Verdict)
		}
	}
}

// lineDiff is an unordered diff of two line sets: "-" for lines only in
// want, "+" for lines only in got; "" when they hold the same lines.
func lineDiff(want, got []string) string {
	w, g := slices.Clone(want), slices.Clone(got)
	slices.Sort(w)
	slices.Sort(g)
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case j >= len(g) || (i < len(w) && w[i] < g[j]):
			fmt.Fprintf(&b, "- %s\n", w[i])
			i++
		case i >= len(w) || g[j] < w[i]:
			fmt.Fprintf(&b, "+ %s\n", g[j])
			j++
		default:
			i++
			j++
		}
	}
	return b.String()
}

// TestScanOfflineErrors runs the CLI on broken or missing files: exit 1,
// nothing on stdout, and stderr naming the file (and the line, for a
// syntax error).
func TestScanOfflineErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"good-ss.txt": "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
			"tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*     users:((\"sshd\",pid=630,fd=3))\n",
		"broken.txt": "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
			"tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*     users:((\"sshd\",pid=630,fd=3))\n" +
			"tcp   LISTEN 0      128          this is not a socket line\n",
		"garbage.txt":  "hello, world\n",
		"broken.rules": "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nthis is not a rule\nCOMMIT\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name       string
		args       []string
		wantStderr []string // substrings
	}{
		{"broken sockets line", []string{"scan", "--offline", "--sockets", "broken.txt"}, []string{"broken.txt", "line 3"}},
		{"broken sockets line json", []string{"scan", "--offline", "--sockets", "broken.txt", "-o", "json"}, []string{"broken.txt", "line 3"}},
		{"unrecognised sockets file", []string{"scan", "--offline", "--sockets", "garbage.txt"}, []string{"garbage.txt"}},
		{"missing sockets file", []string{"scan", "--offline", "--sockets", "missing.txt"}, []string{"missing.txt"}},
		{"broken rules line", []string{"scan", "--offline", "--sockets", "good-ss.txt", "--rules", "broken.rules"}, []string{"broken.rules", "line 4"}},
		{"missing rules file", []string{"scan", "--offline", "--sockets", "good-ss.txt", "--rules", "missing.rules"}, []string{"missing.rules"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := RunFwaudit(t, dir, c.args...)
			if r.Code != 1 {
				t.Errorf("fwaudit %s: exit %d, want 1\nstderr: %s", strings.Join(c.args, " "), r.Code, r.Stderr)
			}
			if r.Stdout != "" {
				t.Errorf("fwaudit %s: stdout not empty:\n%s", strings.Join(c.args, " "), r.Stdout)
			}
			if !strings.HasPrefix(r.Stderr, "fwaudit: error: ") {
				t.Errorf("fwaudit %s: stderr %q does not start with \"fwaudit: error: \"", strings.Join(c.args, " "), r.Stderr)
			}
			for _, s := range c.wantStderr {
				if !strings.Contains(r.Stderr, s) {
					t.Errorf("fwaudit %s: stderr %q does not mention %q", strings.Join(c.args, " "), r.Stderr, s)
				}
			}
		})
	}
	t.Run("good file", func(t *testing.T) {
		r := RunFwaudit(t, dir, "scan", "--offline", "--sockets", "good-ss.txt", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("exit %d, stderr: %s", r.Code, r.Stderr)
		}
		s := DecodeScan(t, r.Stdout)
		if len(s.Sockets) != 1 || s.Sockets[0].Port != 22 || s.Sockets[0].PID != 630 || s.Sockets[0].Service != "ssh" {
			t.Errorf("scan of good-ss.txt: got %+v, want one ssh socket on 22 owned by pid 630", s.Sockets)
		}
	})
}
