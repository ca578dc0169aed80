//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Never wider over every ruleset we have: each iptables and nft ruleset in
// testdata/ and e2e/testdata/ (the corpus copies included) is loaded in a
// lab host whose outside interfaces are named as the rules name them (at
// least two), with listeners on the ports the rules name (at most
// maxWidenPorts of them) and on tcp/22, tcp/80 and udp/53; every listener
// is probed from both sources of each family on every interface, each
// suggestion format is loaded in place (widen_test.go), and every probe runs
// again. Nothing refused before may be accepted after, and ssh accepted
// before must be accepted after.
//
// `make test` runs neverWiderSubset, a fixed representative set (iptables
// and nft, corpus and our own, blocklists, interfaces, Docker, ufw,
// firewalld, a knock). FWAUDIT_NEVERWIDER_ALL=1 runs every ruleset (133
// distinct ones in 152 files: rules kept in several places are measured
// once).
//
// A ruleset the kernel does not take (a fragment, syntax older than this
// kernel's tools) is counted and named in the log, not measured.

// neverWiderSubset names the rulesets measured by default (paths as in
// the case names).
var neverWiderSubset = []string{
	"testdata/rules/ufw-server2-diekmann.iptables-save",
	"testdata/rules/firewalld-fedora27-counters.iptables-save",
	"testdata/rules/gopherproxy-blocklist-diekmann.iptables-save",
	"testdata/rules/medium-company-nat-diekmann.iptables-save",
	"testdata/rules/docker-nft-free5gc-tailscale.iptables-save",
	"testdata/rules/nft-sample-ruleset-vmaps.nft",
	"testdata/rules/nft-portknock-ssh.nft",
	"testdata/rules/debian12-default-nftables.conf",
	"e2e/testdata/interfaces.rules",
	"e2e/testdata/nowiden-blocklist.rules",
	"e2e/testdata/nft/fib-rpfilter.nft",
	"e2e/testdata/nft/ban-set.nft",
}

// knownWiden lists, in one place, the rulesets whose widenings are known
// and not fixed yet, with what causes them; they are logged (as KNOWN
// FAILURE, with every widening), not failed. Remove an entry once its fix
// lands.
var knownWiden = map[string]string{}

// maxWidenPorts bounds the ports taken from one ruleset.
const maxWidenPorts = 8

// widenCase is one ruleset to load: iptables-save text per family, or nft.
type widenCase struct {
	name        string // the v4 file's path (or the only file's)
	v4, v6, nft string
	// also are the other places the same texts are kept (a corpus
	// file copied beside a test's): measured once, under name
	also []string
}

// named: the case is kept at path.
func (c widenCase) named(path string) bool { return c.name == path || slices.Contains(c.also, path) }

func (c widenCase) text() string { return c.v4 + c.v6 + c.nft }

// widenCases finds every ruleset under the module's testdata directories.
func widenCases(t *testing.T) []widenCase {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*widenCase{}
	var keys []string
	for _, dir := range []string{"testdata", "e2e/testdata"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			base := d.Name()
			if strings.Contains(rel, "golden") || strings.Contains(rel, "broken") || strings.Contains(base, "bogon") {
				return nil
			}
			kind := ""
			switch {
			case strings.HasSuffix(base, ".nft") || strings.HasSuffix(base, "nftables.conf"):
				kind = "nft"
			case strings.Contains(base, "ip6tables") || strings.HasSuffix(base, ".rules6") || strings.HasSuffix(base, ".v6"):
				kind = "v6"
			case strings.Contains(base, "iptables") && strings.Contains(base, "save") || strings.HasSuffix(base, ".rules") || strings.HasSuffix(base, ".v4"):
				kind = "v4"
			default:
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			key := rel
			if kind == "v6" {
				key = strings.NewReplacer("ip6tables", "iptables", ".rules6", ".rules", ".v6", ".v4").Replace(rel)
			}
			c := byKey[key]
			if c == nil {
				c = &widenCase{name: key}
				byKey[key] = c
				keys = append(keys, key)
			}
			switch kind {
			case "nft":
				c.nft = string(b)
			case "v4":
				c.v4 = string(b)
			case "v6":
				c.v6 = string(b)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(keys)
	var out []widenCase
	seen := map[[3]string]int{}
	for _, k := range keys {
		c := byKey[k]
		id := [3]string{c.v4, c.v6, c.nft}
		if i, ok := seen[id]; ok {
			out[i].also = append(out[i].also, c.name)
			continue
		}
		seen[id] = len(out)
		out = append(out, *c)
	}
	return out
}

var (
	ifaceRes = []*regexp.Regexp{
		regexp.MustCompile(`(?:^|\s)(?:-i|--in-interface)\s+(?:!\s+)?([A-Za-z0-9_.-]+\+?)`),
		regexp.MustCompile(`\biifname\s+(?:!=\s*)?"?([A-Za-z0-9_.-]+\*?)"?`),
		regexp.MustCompile(`\bdevice\s+"?([A-Za-z0-9_.-]+)"?`),
	}
	ifaceSetRe = regexp.MustCompile(`\biifname\s+(?:!=\s*)?\{([^}]*)\}`)
	portRe     = regexp.MustCompile(`(?:--dports?|dport)\s+(?:!\s*|!=\s*)?(\{[^}]*\}|[0-9][0-9,:-]*)`)
	numRe      = regexp.MustCompile(`[0-9]+`)
)

// widenIfaces are the input interfaces the rules name (a wildcard made
// concrete), at most four, padded to two with eth0 and eth1.
func widenIfaces(text string) []string {
	var out []string
	add := func(n string) {
		n = strings.Trim(n, `" `)
		n = strings.NewReplacer("+", "0", "*", "0").Replace(n)
		if n == "" || n == "lo" || n == "veth0" || n == "vmap" || n == "map" || len(n) > 15 || slices.Contains(out, n) || len(out) >= 4 {
			return
		}
		if _, err := strconv.Atoi(n); err == nil {
			return
		}
		out = append(out, n)
	}
	for _, re := range ifaceRes {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			add(m[1])
		}
	}
	for _, m := range ifaceSetRe.FindAllStringSubmatch(text, -1) {
		for _, n := range strings.Split(m[1], ",") {
			add(n)
		}
	}
	for _, n := range []string{"eth0", "eth1"} {
		if len(out) < 2 {
			add(n)
		}
	}
	return out
}

// widenPorts are the destination ports the rules name (the first of a
// range), at most maxWidenPorts, and tcp/22, tcp/80, udp/53.
func widenPorts(text string) []PortSpec {
	out := []PortSpec{{"tcp", 22}, {"tcp", 80}, {"udp", 53}}
	extra := 0
	for _, line := range strings.Split(text, "\n") {
		proto := "tcp"
		if strings.Contains(line, "udp") {
			proto = "udp"
		}
		for _, m := range portRe.FindAllStringSubmatch(line, -1) {
			for _, group := range strings.Split(strings.Trim(m[1], "{}"), ",") {
				n := numRe.FindString(group)
				p, err := strconv.Atoi(n)
				if err != nil || p <= 0 || p > 65535 || extra >= maxWidenPorts {
					continue
				}
				ps := PortSpec{proto, uint16(p)}
				if !slices.Contains(out, ps) {
					out = append(out, ps)
					extra++
				}
			}
		}
	}
	return out
}

// widenTotals adds up the measurement for the log.
type widenTotals struct {
	mu                                 sync.Mutex
	rulesets, checks, widened, cut     int
	notLoadable, refused, knownRuleset []string
}

func TestNeverWiderEveryRuleset(t *testing.T) {
	RequireRoot(t)
	all := os.Getenv("FWAUDIT_NEVERWIDER_ALL") == "1"
	cases := widenCases(t)
	var run []widenCase
	for _, c := range cases {
		if all || slices.ContainsFunc(neverWiderSubset, c.named) {
			run = append(run, c)
		}
	}
	for _, name := range neverWiderSubset {
		if !slices.ContainsFunc(cases, func(c widenCase) bool { return c.named(name) }) {
			t.Fatalf("the subset names %s, which is not there", name)
		}
	}
	var tot widenTotals
	t.Run("rulesets", func(t *testing.T) {
		for _, c := range run {
			t.Run(strings.ReplaceAll(c.name, "/", "_"), func(t *testing.T) {
				t.Parallel()
				measureRuleset(t, c, &tot)
			})
		}
	})
	files := 0
	for _, c := range cases {
		files += 1 + len(c.also)
	}
	t.Logf("%d distinct rulesets in %d files (the same rules kept in several places are measured once)", len(cases), files)
	t.Logf("never wider: %d of %d rulesets measured (%s); %d checks, %d widenings, %d ssh cuts; suggest refused %d formats (ssh behind runtime state); not loadable: %d %v; known failures: %v",
		tot.rulesets, len(run), map[bool]string{true: "all", false: "the subset; FWAUDIT_NEVERWIDER_ALL=1 for all " + strconv.Itoa(len(cases))}[all],
		tot.checks, tot.widened, tot.cut, len(tot.refused), len(tot.notLoadable), tot.notLoadable, tot.knownRuleset)
}

func measureRuleset(t *testing.T, c widenCase, tot *widenTotals) {
	lab := NewLab(t)
	var links []*Link
	for _, n := range widenIfaces(c.text()) {
		links = append(links, lab.AddLink(n))
	}
	ports := widenPorts(c.text())
	load := func() error {
		for _, l := range []struct{ text, tool string }{{c.v4, "iptables-restore"}, {c.v6, "ip6tables-restore"}, {c.nft, "nft"}} {
			if l.text == "" {
				continue
			}
			args := []string{l.tool}
			if l.tool == "nft" {
				args = append(args, "-f", "-")
			}
			if _, stderr, err := lab.Host.Exec([]byte(l.text), args...); err != nil {
				return fmt.Errorf("%s: %v: %s", l.tool, err, firstLine(stderr))
			}
		}
		return nil
	}
	if err := load(); err != nil {
		tot.mu.Lock()
		tot.notLoadable = append(tot.notLoadable, c.name)
		tot.mu.Unlock()
		t.Logf("not loadable here, not measured: %v", err)
		return
	}
	lab.startPorts(ports)
	w := &widenRun{lab: lab, links: links, ports: ports, load: load}
	st := w.measure(t)
	if len(c.also) > 0 {
		t.Logf("the same rules are kept at %s", strings.Join(c.also, ", "))
	}
	t.Logf("%s: interfaces %v, %d ports, %d checks, %d widened, %d ssh cut, refused %v", c.name, widenIfaces(c.text()), len(ports), st.Checks, len(st.Widened), len(st.Cut), st.Refused)
	tot.mu.Lock()
	tot.rulesets++
	tot.checks += st.Checks
	tot.widened += len(st.Widened)
	tot.cut += len(st.Cut)
	tot.refused = append(tot.refused, st.Refused...)
	tot.mu.Unlock()
	why, known := knownWiden[c.name]
	for _, a := range c.also {
		if w, ok := knownWiden[a]; ok && !known {
			why, known = w, true
		}
	}
	if known && (len(st.Widened) > 0 || len(st.Cut) > 0) {
		tot.mu.Lock()
		tot.knownRuleset = append(tot.knownRuleset, c.name)
		tot.mu.Unlock()
		t.Skipf("KNOWN FAILURE (%s): %d widenings, %d cuts: %s", why, len(st.Widened), len(st.Cut), strings.Join(append(st.Widened, st.Cut...), "; "))
	}
	for _, w := range st.Widened {
		t.Errorf("WIDENED: %s", w)
	}
	for _, c := range st.Cut {
		t.Errorf("ssh cut: %s", c)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
