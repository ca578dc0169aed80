//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// The no-widening tests: hosts that already have rules (a blocklist,
// source restrictions, blocked and rate-limited listeners, ufw, a
// dual-stack socket whose families differ). Every listener is probed from
// both peer sources per family, the suggestion fwaudit writes in the host
// namespace is loaded (iptables-restore and ip6tables-restore over today's
// rules; or, after `nft flush ruleset`, the nft file alone), and every
// probe runs again. Nothing closed before may be open after, ssh stays
// reachable from wherever it was, and each listener's answer after is
// pinned (so a suggestion that closed everything would fail too).

// nowidenHost is one such host. Its listeners' k4/k6 say what the kernel
// lets in today (checked, as in the scenarios); after pins, by listen
// spec, what the suggestion lets in where it differs from today.
type nowidenHost struct {
	name      string
	v4, v6    string // testdata rulesets, loaded with iptables-restore / ip6tables-restore
	setup     func(t *testing.T, lab *Lab)
	listeners []listener
	after     map[string][2]string // spec -> {k4, k6} after loading
	warnings  []string             // substrings of suggest's stderr (family marks left out)
	// unchanged: today's rules already admit exactly what the suggestion
	// does, so suggest --diff exits 0 before loading too
	unchanged bool
	// ufw: ufw manages the host, so the suggestion is also run as the ufw
	// script suggest writes by default there
	ufw bool
	// native: the host's rules are native nftables, so the suggestion is
	// also loaded as the nft file suggest writes by default there, over
	// today's tables (it replaces them itself)
	native bool
	// args are given to every suggest run; without them suggest must
	// refuse (exit 2) when refuses is set
	args    []string
	refuses string
}

var nowidenHosts = []nowidenHost{
	{
		name: "blocklist",
		v4:   "nowiden-blocklist.rules", v6: "nowiden-blocklist.rules6",
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", ".2", ""},
			{"sshd", "tcp6only:[::]:22", "", "both"},
			{"nginx", "tcp:[::]:80", ".2", ".2"},
			{"named", "udp:[::]:53", "both", "both"},
		},
		warnings: []string{"tcp/22: open except 192.0.2.3/32 → open except 192.0.2.3/32 (kept)",
			"tcp/80: open except 2001:db8::3/128 → open except 2001:db8::3/128 (kept)"},
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
		warnings: []string{"tcp/5432: restricted 192.0.2.0/24 → restricted 192.0.2.0/24 (kept)",
			"hint: to change who may connect: --allow postgresql=192.0.2.0/24 or --deny postgresql"},
		unchanged: true,
	},
	{
		name: "blocked-listeners",
		v4:   "nowiden-blocked.rules", v6: "nowiden-blocked.rules6",
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"nginx", "tcp:[::]:80", "both", "both"},
			{"unknownd", "tcp:0.0.0.0:8099", "none", ""},
			{"unknownd", "tcp:[::]:9100", "none", "none"},
			{"unknownd", "udp:0.0.0.0:8125", "none", ""},
			{"nginx", "tcp:0.0.0.0:8443", "both", ""}, // hashlimit: the first get in
		},
		// admitted today only under a rate limit: kept closed
		after:    map[string][2]string{"tcp:0.0.0.0:8443": {"none", ""}},
		warnings: []string{"tcp/8099: blocked → blocked (kept)", "tcp/9100: blocked → blocked (kept)"},
	},
	{
		name: "ufw",
		ufw:  true,
		setup: func(t *testing.T, lab *Lab) {
			lab.Ufw("default", "deny", "incoming")
			lab.Ufw("allow", "80/tcp")
			lab.Ufw("allow", "from", "192.0.2.3", "to", "any", "port", "3306")
			lab.Ufw("limit", "22/tcp")
			lab.Ufw("insert", "1", "deny", "from", "192.0.2.3", "to", "any", "port", "80")
			lab.Ufw("--force", "enable")
		},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""}, // limit: the first connections get in
			{"sshd", "tcp6only:[::]:22", "", "both"},
			{"nginx", "tcp:[::]:80", ".2", "both"},
			{"mysqld", "tcp:0.0.0.0:3306", ".3", ""},
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
			{"named", "udp:0.0.0.0:53", "none", ""},
		},
		// ssh under a rate limit: refused until told who may connect
		refuses: "ssh on tcp/22 is admitted over ipv4 today only under runtime conditions (-m recent)",
		args:    []string{"--ssh-from", "192.0.2.0/24,2001:db8::/64"},
	},
	{
		// native nftables: the default suggestion is an nft file that
		// replaces the admin's table in its own transaction
		name:   "native-nft",
		native: true,
		setup: func(t *testing.T, lab *Lab) {
			lab.LoadNft(`table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		iif "lo" accept
		ct state established,related accept
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		ip saddr 192.0.2.3 tcp dport 80 drop
		tcp dport { 22, 80 } accept
		ip saddr 192.0.2.3 tcp dport 5432 accept
		ip6 saddr 2001:db8::2 udp dport 53 accept
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
	}
}
`)
		},
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"nginx", "tcp:[::]:80", ".2", "both"},
			{"postgres", "tcp:0.0.0.0:5432", ".3", ""},
			{"named", "udp:[::]:53", "none", ".2"},
			{"unknownd", "tcp:[::]:9999", "none", "none"},
		},
		unchanged: true,
	},
	{
		name: "dual-stack-differs",
		v4:   "dualstack.rules", v6: "dualstack.rules6",
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "none", "both"},
			{"nginx", "tcp:[::]:80", "both", "none"},
			{"named", "udp:[::]:53", ".3", ".2"},
			{"unknownd", "tcp:[::]:8080", "none", "both"},
		},
		warnings: []string{"ssh on tcp/22 is not reachable over ipv4 today and stays closed there"},
	},
}

// TestSuggestNeverWidens loads each host's suggestion both ways and
// probes before and after.
func TestSuggestNeverWidens(t *testing.T) {
	RequireRoot(t)
	for _, h := range nowidenHosts {
		methods := []string{"restore", "nft"}
		if h.ufw {
			methods = append(methods, "ufw")
		}
		if h.native {
			methods = append(methods, "nft-native")
		}
		for _, method := range methods {
			t.Run(h.name+"/"+method, func(t *testing.T) {
				t.Parallel()
				testNeverWidens(t, h, method)
			})
		}
	}
}

// nowidenProbe is one (listener, family, source) probe.
type nowidenProbe struct {
	l      listener
	s      sock
	v6     bool
	src    netip.Addr
	req    ProbeReq
	before bool
}

func testNeverWidens(t *testing.T, h nowidenHost, method string) {
	lab := NewLab(t)
	if h.v4 != "" {
		lab.LoadIptables(Testdata(t, h.v4))
	}
	if h.v6 != "" {
		lab.LoadIp6tables(Testdata(t, h.v6))
	}
	if h.setup != nil {
		h.setup(t, lab)
	}
	var probes []*nowidenProbe
	for _, l := range h.listeners {
		s, err := parseListenSpec(l.spec)
		if err != nil {
			t.Fatal(err)
		}
		if (l.k4 != "") != s.receives4() || (l.k6 != "") != s.receives6() {
			t.Fatalf("host bug: listener %s %s: k4/k6 must be set exactly for the families it receives", l.daemon, l.spec)
		}
		lab.Start(lab.Host, l.daemon, l.spec)
		for _, v6 := range []bool{false, true} {
			if (!v6 && !s.receives4()) || (v6 && !s.receives6()) {
				continue
			}
			for _, src := range peerSources(v6) {
				probes = append(probes, &nowidenProbe{l: l, s: s, v6: v6, src: src,
					req: ProbeReq{Proto: s.proto, Src: src.String(), Dst: s.dst(v6).String(), Port: s.port}})
			}
		}
	}
	reqs := make([]ProbeReq, len(probes))
	for i, p := range probes {
		reqs[i] = p.req
	}

	// Before: the host's own rules, as the host says.
	for i, r := range lab.ProbeAll(reqs) {
		p := probes[i]
		p.before = r.OK
		k := p.l.k4
		if p.v6 {
			k = p.l.k6
		}
		if want, _ := kernelWant(k, p.v6); want[p.src] != r.OK {
			t.Errorf("host expectation: %s %s from %s: kernel %q before loading, host says %q", p.l.daemon, p.l.spec, p.src, r.Detail, k)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The suggestion, with its per-port account on stderr.
	var stderrs []string
	if h.refuses != "" {
		if _, stderr, code := suggestRun(lab, nil); code != 2 || !strings.Contains(stderr, h.refuses) || !strings.Contains(stderr, "--ssh-from") {
			t.Errorf("fwaudit suggest without %v: exit %d, want 2 and %q naming --ssh-from\nstderr:\n%s", h.args, code, h.refuses, stderr)
		}
	}
	gen := func(format string) string {
		t.Helper()
		stdout, stderr, code := suggestRun(lab, nil, append([]string{"--format", format}, h.args...)...)
		if code != 0 {
			t.Fatalf("fwaudit suggest --format %s: exit %d\nstderr:\n%s", format, code, stderr)
		}
		stderrs = append(stderrs, stderr)
		return stdout
	}
	switch method {
	case "restore":
		v4, v6 := gen("iptables"), gen("ip6tables")
		want := 1
		if h.unchanged {
			want = 0
		}
		if stdout, stderr, code := suggestRun(lab, nil, append([]string{"--diff"}, h.args...)...); code != want {
			t.Errorf("suggest --diff before loading: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
		}
		lab.LoadIptables(v4)
		lab.LoadIp6tables(v6)
	case "nft":
		ruleset := gen("nft")
		lab.Host.Run("nft", "flush", "ruleset")
		lab.LoadNft(ruleset)
	case "nft-native":
		// no --format: on a native nft host suggest writes nft, says that
		// it replaces the admin's table, and --diff counts only real changes
		ruleset, stderr, code := suggestRun(lab, nil, h.args...)
		if code != 0 || !strings.Contains(stderr, "note: writing an nft file") || !strings.Contains(ruleset, "delete table inet filter") {
			t.Fatalf("fwaudit suggest on a native nft host: exit %d, want 0, a note and a file that replaces table inet filter\nstdout:\n%s\nstderr:\n%s", code, ruleset, stderr)
		}
		stderrs = append(stderrs, stderr)
		want := 1
		if h.unchanged {
			want = 0
		}
		if stdout, stderr, code := suggestRun(lab, nil, append([]string{"--diff"}, h.args...)...); code != want {
			t.Errorf("suggest --diff (nft) before loading: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
		}
		lab.LoadNft(ruleset)
		if tables := lab.Host.Run("nft", "list", "tables"); strings.TrimSpace(tables) != "table inet fwaudit" {
			t.Errorf("after loading, nft list tables says:\n%s\nwant table inet fwaudit alone", tables)
		}
	case "ufw":
		// no --format: on a ufw host suggest speaks ufw, and says so
		script, stderr, code := suggestRun(lab, nil, h.args...)
		if code != 0 || !strings.Contains(stderr, "note: writing ufw commands") {
			t.Fatalf("fwaudit suggest on a ufw host: exit %d, want 0 and a note that it writes ufw commands\nstderr:\n%s", code, stderr)
		}
		stderrs = append(stderrs, stderr)
		if stdout, stderr, code := suggestRun(lab, nil, append([]string{"--diff"}, h.args...)...); code != 1 {
			t.Errorf("suggest --diff (ufw) before running the script: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		t.Logf("ufw script output:\n%s", lab.UfwScript(script))
		// only the suggestion's rules are left, each marked as such
		status := lab.Ufw("status", "numbered")
		n := 0
		for _, line := range strings.Split(status, "\n") {
			if strings.HasPrefix(line, "[") {
				n++
				if !strings.Contains(line, "# fwaudit ") {
					t.Errorf("ufw kept a rule that is not the suggestion's: %s", line)
				}
			}
		}
		if n == 0 {
			t.Errorf("ufw holds no rules after the script:\n%s", status)
		}
		checkUfwOrigins(t, lab, status)
	}
	all := strings.NewReplacer(" (ipv4)", "", " (ipv6)", "").Replace(strings.Join(stderrs, "\n"))
	for _, w := range h.warnings {
		if !strings.Contains(all, w) {
			t.Errorf("suggest's stderr lacks %q:\n%s", w, all)
		}
	}
	t.Logf("suggest's stderr:\n%s", all)

	// After: nothing closed before is open, ssh is where it was, and every
	// answer is the one pinned.
	for i, r := range lab.ProbeAll(reqs) {
		p := probes[i]
		want := p.before
		if a, ok := h.after[p.l.spec]; ok {
			k := a[0]
			if p.v6 {
				k = a[1]
			}
			m, _ := kernelWant(k, p.v6)
			want = m[p.src]
		}
		what := fmt.Sprintf("%s %s (%s) from %s", p.l.daemon, p.l.spec, famOf(p.v6), p.src)
		switch {
		case r.OK && !p.before:
			t.Errorf("WIDENED: %s was kept out before loading the suggestion and got in after", what)
		case p.l.daemon == "sshd" && p.before && !r.OK:
			t.Errorf("ssh cut: %s got in before loading the suggestion and not after (%s)", what, r.Detail)
		case r.OK != want:
			t.Errorf("%s: after loading got %q, want in=%v", what, r.Detail, want)
		}
	}

	// Suggesting again on the loaded suggestion changes nothing.
	if method == "restore" || method == "ufw" || method == "nft-native" {
		stdout, stderr, code := suggestRun(lab, nil, append([]string{"--diff"}, h.args...)...)
		if code != 0 || !strings.HasSuffix(stdout, "no changes\n") {
			t.Errorf("suggest --diff after loading: exit %d, want 0 and \"no changes\"\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	}
}

func famOf(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

// checkUfwOrigins runs fwaudit scan where ufw's files are the lab's (its
// private mount namespace) and requires every verdict decided by a rule
// of ufw's user chains to name that rule as `ufw status numbered`
// (status) numbers it.
func checkUfwOrigins(t *testing.T, lab *Lab, status string) {
	t.Helper()
	numbered := map[string]string{} // "4" -> the line's text, spaces squeezed
	for _, line := range strings.Split(status, "\n") {
		if !strings.HasPrefix(line, "[") {
			continue
		}
		num, rest, _ := strings.Cut(strings.TrimPrefix(line, "["), "]")
		numbered[strings.TrimSpace(num)] = strings.Join(strings.Fields(rest), " ")
	}
	out := lab.withUfw(cmdTimeout, "fwaudit scan", FwauditBin, "scan", "-o", "json")
	s := DecodeScan(t, out)
	named := 0
	for _, sock := range s.Sockets {
		if sock.Firewall == nil {
			continue
		}
		for _, fv := range []*FamilyVerdict{sock.Firewall.IPv4, sock.Firewall.IPv6} {
			if fv == nil || !strings.Contains(fv.Rule, "-user-input ") {
				continue
			}
			num, text, ok := strings.Cut(strings.TrimPrefix(fv.Origin, "ufw rule "), ": ")
			if !ok || numbered[num] != strings.Join(strings.Fields(text), " ") {
				t.Errorf("%s/%d: decided by %q, named %q; ufw status numbered says [%s] %q", sock.Proto, sock.Port, fv.Rule, fv.Origin, num, numbered[num])
				continue
			}
			named++
		}
	}
	if named == 0 {
		t.Errorf("no verdict was decided by a ufw user rule, so none was checked:\n%s", out)
	}
}
