package suggest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
)

// allowance is what a ruleset must do for one port in one family.
type allowance struct {
	fam     firewall.Family
	proto   string
	port    uint16
	addr    string   // bind address; "" for the wildcard
	sources []string // nil: open to the world; else restricted to exactly these
	iface   string   // bound to this device: restricted to it, from anywhere
	except  []string // open to the world but these
}

func open(fam firewall.Family, proto string, port uint16) allowance {
	return allowance{fam: fam, proto: proto, port: port}
}

func both(proto string, ports ...uint16) []allowance {
	var out []allowance
	for _, p := range ports {
		out = append(out, open(firewall.IPv4, proto, p), open(firewall.IPv6, proto, p))
	}
	return out
}

// intended lists, per host case, every allowance its ruleset must make,
// written out by hand (not derived from the Policy under test).
var intended = map[string][]allowance{
	"fresh":                both("tcp", 22),
	"fresh-noping-persist": both("tcp", 22),
	"mail":                 both("tcp", 25, 143, 465, 587, 993, 995, 5622),
	"db":                   both("tcp", 22, 80, 443),
	"db-allow": append(both("tcp", 80, 443),
		allowance{firewall.IPv4, "tcp", 22, "", []string{"198.51.100.0/24"}, "", nil},
		allowance{firewall.IPv6, "tcp", 22, "", []string{"2001:db8:2::/48"}, "", nil},
		allowance{firewall.IPv4, "tcp", 5432, "", []string{"192.0.2.0/24"}, "", nil}),
	"hostile": append(both("tcp", 22),
		open(firewall.IPv4, "tcp", 7001), open(firewall.IPv4, "tcp", 7002), open(firewall.IPv4, "tcp", 7003),
		open(firewall.IPv4, "tcp", 7004), open(firewall.IPv4, "tcp", 7005), open(firewall.IPv4, "tcp", 7008),
		open(firewall.IPv4, "tcp", 7009), open(firewall.IPv4, "tcp", 7010),
		allowance{firewall.IPv4, "udp", 7006, "192.0.2.10", nil, "", nil},
		allowance{firewall.IPv6, "tcp", 7007, "2001:db8::10", nil, "", nil}),
	"device-bound": append(both("tcp", 22),
		allowance{firewall.IPv4, "udp", 67, "", nil, "virbr0", nil},
		allowance{firewall.IPv4, "tcp", 8080, "", nil, "eth1", nil}),
	"carried-over": {
		{fam: firewall.IPv4, proto: "tcp", port: 22, except: []string{"198.51.100.7/32"}},
		{fam: firewall.IPv6, proto: "tcp", port: 22, except: []string{"2001:db8:bad::/48"}},
		{fam: firewall.IPv4, proto: "udp", port: 53, sources: []string{"192.0.2.2/31"}},
		{fam: firewall.IPv6, proto: "udp", port: 53, except: []string{"2001:db8:bad::/48"}},
		{fam: firewall.IPv4, proto: "tcp", port: 80, except: []string{"198.51.100.7/32"}},
		{fam: firewall.IPv6, proto: "tcp", port: 80, except: []string{"2001:db8:bad::/48"}},
		open(firewall.IPv4, "tcp", 443),
		{fam: firewall.IPv4, proto: "tcp", port: 5432, sources: []string{"192.0.2.0/24"}},
		{fam: firewall.IPv4, proto: "tcp", port: 8080, iface: "eth1"},
	},
}

// blockedProbes are ports nothing in the tests opens.
var blockedProbes = []struct {
	proto string
	port  uint16
}{{"tcp", 23}, {"tcp", 3306}, {"tcp", 5432}, {"udp", 53}, {"udp", 161}, {"tcp", 6379}, {"tcp", 8080}}

// checkAllowances evaluates rulesets of one family with our own evaluator
// and compares every listener's and probe port's verdict with intended.
func checkAllowances(t *testing.T, caseName string, fam firewall.Family, rs *firewall.Ruleset) {
	t.Helper()
	ev := firewall.NewEvaluator(fam, []*firewall.Ruleset{rs}, firewall.Host{})
	var hc hostCase
	for _, c := range hostCases(t) {
		if c.name == caseName {
			hc = c
		}
	}
	want, ok := intended[caseName]
	if !ok {
		t.Fatalf("no intended allowances for %s", caseName)
	}
	seen := map[string]bool{}
	for _, a := range want {
		if a.fam != fam {
			continue
		}
		addr := netip.IPv4Unspecified()
		if fam == firewall.IPv6 {
			addr = netip.IPv6Unspecified()
		}
		if a.addr != "" {
			addr = netip.MustParseAddr(a.addr)
		}
		seen[fmt.Sprintf("%s/%d", a.proto, a.port)] = true
		res := ev.Evaluate(firewall.Query{Proto: a.proto, Addr: addr, Port: a.port})
		if a.iface != "" {
			// on that interface from anywhere but loopback addresses (the
			// ruleset drops 127.0.0.0/8 arriving from outside)
			in := func(s string) bool {
				for _, p := range res.Sources {
					if p.Contains(netip.MustParseAddr(s)) {
						return true
					}
				}
				return len(res.Sources) == 0
			}
			if res.Verdict != firewall.Restricted || !slices.Equal(res.Interfaces, []string{a.iface}) ||
				!in("192.0.2.9") || !in("8.8.8.8") || !in("255.255.255.254") || in("127.0.0.1") {
				t.Errorf("%s %s/%d: verdict %s from %v on %v, want restricted to interface %s, from every non-loopback source", fam, a.proto, a.port, res.Verdict, res.Sources, res.Interfaces, a.iface)
			}
			continue
		}
		if a.except != nil {
			var got []string
			for _, e := range res.Except {
				if !e.Addr().IsLoopback() {
					got = append(got, e.String())
				}
			}
			if res.Verdict != firewall.Open || !slices.Equal(got, a.except) {
				t.Errorf("%s %s/%d: verdict %s except %v, want open except exactly %v (and loopback)", fam, a.proto, a.port, res.Verdict, got, a.except)
			}
			continue
		}
		if a.sources == nil {
			if res.Verdict != firewall.Open {
				t.Errorf("%s %s/%d on %s: verdict %s (rule %q), want open", fam, a.proto, a.port, addr, res.Verdict, res.Rule)
			}
			for _, e := range res.Except {
				if e.Addr().IsLoopback() == false {
					t.Errorf("%s %s/%d: open except %s, want only loopback ranges excepted", fam, a.proto, a.port, e)
				}
			}
			continue
		}
		var got []string
		for _, p := range res.Sources {
			got = append(got, p.String())
		}
		if res.Verdict != firewall.Restricted || !slices.Equal(got, a.sources) {
			t.Errorf("%s %s/%d: verdict %s from %v, want restricted to exactly %v", fam, a.proto, a.port, res.Verdict, got, a.sources)
		}
	}
	// Every other listener, and ports nobody opens, are blocked.
	type q struct {
		proto string
		port  uint16
		addr  netip.Addr
	}
	var others []q
	for _, l := range hc.listeners {
		if l.Exposure == "local" || seen[fmt.Sprintf("%s/%d", l.Proto, l.Port)] {
			continue
		}
		if fam == firewall.IPv6 && l.Family == "ipv4" || fam == firewall.IPv4 && l.Family == "ipv6" && !l.DualStack {
			continue
		}
		a := l.Address
		if fam == firewall.IPv4 && a.Is6() {
			a = netip.IPv4Unspecified()
		}
		others = append(others, q{l.Proto, l.Port, a})
	}
	for _, b := range blockedProbes {
		if !seen[fmt.Sprintf("%s/%d", b.proto, b.port)] {
			a := netip.IPv4Unspecified()
			if fam == firewall.IPv6 {
				a = netip.IPv6Unspecified()
			}
			others = append(others, q{b.proto, b.port, a})
		}
	}
	for _, o := range others {
		res := ev.Evaluate(firewall.Query{Proto: o.proto, Addr: o.addr, Port: o.port})
		if res.Verdict != firewall.Blocked {
			t.Errorf("%s %s/%d on %s: verdict %s (rule %q, sources %v), want blocked", fam, o.proto, o.port, o.addr, res.Verdict, res.Rule, res.Sources)
		}
	}
}

// TestRoundTrip parses every rendered iptables and ip6tables ruleset with
// our own parser and requires the evaluator to find exactly the intended
// allowances.
func TestRoundTrip(t *testing.T) {
	for _, hc := range hostCases(t) {
		p, _, err := Build(hc.listeners, hc.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			format string
			fam    firewall.Family
		}{{"iptables", firewall.IPv4}, {"ip6tables", firewall.IPv6}} {
			t.Run(hc.name+"/"+c.format, func(t *testing.T) {
				rs, err := firewall.ParseSave(bytes.NewReader(render(t, p, c.format)), c.format, c.fam)
				if err != nil {
					t.Fatalf("our parser rejects the rendered ruleset: %v", err)
				}
				checkAllowances(t, hc.name, c.fam, rs)
			})
		}
	}
}

// TestNftRoundTrip reads every rendered nft ruleset with the firewall
// package's nft front end (loaded into a throwaway network namespace and
// listed back as JSON) and requires exactly the intended allowances, as
// for the restore files: the nft output is judged on its own terms, not
// through its iptables twin.
func TestNftRoundTrip(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: reading nft text needs a network namespace (root); run `sudo make test`")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatalf("nft not installed (make test installs it): %v", err)
	}
	for _, hc := range hostCases(t) {
		p, _, err := Build(hc.listeners, hc.opts)
		if err != nil {
			t.Fatal(err)
		}
		n, err := firewall.LoadNftText(context.Background(), firewall.ExecRunner{}, render(t, p, "nft"), hc.name+".nft")
		if err != nil {
			t.Fatalf("%s: the nft front end cannot read our nft output: %v", hc.name, err)
		}
		for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
			t.Run(hc.name+"/nft/"+string(fam), func(t *testing.T) {
				checkAllowances(t, hc.name, fam, n.Family(fam))
			})
		}
	}
}

// TestScriptRuns runs every rendered script under bash with IPTABLES and
// IP6TABLES set to shell functions that record their arguments, and an
// empty PATH (no external command can run, whatever a broken quote let
// through). The recorded commands, turned back into iptables-save files,
// must be exactly the iptables renderings' rules and give the same
// allowances; no canary may have fired.
func TestScriptRuns(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash not installed: %v", err)
	}
	for _, hc := range hostCases(t) {
		p, _, err := Build(hc.listeners, hc.opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(hc.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "fwall-rules")
			if err := os.WriteFile(script, render(t, p, "script"), 0o755); err != nil {
				t.Fatal(err)
			}
			// Each call is recorded as NUL-separated arguments ending in
			// an empty argument; the family is the first word.
			driver := `rec() { printf '%s\0' "$@" ''; }
ipt4() { rec ipv4 "$@"; }
ipt6() { rec ipv6 "$@"; }
save4() { echo '*filter'; }
save6() { echo '*filter'; }
mktemp() { printf '%s\n' "` + dir + `/saved.tmp"; }
chmod() { :; }
mv() { rec mv "$@"; }
mkdir() { :; }
IPTABLES=ipt4 IP6TABLES=ipt6 IPTABLES_SAVE=save4 IP6TABLES_SAVE=save6 RULES_DIR=` + dir + `/persist
. "$1"
`
			cmd := exec.Command("bash", "-c", driver, "driver", script)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + filepath.Join(dir, "empty")}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if _, statErr := os.Stat(filepath.Join(dir, "CANARY")); statErr == nil {
				t.Fatalf("a process name was executed by the script (CANARY written)")
			}
			if strings.Contains(stderr.String(), "command not found") || strings.Contains(stderr.String(), "No such file") {
				t.Errorf("the script tried to run a command it should not:\n%s", stderr.String())
			}
			if err != nil {
				t.Fatalf("script failed: %v\n%s", err, stderr.String())
			}
			v4, v6, echoes := replay(t, stdout.Bytes())
			for _, c := range []struct {
				format string
				fam    firewall.Family
				got    string
			}{{"iptables", firewall.IPv4, v4}, {"ip6tables", firewall.IPv6, v6}} {
				want := filterRules(string(render(t, p, c.format)))
				if got := filterRules(c.got); got != want {
					t.Errorf("%s: the script's rules differ from the %s rendering (-want +got):\n%s", c.fam, c.format, lineDiff(want, got))
				}
				rs, err := firewall.ParseSave(strings.NewReader(c.got), "script "+string(c.fam), c.fam)
				if err != nil {
					t.Fatalf("our parser rejects the script's %s rules: %v\n%s", c.fam, err, c.got)
				}
				checkAllowances(t, hc.name, c.fam, rs)
			}
			if p.Persist && !strings.Contains(stdout.String(), "mv\x00") {
				t.Errorf("--persist: the script never moved the saved rules into place")
			}
			if !strings.HasPrefix(echoes, " * accepting everything") {
				t.Errorf("script output does not start with the ACCEPT step:\n%s", echoes)
			}
		})
	}
}

// replay turns the recorded calls back into one iptables-save file per
// family (quoting string arguments as iptables-save does) and returns the
// script's own echo output.
func replay(t *testing.T, out []byte) (v4, v6, echoes string) {
	t.Helper()
	var b4, b6, other strings.Builder
	policies := map[string]map[string]string{"ipv4": {}, "ipv6": {}}
	fields := strings.Split(string(out), "\x00")
	var call []string
	flush := func() {
		if len(call) == 0 {
			return
		}
		fam, args := call[0], call[1:]
		b := &b4
		if fam == "ipv6" {
			b = &b6
		}
		switch {
		case fam == "mv":
		case len(args) == 3 && args[0] == "-P":
			policies[fam][args[1]] = args[2]
		case len(args) == 1 && (args[0] == "-F" || args[0] == "-X"):
		case len(args) > 2 && args[0] == "-A":
			b.WriteString(saveLine(args) + "\n")
		default:
			t.Errorf("unexpected command in the script: %s %q", fam, args)
		}
		call = nil
	}
	for i, f := range fields {
		// Echo output is interleaved with the records: it precedes a
		// record's first field on the same "line".
		if len(call) == 0 {
			if j := strings.LastIndex(f, "\n"); j >= 0 {
				other.WriteString(f[:j+1])
				f = f[j+1:]
			}
		}
		if f == "" && len(call) > 0 {
			flush()
			continue
		}
		if i == len(fields)-1 {
			other.WriteString(f)
			break
		}
		call = append(call, f)
	}
	header := func(fam string) string {
		pol := policies[fam]
		return fmt.Sprintf("*filter\n:INPUT %s [0:0]\n:FORWARD %s [0:0]\n:OUTPUT %s [0:0]\n", pol["INPUT"], pol["FORWARD"], pol["OUTPUT"])
	}
	return header("ipv4") + b4.String() + "COMMIT\n", header("ipv6") + b6.String() + "COMMIT\n", other.String()
}

// filterRules keeps what a restore loads: the table, policies and rules.
func filterRules(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
