package firewall

// An oracle test against fffuu, the Isabelle/HOL-verified iptables analyser
// (Diekmann et al., "Verified iptables Firewall Analysis", IFIP Networking
// 2016). testdata/fffuu/fffuu-out/NAME/IFACE.txt holds what it answered for
// the INPUT chain of testdata/fffuu/rulesets/NAME.iptables-save when all
// traffic arrives on IFACE (IFACE.ipassmt gives IFACE 0.0.0.0/0 and every
// other interface nothing; ffout0 is an interface the rules do not name).
// For each source port it samples and destination ports 22 and 80 it gives
// two service matrices over a partition of the IPv4 space:
//
//	MATRIX upper SPORT DPORT    its over-approximation of what is accepted
//	MATRIX swapped SPORT DPORT  the same for the chain with ACCEPT and DROP
//	                            swapped: what may be dropped
//	NODE REP {a .. b} u {c .. d}  one class of addresses, named by REP
//	EDGE X Y                    sources in class X reach destinations in Y
//	END-MATRIX
//
// So for a destination d, the sources that can possibly be accepted are
// the classes with an edge to d's class in "upper", and those surely
// accepted are the complement of the classes with an edge to d's class in
// "swapped". Whatever fwaudit says is accepted must lie between the two
// (and equal them where they coincide, never conditional there). raw.PREROUTING/ holds the same for
// the raw table, which can drop before INPUT: a packet is accepted only if
// both accept it.
//
// fffuu assumes a NEW connection's first packet (ctstate NEW, a SYN), as
// fwaudit does, and treats every match it does not know (limit, recent,
// addrtype, ...) as possibly true either way. It models neither NAT nor
// the reply path, so the test removes the nat table and empties the
// output chains before fwaudit evaluates; see prepareForFffuu.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fffuuPorts are the destination ports fffuu's matrices were computed for.
var fffuuPorts = []uint16{22, 80}

// fffuuDiff is one (ruleset, interface, destination, port) where fwaudit
// and fffuu's bounds disagree, as recorded in knownBugs or fffuuExpected:
// the test asserts it still disagrees, so whoever fixes the cause must
// remove the entry.
type fffuuDiff struct {
	ruleset, iface, dst string
	port                uint16
}

// offline is the interface column of fffuuDiff for the zero Host.
const offline = "(offline)"

// knownBugs are disagreements where the rules show fwaudit is wrong. The
// value says why.
var knownBugs = map[fffuuDiff]string{}

// fffuuExpected are disagreements where fwaudit knows more than fffuu and
// is right; the value says why.
var fffuuExpected = map[fffuuDiff]string{}

// rawNotAnalysed are rulesets whose raw table can drop or untrack a tcp
// packet but has no fffuu answer, and whether the test keeps it (then any
// difference it makes must be listed in fffuuExpected) or removes it.
var rawNotAnalysed = map[string]struct {
	keep bool
	why  string
}{
	// fffuu's raw.PREROUTING run failed (DRIVER-FAILED): the table drops
	// spoofed sources per VLAN and sets --notrack
	"home-user-router": {false, "raw.PREROUTING not analysed by fffuu (DRIVER-FAILED)"},
	// NOTRACK for two /32 sources arriving on eth1.1011 (and udp 53);
	// fffuu's INPUT answer assumes ctstate NEW for them
	"tum-2014-07-25": {true, "NOTRACK from 131.159.14.197 and .221 on eth1.1011"},
	"tum-2015-05-13": {true, "NOTRACK from 131.159.14.197 and .221 on eth1.1011"},
	"tum-2015-05-15": {true, "NOTRACK from 131.159.14.197 and .221 on eth1.1011"},
	"tum-2015-09-03": {true, "NOTRACK from 131.159.14.197 and .221 on eth1.1011"},
}

var fffuuVerbose = flag.Bool("fffuu.v", false, "log every comparison of TestFffuuOracle")

func TestFffuuOracle(t *testing.T) {
	const dir = "testdata/fffuu"
	files, err := filepath.Glob(filepath.Join(dir, "rulesets", "*.iptables-save"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rulesets in %s/rulesets: %v", dir, err)
	}
	seen := map[fffuuDiff]bool{} // entries of knownBugs and fffuuExpected that still differ
	var compared, exact int
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".iptables-save")
		t.Run(name, func(t *testing.T) {
			rs, answers := loadFffuuCase(t, dir, name, file)
			// report compares one result with fffuu's bounds (and msg, the
			// findings of other checks) and records the outcome
			report := func(where string, d netip.Addr, port uint16, res Result, got, lower, upper ivSet, msg []string) {
				t.Helper()
				compared++
				if lower.equal(upper) {
					exact++
				}
				if *fffuuVerbose {
					t.Logf("%s, tcp %s:%d: %s %v %s; fffuu: surely %s, possibly %s", where, d, port, res.Verdict, res.Interfaces, got, lower, upper)
				}
				if lower.equal(upper) && res.Verdict == Conditional {
					// fffuu's bounds coincide: the answer does not depend on
					// runtime state, so a conditional verdict is a gap of ours
					msg = append(msg, fmt.Sprintf("conditional (%s) where fffuu's bounds coincide", strings.Join(res.Reasons, "; ")))
				}
				if lower.equal(upper) && len(res.Doubtful) > 0 {
					msg = append(msg, fmt.Sprintf("%s in doubt (%s) where fffuu's bounds coincide", prefixStrings(res.Doubtful), strings.Join(res.Reasons, "; ")))
				}
				// the certain part of a verdict with sources in doubt is
				// surely accepted (where fffuu saw the whole path)
				if sure, _ := resultSources(Result{Verdict: res.Verdict, Sources: res.Sources, Except: res.Except}); len(res.Doubtful) > 0 && !rawNotAnalysed[name].keep {
					if extra := sure.minus(lower); !extra.empty() {
						msg = append(msg, fmt.Sprintf("certainly accepted by fwaudit but not surely: %s", extra))
					}
				}
				if miss := lower.minus(got); !miss.empty() {
					msg = append(msg, fmt.Sprintf("surely accepted but not by fwaudit: %s", miss))
				}
				if extra := got.minus(upper); !extra.empty() {
					msg = append(msg, fmt.Sprintf("accepted by fwaudit but not possibly: %s", extra))
				}
				key := fffuuDiff{name, where, d.String(), port}
				why, isBug := knownBugs[key]
				if !isBug {
					why = fffuuExpected[key]
				}
				switch {
				case len(msg) > 0 && why != "":
					seen[key] = true
				case len(msg) > 0:
					t.Errorf("%s, tcp %s:%d (%s %v, rule %q): %s", where, d, port, res.Verdict, res.Interfaces, res.Rule, strings.Join(msg, "; "))
				case why != "":
					t.Errorf("%s, tcp %s:%d agrees with fffuu now; remove its entry (%s)", where, d, port, why)
				}
			}
			var all []*fffuuAnswer
			var ifaces []string
			for iface, bounds := range answers {
				all = append(all, bounds...)
				ifaces = append(ifaces, iface)
			}
			sort.Strings(ifaces)
			dsts := fffuuDestinations(all)

			// per interface: the host has just that one, and d
			type dp struct {
				d    netip.Addr
				port uint16
			}
			gotOn := map[string]map[dp]ivSet{}
			for _, iface := range ifaces {
				gotOn[iface] = map[dp]ivSet{}
				for _, d := range dsts {
					ev := NewEvaluator(IPv4, []*Ruleset{rs}, Host{Interfaces: []string{iface}, Addrs: []netip.Addr{d}})
					for _, port := range fffuuPorts {
						lower, upper := fffuuBounds(t, answers[iface], d, port)
						res := ev.Evaluate(Query{Proto: "tcp", Addr: d, Port: port})
						got, ok := resultSources(res)
						var msg []string
						if !ok {
							msg = append(msg, "no set of sources")
						}
						if len(res.Interfaces) > 0 {
							msg = append(msg, fmt.Sprintf("limited to interfaces %v on a host with only %s", res.Interfaces, iface))
						}
						gotOn[iface][dp{d, port}] = got
						report(iface, d, port, res, got, lower, upper, msg)
					}
				}
			}

			// offline (the zero Host): the interfaces the rules name and
			// a generic one, which are those of fffuu's answers; a source
			// counts if one of them lets it in. Besides fffuu's bounds, the
			// answer must be the union of the per-interface answers, and a
			// verdict limited to interfaces must name those that accept.
			ev := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
			for _, port := range fffuuPorts {
				wild := map[string][3]ivSet{} // per interface: lower, upper, fwaudit
				check := func(d netip.Addr, per map[string][3]ivSet) {
					res := ev.Evaluate(Query{Proto: "tcp", Addr: d, Port: port})
					got, ok := resultSources(res)
					var msg []string
					if !ok {
						msg = append(msg, "no set of sources")
					}
					var lower, upper, union ivSet
					var accepting []string
					genericAccepts := false
					for _, iface := range ifaces {
						b := per[iface]
						lower, upper, union = lower.union(b[0]), upper.union(b[1]), union.union(b[2])
						if !b[2].minus(loopback4).empty() {
							if iface == fffuuGeneric {
								genericAccepts = true
							} else {
								accepting = append(accepting, iface)
							}
						}
					}
					got, union = got.minus(loopback4), union.minus(loopback4)
					if !got.equal(union) {
						msg = append(msg, fmt.Sprintf("not the union of the per-interface answers: %s more, %s fewer",
							got.minus(union), union.minus(got)))
					}
					if len(res.Interfaces) > 0 {
						switch {
						case len(res.Doubtful) > 0:
							// the interfaces limit the certain part; the
							// doubt may be anywhere
						case res.Verdict != Restricted:
							msg = append(msg, fmt.Sprintf("%s limited to interfaces", res.Verdict))
						case genericAccepts:
							msg = append(msg, fmt.Sprintf("limited to %v, but accepted on an interface the rules do not name", res.Interfaces))
						case strings.Join(res.Interfaces, " ") != strings.Join(accepting, " "):
							msg = append(msg, fmt.Sprintf("limited to %v, but the interfaces accepting are %v", res.Interfaces, accepting))
						}
						for _, iface := range ifaces {
							if lo := per[iface][0].minus(loopback4); !lo.empty() && !slices.Contains(res.Interfaces, iface) {
								msg = append(msg, fmt.Sprintf("not on %s, where fffuu says %s are surely accepted", iface, lo))
							}
						}
					}
					report(offline, d, port, res, got, lower.minus(loopback4), upper.minus(loopback4), msg)
				}
				for _, d := range dsts {
					per := map[string][3]ivSet{}
					for _, iface := range ifaces {
						lo, up := fffuuBounds(t, answers[iface], d, port)
						per[iface] = [3]ivSet{lo, up, gotOn[iface][dp{d, port}]}
						w := wild[iface]
						wild[iface] = [3]ivSet{w[0].union(lo), w[1].union(up), w[2].union(gotOn[iface][dp{d, port}])}
					}
					check(d, per)
				}
				// a wildcard bind: any unicast address the host may have
				check(netip.IPv4Unspecified(), wild)
			}
		})
	}
	for k := range knownBugs {
		if !seen[k] && !t.Failed() {
			t.Errorf("knownBugs entry %v was not compared", k)
		}
	}
	for k := range fffuuExpected {
		if !seen[k] && !t.Failed() {
			t.Errorf("fffuuExpected entry %v was not compared", k)
		}
	}
	t.Logf("%d comparisons (%d where fffuu's bounds coincide), %d known bugs, %d expected differences",
		compared, exact, len(knownBugs), len(fffuuExpected))
}

// fffuuGeneric is fffuu's name for an interface the rules do not name.
const fffuuGeneric = "ffout0"

// loadFffuuCase parses a ruleset, reduces it to what fffuu analysed, and
// reads fffuu's answers for it by interface: the filter table's, and the
// raw table's where fffuu analysed that.
func loadFffuuCase(t *testing.T, dir, name, file string) (*Ruleset, map[string][]*fffuuAnswer) {
	t.Helper()
	rs := parseFffuuRuleset(t, file)
	out := filepath.Join(dir, "fffuu-out", name)
	assmts, err := filepath.Glob(filepath.Join(out, "*.ipassmt"))
	if err != nil || len(assmts) == 0 {
		t.Fatalf("no fffuu answers in %s", out)
	}
	rawDir := filepath.Join(out, "raw.PREROUTING")
	_, err = os.Stat(rawDir)
	withRaw := err == nil
	if _, ok := rawNotAnalysed[name]; ok && withRaw {
		// an answer exists but is unusable: check that it failed
		txts, _ := filepath.Glob(filepath.Join(rawDir, "*.txt"))
		for _, txt := range txts {
			if b, err := os.ReadFile(txt); err != nil || !strings.Contains(string(b), "\nDRIVER-FAILED") {
				t.Fatalf("%s is not a failed run (%v)", txt, err)
			}
		}
		withRaw = false
	}
	prepareForFffuu(t, name, rs, withRaw)
	answers := map[string][]*fffuuAnswer{}
	for _, assmt := range assmts {
		base := strings.TrimSuffix(filepath.Base(assmt), ".ipassmt")
		iface := fffuuIface(t, assmt)
		if iface != base {
			t.Fatalf("%s gives all addresses to %q, not to %q", assmt, iface, base)
		}
		bounds := []*fffuuAnswer{readFffuu(t, filepath.Join(out, base+".txt"))}
		if withRaw {
			bounds = append(bounds, readFffuu(t, filepath.Join(rawDir, base+".txt")))
		}
		for _, b := range bounds {
			checkSportsCovered(t, rs, b)
		}
		answers[iface] = bounds
	}
	if answers[fffuuGeneric] == nil {
		t.Fatalf("no answer for the generic interface %s", fffuuGeneric)
	}
	return rs, answers
}

func parseFffuuRuleset(t *testing.T, file string) *Ruleset {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, info, err := ParseSaveInfo(f, file, IPv4)
	if err != nil {
		t.Fatalf("parsing: %v", err)
	}
	if info.Fragment() {
		// every file is iptables-save output (some from kernels before
		// 2.6.36, whose nat table has no INPUT chain): none leaves a
		// policy that could drop unset, or every verdict would be
		// conditional
		t.Errorf("read as a restore fragment: %q undeclared", info.Undeclared)
	}
	return rs
}

// prepareForFffuu reduces rs to what fffuu analysed. fffuu models neither
// NAT nor the reply path: the nat table goes (a DNAT would take the packet
// elsewhere), and every output chain is emptied with policy ACCEPT (fwaudit
// makes a TCP SYN-ACK pass them). Every other table that can drop or
// untrack a tcp packet must be one fffuu analysed (filter, and raw when
// withRaw) or be listed in rawNotAnalysed, which says whether it stays.
func prepareForFffuu(t *testing.T, name string, rs *Ruleset, withRaw bool) {
	t.Helper()
	var kept []*Table
	used := false
	for _, tb := range rs.Tables {
		if tb.Name == "nat" {
			continue
		}
		canDrop := false
		for _, c := range tb.Chains {
			if c.Name == "OUTPUT" || c.Name == "POSTROUTING" {
				c.Rules, c.Policy = nil, "ACCEPT"
				continue
			}
			if c.Policy != "" && c.Policy != "ACCEPT" {
				canDrop = true
			}
			for _, r := range c.Rules {
				if r.Proto() != "" && r.Proto() != "tcp" && r.Proto() != "6" && !r.ProtoNeg() {
					continue // cannot touch a tcp packet
				}
				switch {
				case r.Target == "DROP", r.Target == "REJECT", r.Target == "NOTRACK",
					strings.Contains(r.Text, "--notrack"):
					canDrop = true
				}
			}
		}
		switch {
		case !canDrop || tb.Name == "filter" || tb.Name == "raw" && withRaw:
		case tb.Name == "raw" && rawNotAnalysed[name].why != "":
			used = true
			if !rawNotAnalysed[name].keep {
				t.Logf("raw table removed: %s", rawNotAnalysed[name].why)
				continue
			}
			t.Logf("raw table kept: %s", rawNotAnalysed[name].why)
		default:
			t.Fatalf("table %s can drop or untrack, and fffuu did not analyse it", tb.Name)
		}
		kept = append(kept, tb)
	}
	if _, listed := rawNotAnalysed[name]; listed != used {
		t.Fatalf("rawNotAnalysed lists %s: %v, but its raw table needs it: %v", name, listed, used)
	}
	rs.Tables = kept
}

// fffuuIface reads an .ipassmt file and returns the one interface given
// the whole address space.
func fffuuIface(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, val, ok := strings.Cut(line, " = ")
		if !ok {
			t.Fatalf("%s line %d: %q is not NAME = [...]", file, i+1, line)
		}
		switch val {
		case "[0.0.0.0/0]":
			all = append(all, name)
		case "[]":
		default:
			t.Fatalf("%s line %d: unexpected assignment %q", file, i+1, line)
		}
	}
	if len(all) != 1 {
		t.Fatalf("%s: %d interfaces get every address, want 1", file, len(all))
	}
	return all[0]
}

// fffuuMatrix is one service matrix: the classes of a partition of the
// address space, and which class reaches which.
type fffuuMatrix struct {
	classes map[string]ivSet // by representative
	edges   map[string][]string
}

type fffuuKey struct {
	kind         string // "upper" or "swapped"
	sport, dport uint16
}

type fffuuAnswer struct {
	file     string
	matrices map[fffuuKey]*fffuuMatrix
	sports   []uint16 // sampled source ports, sorted
}

var fffuuRange = regexp.MustCompile(`^\{([0-9.]+) \.\. ([0-9.]+)\}$`)

// readFffuu parses the matrices of one fffuu answer; the rest of the file
// (the parser output and simplified rulesets) is for people.
func readFffuu(t *testing.T, file string) *fffuuAnswer {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := &fffuuAnswer{file: file, matrices: map[fffuuKey]*fffuuMatrix{}}
	sports := map[uint16]bool{}
	var cur *fffuuMatrix
	sane := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	n := 0
	fail := func(format string, args ...any) {
		t.Fatalf("%s line %d: %s", file, n, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "DRIVER-FAILED":
			fail("fffuu failed: %s", line)
		case f[0] == "SANITY-DEFINED":
			sane = true
		case f[0] == "MATRIX":
			if len(f) != 4 || cur != nil || (f[1] != "upper" && f[1] != "swapped") {
				fail("bad MATRIX line %q", line)
			}
			sp, err1 := strconv.ParseUint(f[2], 10, 16)
			dp, err2 := strconv.ParseUint(f[3], 10, 16)
			if err := errors.Join(err1, err2); err != nil {
				fail("bad MATRIX line %q: %v", line, err)
			}
			cur = &fffuuMatrix{classes: map[string]ivSet{}, edges: map[string][]string{}}
			k := fffuuKey{f[1], uint16(sp), uint16(dp)}
			if a.matrices[k] != nil {
				fail("matrix %v given twice", k)
			}
			a.matrices[k] = cur
			sports[uint16(sp)] = true
		case f[0] == "NODE" && cur != nil:
			_, rest, _ := strings.Cut(line, " ")
			rep, rest, _ := strings.Cut(rest, " ")
			var s ivSet
			for _, part := range strings.Split(rest, " u ") {
				m := fffuuRange.FindStringSubmatch(part)
				if m == nil && !strings.ContainsAny(part, "{ ") {
					m = []string{part, part, part} // a single address
				}
				if m == nil {
					fail("bad range %q", part)
				}
				lo, err1 := netip.ParseAddr(m[1])
				hi, err2 := netip.ParseAddr(m[2])
				if err := errors.Join(err1, err2); err != nil || !lo.Is4() || !hi.Is4() || hi.Less(lo) {
					fail("bad range %q: %v", part, err)
				}
				s = s.union(ivSet{{v4(lo), v4(hi)}})
			}
			if !s.contains(v4(netip.MustParseAddr(rep))) {
				fail("class %s does not contain its name", rep)
			}
			cur.classes[rep] = s
		case f[0] == "EDGE" && cur != nil && len(f) == 3:
			cur.edges[f[2]] = append(cur.edges[f[2]], f[1])
		case f[0] == "END-MATRIX" && cur != nil:
			all := ivSet{}
			for _, s := range cur.classes {
				if !all.intersect(s).empty() {
					fail("classes overlap")
				}
				all = all.union(s)
			}
			if !all.equal(ivFull) {
				fail("classes do not cover the address space")
			}
			for dst, srcs := range cur.edges {
				for _, c := range append(srcs, dst) {
					if _, ok := cur.classes[c]; !ok {
						fail("edge names unknown class %s", c)
					}
				}
			}
			cur = nil
		case cur != nil:
			fail("unexpected %q in a matrix", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	if !sane || cur != nil {
		t.Fatalf("%s: no SANITY-DEFINED line or an unfinished matrix", file)
	}
	for p := range sports {
		a.sports = append(a.sports, p)
	}
	sort.Slice(a.sports, func(i, j int) bool { return a.sports[i] < a.sports[j] })
	for _, sp := range a.sports {
		for _, dp := range fffuuPorts {
			for _, kind := range []string{"upper", "swapped"} {
				if a.matrices[fffuuKey{kind, sp, dp}] == nil {
					t.Fatalf("%s: no %s matrix for %d->%d", file, kind, sp, dp)
				}
			}
		}
	}
	if len(a.sports) == 0 || a.sports[0] != 0 {
		t.Fatalf("%s: source port 0 not sampled", file)
	}
	return a
}

// reach is the union of the classes with an edge to dst's class.
func (m *fffuuMatrix) reach(dst netip.Addr) ivSet {
	var out ivSet
	for rep, s := range m.classes {
		if s.contains(v4(dst)) {
			for _, src := range m.edges[rep] {
				out = out.union(m.classes[src])
			}
		}
	}
	return out
}

// matrix returns the matrix of kind for a packet from sport: the one of
// the largest sampled port not above it, which checkSportsCovered shows to
// be in sport's class.
func (a *fffuuAnswer) matrix(kind string, sport, dport uint16) *fffuuMatrix {
	best := a.sports[0]
	for _, p := range a.sports {
		if p <= sport {
			best = p
		}
	}
	return a.matrices[fffuuKey{kind, best, dport}]
}

// fffuuBounds are the sources fffuu says are surely (lower) and possibly
// (upper) accepted for a NEW tcp connection to dst:port, from some source
// port: a source counts if one source port lets it in, as in fwaudit.
// Every answer in bounds (filter, raw) must accept it.
func fffuuBounds(t *testing.T, bounds []*fffuuAnswer, dst netip.Addr, port uint16) (lower, upper ivSet) {
	t.Helper()
	sports := map[uint16]bool{}
	for _, b := range bounds {
		for _, p := range b.sports {
			sports[p] = true
		}
	}
	for sp := range sports {
		lo, up := ivFull, ivFull
		for _, b := range bounds {
			up = up.intersect(b.matrix("upper", sp, port).reach(dst))
			lo = lo.intersect(b.matrix("swapped", sp, port).reach(dst).complement())
		}
		if !lo.minus(up).empty() {
			t.Fatalf("fffuu's lower bound %s exceeds its upper bound %s for %s:%d from port %d", lo, up, dst, port, sp)
		}
		lower, upper = lower.union(lo), upper.union(up)
	}
	return lower, upper
}

var fffuuSportOpt = regexp.MustCompile(`(?:^| )(?:--sports?|--source-ports?) ([0-9,:]+)`)

// checkSportsCovered checks that a sampled every class of source ports the
// ruleset's --sport matches cut: every range's first port and the one after
// its last.
func checkSportsCovered(t *testing.T, rs *Ruleset, a *fffuuAnswer) {
	t.Helper()
	has := map[int]bool{65536: true}
	for _, p := range a.sports {
		has[int(p)] = true
	}
	for _, tb := range rs.Tables {
		for _, c := range tb.Chains {
			for _, r := range c.Rules {
				for _, m := range fffuuSportOpt.FindAllStringSubmatch(r.Text, -1) {
					for _, part := range strings.Split(m[1], ",") {
						lo, hi, isRange := strings.Cut(part, ":")
						if !isRange {
							hi = lo
						}
						l, err1 := strconv.Atoi(lo)
						h, err2 := strconv.Atoi(hi)
						if lo == "" {
							l, err1 = 0, nil
						}
						if hi == "" {
							h, err2 = 65535, nil
						}
						if err := errors.Join(err1, err2); err != nil {
							t.Fatalf("%s: %q: %v", a.file, r.Text, err)
						}
						if !has[l] || !has[h+1] {
							t.Fatalf("%s samples source ports %v, missing %d or %d for %q", a.file, a.sports, l, h+1, r.Text)
						}
					}
				}
			}
		}
	}
}

// fffuuDestinations are the destinations the rules single out: the
// classes of addresses that every matrix puts in the same class. Each is
// represented by its first and last address a unicast socket can have
// (not 0/8, loopback, multicast or 240/4); classes without one are left
// out.
func fffuuDestinations(bounds []*fffuuAnswer) []netip.Addr {
	// cut the space at every class boundary, then group the pieces by the
	// classes they fall in
	cuts := map[uint32]bool{0: true}
	var ms []*fffuuMatrix
	for _, b := range bounds {
		for _, m := range b.matrices {
			ms = append(ms, m)
			for _, s := range m.classes {
				for _, r := range s {
					cuts[r.lo] = true
					if r.hi != ^uint32(0) {
						cuts[r.hi+1] = true
					}
				}
			}
		}
	}
	starts := make([]uint32, 0, len(cuts))
	for c := range cuts {
		starts = append(starts, c)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	groups := map[string]ivSet{}
	var order []string
	for i, lo := range starts {
		hi := ^uint32(0)
		if i+1 < len(starts) {
			hi = starts[i+1] - 1
		}
		var sig strings.Builder
		for _, m := range ms {
			for rep, s := range m.classes {
				if s.contains(lo) {
					sig.WriteString(rep + " ")
				}
			}
		}
		k := sig.String()
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = groups[k].union(ivSet{{lo, hi}})
	}
	var out []netip.Addr
	for _, k := range order {
		s := groups[k].minus(notUnicast)
		if s.empty() {
			continue
		}
		first, last := s[0].lo, s[len(s)-1].hi
		out = append(out, addr4(first))
		if last != first {
			out = append(out, addr4(last))
		}
	}
	return out
}

// resultSources is the set of sources r accepts: for a conditional verdict
// those that may be accepted.
func resultSources(r Result) (ivSet, bool) {
	// what r may admit: with Doubtful, the certain part and the doubtful
	switch r.Verdict {
	case Blocked:
		return nil, true
	case Open:
		return ivFull.minus(prefixesIv(r.Except)).union(prefixesIv(r.Doubtful)), true
	case Restricted:
		if r.Sources == nil {
			return ivFull.minus(prefixesIv(r.Except)).union(prefixesIv(r.Doubtful)), true
		}
		return prefixesIv(r.Sources).union(prefixesIv(r.Doubtful)), true
	case Conditional:
		return prefixesIv(r.Sources), true
	}
	return nil, false
}

// ivSet is a set of IPv4 addresses as sorted, disjoint, non-adjacent
// ranges: the test's own model, independent of the evaluator's sets.
type ivSet []iv

type iv struct{ lo, hi uint32 }

var (
	ivFull     = ivSet{{0, ^uint32(0)}}
	loopback4  = prefixesIv([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	notUnicast = prefixesIv([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("224.0.0.0/3")})
)

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func prefixesIv(ps []netip.Prefix) ivSet {
	var s ivSet
	for _, p := range ps {
		p = p.Masked()
		lo := v4(p.Addr())
		hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
		s = s.union(ivSet{{lo, hi}})
	}
	return s
}

func (s ivSet) empty() bool { return len(s) == 0 }

func (s ivSet) contains(v uint32) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi >= v })
	return i < len(s) && s[i].lo <= v
}

func (s ivSet) union(o ivSet) ivSet {
	all := append(append(ivSet{}, s...), o...)
	sort.Slice(all, func(i, j int) bool { return all[i].lo < all[j].lo })
	var out ivSet
	for _, r := range all {
		if n := len(out); n > 0 && (out[n-1].hi == ^uint32(0) || r.lo <= out[n-1].hi+1) {
			if r.hi > out[n-1].hi {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func (s ivSet) complement() ivSet {
	var out ivSet
	next := uint64(0)
	for _, r := range s {
		if uint64(r.lo) > next {
			out = append(out, iv{uint32(next), r.lo - 1})
		}
		next = uint64(r.hi) + 1
	}
	if next <= uint64(^uint32(0)) {
		out = append(out, iv{uint32(next), ^uint32(0)})
	}
	return out
}

func (s ivSet) intersect(o ivSet) ivSet { return s.complement().union(o.complement()).complement() }

func (s ivSet) minus(o ivSet) ivSet { return s.intersect(o.complement()) }

func (s ivSet) equal(o ivSet) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// String lists the set as prefixes, shortened after 12.
func (s ivSet) String() string {
	if s.empty() {
		return "(none)"
	}
	var ps []string
	for _, r := range s {
		lo := uint64(r.lo)
		for lo <= uint64(r.hi) {
			bits := 32
			for bits > 0 {
				size := uint64(1) << (32 - bits + 1)
				if lo%size != 0 || lo+size-1 > uint64(r.hi) {
					break
				}
				bits--
			}
			ps = append(ps, netip.PrefixFrom(addr4(uint32(lo)), bits).String())
			lo += uint64(1) << (32 - bits)
		}
	}
	if len(ps) > 12 {
		return strings.Join(ps[:12], " ") + fmt.Sprintf(" ... (%d prefixes)", len(ps))
	}
	return strings.Join(ps, " ")
}
