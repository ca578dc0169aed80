//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The suggest kernel tests: for three hosts and every output format, the
// real CLI generates a ruleset inside the host namespace from the real
// listeners, the ruleset is loaded for real, and the peer probes it.

// daemon is one listener process of a test host.
type daemon struct {
	name  string
	specs []string
}

// port is one TCP or UDP port to probe, in the families that reach it.
type port struct {
	proto  string
	number uint16
	v4, v6 bool
}

func (p port) String() string { return fmt.Sprintf("%s/%d", p.proto, p.number) }

// suggestHost is one host of the kernel tests and what its suggested
// ruleset must let through.
type suggestHost struct {
	name    string
	daemons []daemon
	args    []string // extra `fwaudit suggest` flags
	ssh     uint16
	open    []port // from every source
	allowed []port // only from PeerV4[0] / PeerV6[0] (named by --allow)
	closed  []port // listening, but must be dropped
}

var suggestHosts = []suggestHost{
	{
		name:    "fresh",
		daemons: []daemon{{"sshd", []string{"tcp:[::]:22"}}},
		ssh:     22,
		open:    []port{{"tcp", 22, true, true}},
	},
	{
		name: "mail",
		daemons: []daemon{
			{"sshd", []string{"tcp:0.0.0.0:5622", "tcp6only:[::]:5622"}},
			{"exim4", []string{"tcp:[::]:25", "tcp:[::]:465", "tcp:[::]:587"}},
			{"dovecot", []string{"tcp:0.0.0.0:143", "tcp6only:[::]:143", "tcp:[::]:993", "tcp:[::]:995"}},
		},
		ssh: 5622,
		open: []port{{"tcp", 25, true, true}, {"tcp", 143, true, true}, {"tcp", 465, true, true},
			{"tcp", 587, true, true}, {"tcp", 993, true, true}, {"tcp", 995, true, true}, {"tcp", 5622, true, true}},
	},
	{
		name: "db",
		daemons: []daemon{
			{"sshd", []string{"tcp:0.0.0.0:22", "tcp6only:[::]:22"}},
			{"nginx", []string{"tcp:[::]:80", "tcp:[::]:443"}},
			{"named", []string{"udp:[::]:53", "tcp:[::]:53"}},
			{"postgres", []string{"tcp:0.0.0.0:5432"}},
			{"mysqld", []string{"tcp:[::]:3306"}},
			{"redis-server", []string{"tcp:[::]:6379", "tcp:127.0.0.1:6380"}},
		},
		args: []string{"--allow", "mysql=192.0.2.2,2001:db8::2"},
		ssh:  22,
		open: []port{{"tcp", 22, true, true}, {"udp", 53, true, true}, {"tcp", 53, true, true},
			{"tcp", 80, true, true}, {"tcp", 443, true, true}},
		allowed: []port{{"tcp", 3306, true, true}},
		closed:  []port{{"tcp", 5432, true, false}, {"tcp", 6379, true, true}},
	},
}

// TestSuggestKernel loads every format of every host's suggestion into a
// lab and probes it.
func TestSuggestKernel(t *testing.T) {
	RequireRoot(t)
	for _, h := range suggestHosts {
		for _, method := range []string{"restore", "nft", "script"} {
			t.Run(h.name+"/"+method, func(t *testing.T) {
				t.Parallel()
				testSuggestLoaded(t, h, method)
			})
		}
	}
}

// suggest runs `fwaudit suggest` in the lab's host namespace without the
// caller's $SSH_CONNECTION (the lab has nothing to do with it), failing
// the test unless it exits 0.
func suggest(lab *Lab, env []string, args ...string) string {
	lab.T.Helper()
	stdout, stderr, code := suggestRun(lab, env, args...)
	if code != 0 {
		lab.T.Fatalf("fwaudit suggest %s: exit %d\nstderr: %s", strings.Join(args, " "), code, stderr)
	}
	if stderr != "" {
		lab.T.Logf("fwaudit suggest %s: stderr: %s", strings.Join(args, " "), stderr)
	}
	return stdout
}

func suggestRun(lab *Lab, env []string, args ...string) (stdout, stderr string, code int) {
	lab.T.Helper()
	requireFwaudit(lab.T)
	argv := append([]string{"ip", "netns", "exec", lab.Host.Name, "env", "-u", "SSH_CONNECTION"}, env...)
	argv = append(argv, FwauditBin, "suggest")
	r := runFwaudit(lab.T, lab.Dir, append(argv, args...))
	return r.Stdout, r.Stderr, r.Code
}

func testSuggestLoaded(t *testing.T, h suggestHost, method string) {
	lab := NewLab(t)
	for _, d := range h.daemons {
		lab.Start(lab.Host, d.name, d.specs...)
	}
	// Sessions to SSH open before the rules are loaded must survive.
	held4 := lab.Hold(PeerV4[0].String(), HostV4.String(), h.ssh)
	held6 := lab.Hold(PeerV6[0].String(), HostV6.String(), h.ssh)
	if !held4.OK || !held6.OK {
		t.Fatalf("could not open the SSH sessions to hold before loading")
	}
	// A listener in the peer, for the host's own outgoing connections.
	lab.Start(lab.Peer, "nginx", "tcp:[::]:8081")

	switch method {
	case "restore":
		v4 := suggest(lab, nil, append([]string{"--format", "iptables"}, h.args...)...)
		v6 := suggest(lab, nil, append([]string{"--format", "ip6tables"}, h.args...)...)
		lab.LoadIptables(v4)
		lab.LoadIp6tables(v6)
	case "nft":
		lab.LoadNft(suggest(lab, nil, append([]string{"--format", "nft"}, h.args...)...))
	case "script":
		script := suggest(lab, nil, append([]string{"--format", "script", "--persist"}, h.args...)...)
		path := filepath.Join(lab.Dir, "fwall-rules")
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		persist := filepath.Join(lab.Dir, "persist")
		run := func() {
			t.Helper()
			lab.Host.Run("env", "RULES_DIR="+persist, "bash", path)
		}
		run()
		first4, first6 := saveRules(lab, "iptables-save"), saveRules(lab, "ip6tables-save")
		run()
		if got := saveRules(lab, "iptables-save"); got != first4 {
			t.Errorf("running the script twice changed the IPv4 ruleset (-first +second):\n%s", diffLines(first4, got))
		}
		if got := saveRules(lab, "ip6tables-save"); got != first6 {
			t.Errorf("running the script twice changed the IPv6 ruleset (-first +second):\n%s", diffLines(first6, got))
		}
		for file, live := range map[string]string{"rules.v4": first4, "rules.v6": first6} {
			b, err := os.ReadFile(filepath.Join(persist, file))
			if err != nil {
				t.Errorf("--persist: %v", err)
				continue
			}
			if got := normalizeSave(string(b)); got != live {
				t.Errorf("--persist: %s differs from the loaded rules (-loaded +file):\n%s", file, diffLines(live, got))
			}
		}
		if left, _ := filepath.Glob(filepath.Join(persist, "*.*.*")); len(left) > 0 {
			t.Errorf("--persist left temporary files: %v", left)
		}
	}
	if method != "nft" && !strings.Contains(lab.Host.Run("iptables-save"), ":INPUT DROP") {
		t.Fatalf("the ruleset did not load: INPUT policy is not DROP")
	}

	// A listener started after loading has no rule: dropped.
	lab.Start(lab.Host, "unknownd", "tcp:[::]:9000", "udp:[::]:9001")
	late := []port{{"tcp", 9000, true, true}, {"udp", 9001, true, true}}

	var reqs []ProbeReq
	var want []string
	add := func(p port, src0ok, src1ok bool) {
		srcs := [][2]string{}
		if p.v4 {
			srcs = append(srcs, [2]string{PeerV4[0].String(), HostV4.String()}, [2]string{PeerV4[1].String(), HostV4.String()})
		}
		if p.v6 {
			srcs = append(srcs, [2]string{PeerV6[0].String(), HostV6.String()}, [2]string{PeerV6[1].String(), HostV6.String()})
		}
		for i, s := range srcs {
			reqs = append(reqs, ProbeReq{p.proto, s[0], s[1], p.number})
			ok := src0ok
			if i%2 == 1 {
				ok = src1ok
			}
			if ok {
				want = append(want, "ok")
			} else {
				want = append(want, "fail timeout") // dropped, not refused
			}
		}
	}
	for _, p := range h.open {
		add(p, true, true)
	}
	for _, p := range h.allowed {
		add(p, true, false)
	}
	for _, p := range append(append([]port{}, h.closed...), late...) {
		add(p, false, false)
	}
	if h.ssh != 22 { // nothing listens on 22: dropped, not refused
		add(port{"tcp", 22, true, true}, false, false)
	}
	probeAll := func(when string) {
		t.Helper()
		for i, r := range lab.ProbeAll(reqs) {
			if r.Detail != want[i] {
				t.Errorf("%s: %v: got %q, want %q", when, reqs[i], r.Detail, want[i])
			}
		}
	}
	probeAll("after loading")

	// Ping, both families.
	for _, pair := range [][2]netip.Addr{{PeerV4[0], HostV4}, {PeerV6[0], HostV6}} {
		if err := pingFrom(lab.Peer, pair[0], pair[1], 2*time.Second); err != nil {
			t.Errorf("ping: %v", err)
		}
	}

	// The host's own outgoing connections still work.
	out := lab.Host.Run(SvcBin, "probe", "tcp,"+HostV4.String()+","+PeerV4[0].String()+",8081",
		"tcp,"+HostV6.String()+","+PeerV6[0].String()+",8081")
	if out != "ok\nok\n" {
		t.Errorf("outgoing connections from the host to the peer: got %q, want ok for both families", out)
	}

	// The held sessions are still alive.
	if !held4.Alive() {
		t.Errorf("the IPv4 SSH session open before loading was cut")
	}
	if !held6.Alive() {
		t.Errorf("the IPv6 SSH session open before loading was cut")
	}

	// IPv6 keeps working once both sides must resolve neighbours again:
	// neighbour discovery must get through the ruleset.
	for _, ns := range []*Netns{lab.Host, lab.Peer} {
		ns.Run("ip", "-6", "neigh", "flush", "all", "nud", "all")
	}
	reqs6, want6 := []ProbeReq{}, []string{}
	for i, r := range reqs {
		if strings.Contains(r.Dst, ":") {
			reqs6, want6 = append(reqs6, r), append(want6, want[i])
		}
	}
	reqs, want = reqs6, want6
	probeAll("after flushing the IPv6 neighbour caches")
	if err := pingFrom(lab.Peer, PeerV6[1], HostV6, 2*time.Second); err != nil {
		t.Errorf("ping after flushing the neighbour caches: %v", err)
	}
}

var saveNoise = regexp.MustCompile(`(?m)^#.*\n`)
var counters = regexp.MustCompile(`(?m) \[\d+:\d+\]$`)

// saveRules is the live ruleset without comment headers and counters.
func saveRules(lab *Lab, save string) string {
	lab.T.Helper()
	return normalizeSave(lab.Host.Run(save))
}

func normalizeSave(s string) string {
	return counters.ReplaceAllString(saveNoise.ReplaceAllString(s, ""), "")
}

// diffLines shows the lines only in a (-) and only in b (+).
func diffLines(a, b string) string {
	in := func(l string, s []string) bool {
		for _, x := range s {
			if x == l {
				return true
			}
		}
		return false
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for _, l := range al {
		if !in(l, bl) {
			out.WriteString("-" + l + "\n")
		}
	}
	for _, l := range bl {
		if !in(l, al) {
			out.WriteString("+" + l + "\n")
		}
	}
	return out.String()
}

// TestSuggestRefusesLockout: with $SSH_CONNECTION from a source --ssh-from
// leaves out, or a live sshd session from one, suggest refuses (exit 1,
// the session and the fix named on stderr, nothing on stdout); --force
// overrides.
func TestSuggestRefusesLockout(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22", "tcp6only:[::]:22")

	for _, c := range []struct {
		name   string
		env    []string
		args   []string
		client string
		code   int
	}{
		{"ssh-connection", []string{"SSH_CONNECTION=198.51.100.7 50022 192.0.2.1 22"},
			[]string{"--ssh-from", "192.0.2.0/24"}, "198.51.100.7", 1},
		{"ssh-connection-v6", []string{"SSH_CONNECTION=2001:db8:77::7 50022 2001:db8::1 22"},
			[]string{"--ssh-from", "192.0.2.0/24,2001:db8::/64"}, "2001:db8:77::7", 1},
		{"ssh-connection-included", []string{"SSH_CONNECTION=198.51.100.7 50022 192.0.2.1 22"},
			[]string{"--ssh-from", "198.51.100.0/24"}, "", 0},
		{"forced", []string{"SSH_CONNECTION=198.51.100.7 50022 192.0.2.1 22"},
			[]string{"--ssh-from", "192.0.2.0/24", "--force"}, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer lab.Use(t)()
			stdout, stderr, code := suggestRun(lab, c.env, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, c.code, stderr)
			}
			if c.code == 0 {
				if !strings.Contains(stdout, "*filter") {
					t.Errorf("no ruleset on stdout:\n%s", stdout)
				}
				return
			}
			if stdout != "" {
				t.Errorf("refusal wrote to stdout:\n%s", stdout)
			}
			for _, w := range []string{"refusing", c.client, "port 22", "--ssh-from does not include " + c.client, "--force"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}

	// A live session to sshd (found through the established sockets, no
	// $SSH_CONNECTION) from a source --ssh-from leaves out.
	t.Run("established", func(t *testing.T) {
		defer lab.Use(t)()
		held := lab.Hold(PeerV4[1].String(), HostV4.String(), 22)
		defer held.Close()
		if !held.OK {
			t.Fatal("could not open the session")
		}
		stdout, stderr, code := suggestRun(lab, nil, "--ssh-from", PeerV4[0].String())
		if code != 1 || stdout != "" || !strings.Contains(stderr, PeerV4[1].String()) {
			t.Errorf("got exit %d, stdout %q, stderr %q; want exit 1, no stdout, a refusal naming %s",
				code, stdout, stderr, PeerV4[1])
		}
	})
}
