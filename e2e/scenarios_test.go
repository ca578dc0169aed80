//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
)

// A scenario is one ruleset with listeners behind it. Every listener is
// probed from the peer from two sources per family it receives, and
// fwaudit's verdict (scan -o json, live in the host namespace) must admit
// exactly the sources that got in.
type scenario struct {
	name string
	// Rulesets, testdata file names (loaded into the host namespace).
	v4, v6             string // iptables-restore, ip6tables-restore
	v4Legacy, v6Legacy string // iptables-legacy-restore, ip6tables-legacy-restore
	nft                string // nft -f
	setup              func(t *testing.T, lab *Lab)
	listeners          []listener
	// noExplainRule: the deciding rule cannot be read from one backend's
	// counters (legacy and nft tables both loaded); explain's verdict is
	// still checked against a probe.
	noExplainRule bool
	// nftCounters: explain's rule is read from nft's per-rule counters
	// (every rule of the scenario is nftables: native, or iptables-nft's
	// as nft lists it; nft_counters.go) instead of iptables-save -c.
	nftCounters bool
	// verdicts pins fwaudit's verdict for some listeners (by spec), in
	// every family they receive: where agreeing with the probes is not
	// enough (a rate limit must be conditional, not open).
	verdicts map[string]string
	// noExplain skips explain for some listeners (by spec), saying why.
	noExplain map[string]string
	// probeLoopback probes IPv4 loopback listeners too, through the host's
	// address (k4 must be set for them): "not-applicable" then promises
	// that nobody gets in.
	probeLoopback bool
	// sports: every probe is also tried from these source ports; a source
	// got in when any of its attempts did (the verdict is about source
	// addresses, and an attacker picks the source port).
	sports []uint16
}

// A listener is one helper process with one socket. k4 and k6 say what the
// kernel is expected to let in, per family ("both", "none", ".2" or ".3"
// for the peer's two sources, "?" for don't-care), and are required
// exactly for the families the socket receives from the peer. They check
// the scenario itself; the verdict check compares fwaudit to what the
// kernel actually did.
type listener struct {
	daemon string
	spec   string
	k4, k6 string
}

// sock is a listener's socket, parsed from its spec.
type sock struct {
	proto    string
	addr     netip.Addr
	port     uint16
	v6only   bool
	loopback bool
}

func parseListenSpec(spec string) (sock, error) {
	kind, rest, _ := strings.Cut(spec, ":")
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return sock{}, fmt.Errorf("spec %q: no port", spec)
	}
	a, err := netip.ParseAddr(strings.Trim(rest[:i], "[]"))
	if err != nil {
		return sock{}, fmt.Errorf("spec %q: %v", spec, err)
	}
	p, err := strconv.ParseUint(rest[i+1:], 10, 16)
	if err != nil {
		return sock{}, fmt.Errorf("spec %q: %v", spec, err)
	}
	s := sock{proto: kind[:3], addr: a, port: uint16(p), v6only: strings.HasSuffix(kind, "6only"), loopback: a.IsLoopback()}
	return s, nil
}

func (s sock) family() string {
	if s.addr.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// receives4/receives6: which families reach the socket from the peer.
func (s sock) receives4() bool {
	return !s.loopback && (s.addr.Is4() || (s.addr == netip.IPv6Unspecified() && !s.v6only))
}

// probed4 is receives4, or an IPv4 loopback socket in a probeLoopback
// scenario.
func (s sock) probed4(sc scenario) bool {
	return s.receives4() || (sc.probeLoopback && s.loopback && s.addr.Is4())
}
func (s sock) receives6() bool { return !s.loopback && s.addr.Is6() }

// dst is where the peer aims for the socket in one family.
func (s sock) dst(v6 bool) netip.Addr {
	switch {
	case v6 && s.addr.IsUnspecified():
		return HostV6
	case !v6 && (s.addr.IsUnspecified() || s.addr.IsLoopback()):
		return HostV4
	}
	return s.addr
}

// the scenarios: every one starts real listeners and loads a real ruleset.
var scenarios = []scenario{
	{
		name: "no-rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"nginx", "tcp:[::]:80", "both", "both"},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"named", "udp6only:[::]:53", "", "both"},
			{"postgres", "tcp6only:[::]:5432", "", "both"},
			{"mysqld", "tcp:127.0.0.1:3306", "", ""},
		},
	},
	{
		name: "default-drop-per-port-accepts",
		v4:   "default-drop.rules", v6: "default-drop.rules6",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"sshd", "tcp6only:[::]:22", "", "both"},
			{"nginx", "tcp:[::]:80", "both", "none"},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"named", "udp6only:[::]:53", "", "none"},
		},
	},
	{
		name: "accept-policy-catch-all-drop",
		v4:   "catchall-drop.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"redis-server", "tcp:0.0.0.0:6379", "none", ""},
			{"redis-server", "tcp:127.0.0.1:6380", "", ""},
		},
	},
	{
		name: "user-chains-return-goto",
		v4:   "chains.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", ".2", ""},
			{"nginx", "tcp:0.0.0.0:80", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "both", ""},
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"unknownd", "udp:0.0.0.0:1053", "none", ""},
		},
	},
	{
		name: "negations",
		v4:   "negation.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", ".2", ""},
			{"nginx", "tcp:0.0.0.0:80", "none", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", ".2", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
		},
	},
	{
		name: "multiport-ranges",
		v4:   "multiport.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"nginx", "tcp:0.0.0.0:80", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8101", "none", ""},
			{"unknownd", "tcp:0.0.0.0:9100", ".3", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"unknownd", "udp:0.0.0.0:61", "none", ""},
		},
	},
	{
		name: "reject",
		v4:   "reject.rules", v6: "reject.rules6",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"sshd", "tcp6only:[::]:22", "", "none"},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"unknownd", "udp:0.0.0.0:161", "none", ""},
			{"postgres", "tcp:0.0.0.0:5432", ".3", ""},
			{"redis-server", "tcp:0.0.0.0:6379", "none", ""},
		},
	},
	{
		name: "interface-bound",
		v4:   "interfaces.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"nginx", "tcp:0.0.0.0:80", "none", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "none", ""},
			{"mysqld", "tcp:0.0.0.0:3306", ".3", ""},
		},
	},
	{
		name: "conntrack-syn",
		v4:   "conntrack.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"nginx", "tcp:0.0.0.0:80", "none", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
		},
	},
	{
		name: "source-restricted",
		v4:   "sources.rules", v6: "sources.rules6",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", ".2", ""},
			{"sshd", "tcp6only:[::]:22", "", ".3"},
			{"mysqld", "tcp:0.0.0.0:3306", ".3", ""},
			{"postgres", "tcp:0.0.0.0:5432", "both", ""},
			{"named", "udp:[::]:53", "both", "both"},
			{"nginx", "tcp:0.0.0.0:80", "none", ""},
			{"nginx", "tcp6only:[::]:80", "", "none"},
			{"unknownd", "tcp:192.0.2.1:8080", ".3", ""},
		},
	},
	{
		name: "ufw",
		setup: func(t *testing.T, lab *Lab) {
			lab.Ufw("default", "deny", "incoming")
			lab.Ufw("allow", "80/tcp")
			lab.Ufw("allow", "from", "192.0.2.3", "to", "any", "port", "3306")
			lab.Ufw("limit", "22/tcp")
			lab.Ufw("--force", "enable")
		},
		verdicts: map[string]string{"tcp:0.0.0.0:22": "conditional", "tcp6only:[::]:22": "conditional"},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""}, // limit: the first connections get in
			{"sshd", "tcp6only:[::]:22", "", "both"},
			{"nginx", "tcp:[::]:80", "both", "both"},
			{"mysqld", "tcp:0.0.0.0:3306", ".3", ""},
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
			{"named", "udp:0.0.0.0:53", "none", ""},
		},
	},
	{
		name: "ip6tables-v6-listeners",
		v6:   "v6only.rules6",
		listeners: []listener{
			{"sshd", "tcp6only:[::]:22", "", "both"},
			{"nginx", "tcp6only:[::]:443", "", "none"},
			{"named", "udp6only:[::]:53", "", "both"},
			{"postgres", "tcp:[2001:db8::1]:5432", "", ".2"},
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
		},
	},
	{
		name: "dual-stack-differs",
		v4:   "dualstack.rules", v6: "dualstack.rules6",
		listeners: []listener{
			{"nginx", "tcp:[::]:80", "both", "none"},
			{"named", "udp:[::]:53", ".3", ".2"},
			{"unknownd", "tcp:[::]:8080", "none", "both"},
		},
	},
	{
		name: "tutorial-lo-accept",
		v4:   "tutorial.rules",
		setup: func(t *testing.T, lab *Lab) {
			// The premise: without -v, the lo rule reads as accept-all.
			out := lab.Host.Run("iptables", "-L", "INPUT")
			if !regexp.MustCompile(`(?m)^ACCEPT\s+all\s+--\s+anywhere\s+anywhere\s*$`).MatchString(out) {
				t.Errorf("iptables -L does not show the lo rule as accept-all:\n%s", out)
			}
		},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"nginx", "tcp:0.0.0.0:80", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"redis-server", "tcp:127.0.0.1:6379", "", ""},
			{"unknownd", "udp:0.0.0.0:40001", "none", ""},
		},
	},
	{
		name: "source-set-arithmetic",
		v4:   "sets.rules", v6: "sets.rules6",
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "none", "both"},
			{"nginx", "tcp:[::]:80", ".2", ".2"},
			{"mysqld", "tcp:0.0.0.0:3306", ".3", ""},
			{"postgres", "tcp:0.0.0.0:5432", ".3", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"named", "udp:[::]:53", "both", "none"},
		},
	},
	{
		name: "dnat-to-localhost",
		v4:   "dnat-localhost.rules",
		setup: func(t *testing.T, lab *Lab) {
			lab.Host.Run("sysctl", "-q", "-w", "net.ipv4.conf.veth0.route_localnet=1")
		},
		probeLoopback: true,
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"redis-server", "tcp:127.0.0.1:6379", "both", ""},
			{"redis-server", "tcp:127.0.0.1:6380", "none", ""},
			{"memcached", "tcp:127.0.0.1:11211", "none", ""},
		},
		// only a loopback socket that no DNAT reaches is out of the firewall's say
		verdicts: map[string]string{
			"tcp:127.0.0.1:6379":  "open",
			"tcp:127.0.0.1:6380":  "blocked",
			"tcp:127.0.0.1:11211": "not-applicable",
		},
	},
	{
		name: "notrack-untracked",
		v4:   "notrack.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"named", "udp:0.0.0.0:53", "none", ""},
			{"named", "tcp:0.0.0.0:8053", "both", ""},
		},
	},
	{
		name: "corpus-firewalld-fedora27",
		v4:   "corpus/firewalld-fedora27-counters.iptables-save",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"nginx", "tcp:0.0.0.0:80", "none", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "both", ""},
			{"named", "udp:0.0.0.0:53", "none", ""},
			{"unknownd", "udp:0.0.0.0:40001", "both", ""},
			{"unknownd", "udp:0.0.0.0:137", "both", ""},
		},
	},
	{
		name: "corpus-ufw-server2",
		v4:   "corpus/ufw-server2-diekmann.iptables-save",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"unknownd", "udp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"nginx", "tcp:0.0.0.0:80", "none", ""},
		},
	},
	{
		name:   "source-port-holes",
		v4:     "sport.rules",
		sports: []uint16{53, 80},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "both", ""},    // from source port 80
			{"unknownd", "udp:0.0.0.0:40001", "both", ""}, // from source port 53
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
		},
	},
	{
		name: "chain-reuse-and-depth",
		v4:   "chain-reuse.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "both", ""},
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
			{"unknownd", "tcp:0.0.0.0:8080", ".3", ""},
		},
	},
	{
		name: "hardening-ruleset",
		v4:   "hardening.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", ".2", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
			{"unknownd", "tcp:0.0.0.0:5050", "both", ""},
			{"unknownd", "tcp:0.0.0.0:65535", "both", ""},
			{"nginx", "tcp:0.0.0.0:80", "both", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
		},
	},
	{
		name: "output-policy-drop",
		v4:   "output-drop.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"nginx", "tcp:0.0.0.0:80", "none", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8080", ".3", ""},
		},
	},
	{
		name:     "legacy-only",
		v4Legacy: "default-drop.rules", v6Legacy: "default-drop.rules6",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"sshd", "tcp6only:[::]:22", "", "both"},
			{"nginx", "tcp:[::]:80", "both", "none"},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"named", "udp:0.0.0.0:53", "both", ""},
		},
	},
	{
		name: "nat-redirect",
		v4:   "nat-redirect.rules",
		// the REDIRECT from 8080 into nginx is followed: INPUT sees the
		// packet on port 80, where only 192.0.2.2 is accepted, so 8080
		// admits no one else (TestTruthRedirect probes a redirect port)
		verdicts: map[string]string{"tcp:0.0.0.0:80": "restricted"},
		noExplain: map[string]string{
			"tcp:0.0.0.0:22": "redirected to a port nobody listens on: the firewall accepts, the stack resets",
		},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "none", ""},
			{"nginx", "tcp:0.0.0.0:80", ".2", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
		},
	},
	{
		name: "raw-and-mangle-drops",
		v4:   "raw-mangle.rules",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"postgres", "tcp:0.0.0.0:5432", ".3", ""},
			{"named", "udp:0.0.0.0:53", "none", ""},
			{"redis-server", "tcp:0.0.0.0:6379", "none", ""},
		},
	},
	{
		name:     "assorted-matches",
		v4:       "matches.rules",
		verdicts: map[string]string{"tcp:0.0.0.0:2022": "conditional", "tcp:0.0.0.0:8443": "conditional"},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", ".3", ""},
			{"postgres", "tcp:0.0.0.0:5432", ".3", ""},
			{"nginx", "tcp:0.0.0.0:80", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"nginx", "tcp:0.0.0.0:443", "none", ""},
			{"sshd", "tcp:0.0.0.0:2022", "both", ""},  // hashlimit: the first get in
			{"nginx", "tcp:0.0.0.0:8443", "both", ""}, // connlimit: so do these
		},
	},
	{
		name:          "native-nft-table-beside-iptables",
		v4:            "native-iptables.rules",
		nft:           "native.nft",
		noExplainRule: true,
		// iptables-nft's filter INPUT and the native table run on the same
		// hook: a packet must pass both.
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"postgres", "tcp:0.0.0.0:5432", ".3", ""},
		},
	},
	{
		name:          "native-nft-only",
		nft:           "native-only.nft",
		noExplainRule: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
			{"postgres", "tcp:[::]:5432", ".3", ".2"},
		},
	},
	{
		name:     "legacy-and-nft-both-loaded",
		v4Legacy: "mixed-legacy.rules", v4: "mixed-nft.rules",
		noExplainRule: true,
		listeners: []listener{
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
		},
	},
}

// sources per family, and the host interface every probe arrives on.
func peerSources(v6 bool) []netip.Addr {
	if v6 {
		return PeerV6
	}
	return PeerV4
}

// kernelWant turns a listener's k4/k6 into the set of sources expected in.
func kernelWant(k string, v6 bool) (map[netip.Addr]bool, bool) {
	src := peerSources(v6)
	switch k {
	case "both":
		return map[netip.Addr]bool{src[0]: true, src[1]: true}, true
	case "none":
		return map[netip.Addr]bool{}, true
	case ".2":
		return map[netip.Addr]bool{src[0]: true}, true
	case ".3":
		return map[netip.Addr]bool{src[1]: true}, true
	}
	return nil, false
}

// probeCase is one (listener, family, source) probe with fwaudit's verdict.
type probeCase struct {
	l      listener
	s      sock
	v6     bool
	src    netip.Addr
	req    ProbeReq
	socket *Socket
	fv     *FamilyVerdict
	got    ProbeResult
}

func (c probeCase) famName() string {
	if c.v6 {
		return "ipv6"
	}
	return "ipv4"
}

// runScenario sets up sc in a fresh lab, starts its listeners and returns
// the probe cases (not yet probed, no fwaudit verdicts attached).
func runScenario(t *testing.T, sc scenario) (*Lab, []*probeCase) {
	t.Helper()
	lab := NewLab(t)
	for _, load := range []struct {
		file string
		fn   func(string)
	}{{sc.v4Legacy, lab.LoadIptablesLegacy}, {sc.v6Legacy, lab.LoadIp6tablesLegacy},
		{sc.v4, lab.LoadIptables}, {sc.v6, lab.LoadIp6tables}, {sc.nft, lab.LoadNft}} {
		if load.file != "" {
			load.fn(Testdata(t, load.file))
		}
	}
	if sc.setup != nil {
		sc.setup(t, lab)
	}
	var cases []*probeCase
	for _, l := range sc.listeners {
		s, err := parseListenSpec(l.spec)
		if err != nil {
			t.Fatal(err)
		}
		if (l.k4 != "") != s.probed4(sc) || (l.k6 != "") != s.receives6() {
			t.Fatalf("scenario bug: listener %s %s: k4/k6 must be set exactly for the families it receives", l.daemon, l.spec)
		}
		lab.Start(lab.Host, l.daemon, l.spec)
		for _, v6 := range []bool{false, true} {
			if (!v6 && !s.probed4(sc)) || (v6 && !s.receives6()) {
				continue
			}
			for _, src := range peerSources(v6) {
				cases = append(cases, &probeCase{l: l, s: s, v6: v6, src: src,
					req: ProbeReq{Proto: s.proto, Src: src.String(), Dst: s.dst(v6).String(), Port: s.port}})
			}
		}
	}
	return lab, cases
}

// attachVerdicts runs `fwaudit scan -o json` and gives every case its
// socket and family verdict; loopback listeners must be not-applicable.
func attachVerdicts(t *testing.T, lab *Lab, sc scenario, cases []*probeCase) {
	t.Helper()
	scan := lab.Scan()
	find := func(l listener) (sock, *Socket) {
		s, _ := parseListenSpec(l.spec)
		for j := range scan.Sockets {
			x := &scan.Sockets[j]
			if x.Proto == s.proto && x.Family == s.family() && x.Port == s.port && x.Address == s.addr.String() {
				return s, x
			}
		}
		return s, nil
	}
	for _, l := range sc.listeners {
		s, so := find(l)
		switch {
		case so == nil:
			t.Errorf("fwaudit scan does not report %s %s (%s)", l.daemon, l.spec, s.family())
		case so.Firewall == nil:
			t.Errorf("fwaudit scan: %s %s has no firewall verdict", l.daemon, l.spec)
		case s.loopback && !sc.probeLoopback && so.Firewall.Verdict != "not-applicable":
			// with probeLoopback a DNAT may reach the socket: the probes judge
			t.Errorf("%s %s is bound to loopback: verdict %q, want not-applicable", l.daemon, l.spec, so.Firewall.Verdict)
		}
	}
	for _, c := range cases {
		_, so := find(c.l)
		if so == nil || so.Firewall == nil {
			continue
		}
		c.socket, c.fv = so, so.Firewall.IPv4
		if c.v6 {
			c.fv = so.Firewall.IPv6
		}
	}
}

// TestScenarios is the evaluator's proof: for every scenario, listener,
// family and source, fwaudit's verdict admits the source exactly when the
// kernel let its probe in ("verdicts"), and explain names the rule the
// kernel's walk ended on ("explain", explain_test.go). "kernel" checks the
// scenario's own expectations and needs no fwaudit.
func TestScenarios(t *testing.T) {
	t.Parallel()
	// The scenarios mostly wait on probe timeouts: run a few at once,
	// whatever go test's -parallel (GOMAXPROCS by default) says.
	sem := make(chan struct{}, scenarioConcurrency)
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.Run(sc.name, func(t *testing.T) { runProof(t, sc) })
		}()
	}
	wg.Wait()
}

// scenarioConcurrency bounds the labs TestScenarios runs at once.
const scenarioConcurrency = 4

// runProof runs one scenario: probes, then the kernel, verdicts, explain
// and shadowed (shadowed_test.go) checks.
func runProof(t *testing.T, sc scenario) {
	lab, cases := runScenario(t, sc)
	counters := lab.snapshotCounters()
	var reqs []ProbeSpec
	var owner []*probeCase
	for _, c := range cases {
		for _, sp := range append([]uint16{0}, sc.sports...) {
			reqs = append(reqs, ProbeSpec{ProbeReq: c.req, SPort: sp})
			owner = append(owner, c)
		}
	}
	for i, r := range lab.ProbeSpecs(reqs) {
		c := owner[i]
		switch {
		case reqs[i].SPort == 0:
			c.got = r
		case r.OK && !c.got.OK:
			c.got = ProbeResult{OK: true, Detail: fmt.Sprintf("ok from source port %d", reqs[i].SPort)}
		}
	}
	t.Run("kernel", func(t *testing.T) { checkKernel(t, cases) })
	t.Run("verdicts", func(t *testing.T) {
		defer lab.Use(t)()
		attachVerdicts(t, lab, sc, cases)
		checkVerdicts(t, sc, cases)
		for _, c := range cases {
			if want, ok := sc.verdicts[c.l.spec]; ok && c.fv != nil && c.fv.Verdict != want {
				t.Errorf("%s %s (%s): fwaudit verdict %q, want %q", c.l.daemon, c.l.spec, c.famName(), c.fv.Verdict, want)
			}
		}
	})
	t.Run("explain", func(t *testing.T) {
		defer lab.Use(t)()
		checkExplain(t, lab, sc, cases)
	})
	t.Run("shadowed", func(t *testing.T) {
		defer lab.Use(t)()
		checkShadowed(t, lab, movedRules(counters, lab.snapshotCounters()))
	})
}

// checkKernel checks what got through against the scenario's k4/k6.
func checkKernel(t *testing.T, cases []*probeCase) {
	for _, c := range cases {
		k := c.l.k4
		if c.v6 {
			k = c.l.k6
		}
		if want, ok := kernelWant(k, c.v6); ok && want[c.src] != c.got.OK {
			t.Errorf("scenario expectation: %s %s from %s: kernel %q, scenario says %q got in", c.l.daemon, c.l.spec, c.src, c.got.Detail, k)
		}
	}
}

// checkVerdicts compares fwaudit to the kernel and prints one table of
// every probe when anything is off. A conditional verdict must give
// reasons, and is accepted only where the scenario pins it (sc.verdicts):
// elsewhere the kernel's answer does not depend on runtime state, and
// DESIGN.md wants conditional "only when it matters".
func checkVerdicts(t *testing.T, sc scenario, cases []*probeCase) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "listener\tfamily\tsource\tkernel\tfwaudit verdict\tsources/except/ifaces\tfwaudit admits\tproblem")
	bad := false
	for _, c := range cases {
		kernel := "in"
		if c.got.OK && c.got.Detail != "ok" {
			kernel = "in (" + strings.TrimPrefix(c.got.Detail, "ok ") + ")"
		}
		if !c.got.OK {
			kernel = "out (" + strings.TrimPrefix(c.got.Detail, "fail ") + ")"
		}
		verdict, detail, admits, problem := "null", "", "-", ""
		if c.fv != nil {
			verdict = c.fv.Verdict
			detail = fmt.Sprintf("%v/%v/%v", c.fv.Sources, c.fv.Except, c.fv.Interfaces)
			if len(detail) > 90 {
				detail = fmt.Sprintf("%s... (%d sources)", detail[:80], len(c.fv.Sources))
			}
			ok, decided := c.fv.Admits(c.src, "veth0")
			switch {
			case decided:
				admits = map[bool]string{true: "in", false: "out"}[ok]
				if ok != c.got.OK {
					problem = "FWAUDIT DISAGREES WITH KERNEL"
				}
			case c.fv.Verdict == "conditional" || inAny(c.src, c.fv.Doubtful):
				// conditional, or a source in doubt beside a certain part
				admits = "maybe"
				switch {
				case len(c.fv.Reasons) == 0:
					problem = "conditional without reasons"
				case sc.verdicts[c.l.spec] != "conditional":
					problem = fmt.Sprintf("CONDITIONAL (%s) WHERE THE KERNEL IS DETERMINISTIC", strings.Join(c.fv.Reasons, ", "))
				}
				if c.fv.Verdict == "conditional" && len(c.fv.Sources) > 0 && c.got.OK && !inAny(c.src, c.fv.Sources) {
					problem = "got in from outside the conditional's sources"
				}
			default:
				problem = "no usable verdict"
			}
		} else {
			problem = "no verdict for this family"
		}
		if problem != "" {
			bad = true
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.l.daemon, c.l.spec, c.famName(), c.src, kernel, verdict, detail, admits, problem)
	}
	tw.Flush()
	if bad {
		t.Errorf("fwaudit vs kernel:\n%s", b.String())
	} else {
		t.Logf("fwaudit vs kernel:\n%s", b.String())
	}
}
