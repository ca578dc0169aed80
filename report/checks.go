package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// CIS recommendation numbers: CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0
// (4.4.2.x iptables, 4.4.3.x ip6tables, 4.3.x nftables, 4.1.1 one utility)
// and the 3.5.x numbering of the older editions (CIS Ubuntu 20.04). A
// family judged on iptables rules cites the iptables numbers, one with
// native nft tables the nftables numbers (both when it has both).
var cisRefs = map[string][]string{
	"default-deny-v4":          {"Ubuntu 24.04 v1.0.0 4.4.2.1", "Ubuntu 20.04 3.5.3.2.3"},
	"default-deny-v6":          {"Ubuntu 24.04 v1.0.0 4.4.3.1", "Ubuntu 20.04 3.5.3.3.3"},
	"loopback-v4":              {"Ubuntu 24.04 v1.0.0 4.4.2.2", "Ubuntu 20.04 3.5.3.2.1"},
	"loopback-v6":              {"Ubuntu 24.04 v1.0.0 4.4.3.2", "Ubuntu 20.04 3.5.3.3.1"},
	"established-v4":           {"Ubuntu 24.04 v1.0.0 4.4.2.3", "Ubuntu 20.04 3.5.3.2.2"},
	"established-v6":           {"Ubuntu 24.04 v1.0.0 4.4.3.3", "Ubuntu 20.04 3.5.3.3.2"},
	"open-ports-have-rules-v4": {"Ubuntu 24.04 v1.0.0 4.4.2.4", "Ubuntu 20.04 3.5.3.2.4"},
	"open-ports-have-rules-v6": {"Ubuntu 24.04 v1.0.0 4.4.3.4", "Ubuntu 20.04 3.5.3.3.4"},
	"single-firewall-backend":  {"Ubuntu 24.04 v1.0.0 4.1.1", "Ubuntu 24.04 v1.0.0 4.4.1.2", "Ubuntu 20.04 3.5.3.1.2"},
}

// nftCISRefs are the nftables section's numbers (4.3.x), for either family.
var nftCISRefs = map[string][]string{
	"default-deny": {"Ubuntu 24.04 v1.0.0 4.3.8"},
	"loopback":     {"Ubuntu 24.04 v1.0.0 4.3.6"},
	"established":  {"Ubuntu 24.04 v1.0.0 4.3.7"},
}

// cisFor cites the numbers for the rules family f was judged on.
func cisFor(id string, f *family) []string {
	var ipt, nft bool
	for _, rs := range f.sets {
		native := !rs.IsIptables()
		nft = nft || native
		ipt = ipt || !native
	}
	if !ipt && !nft {
		ipt, nft = true, true // not read: cite both
	}
	out := []string{}
	if ipt {
		out = append(out, cisRefs[id+"-"+f.tag]...)
	}
	if nft {
		out = append(out, nftCISRefs[id]...)
	}
	return out
}

var checkTitles = map[string]string{
	"default-deny":            "%s INPUT and FORWARD deny by default",
	"loopback":                "%s loopback traffic is accepted on lo and dropped from elsewhere",
	"established":             "%s replies to outbound connections are accepted",
	"open-ports-have-rules":   "%s every listening port has a firewall rule",
	"single-firewall-backend": "one firewall backend holds the rules",
}

// family is what the audit knows of one address family's rules.
type family struct {
	fam  firewall.Family
	tag  string // "v4", "v6"
	name string // "IPv4", "IPv6"
	ev   *firewall.Evaluator
	sets []*firewall.Ruleset
	skip string // why this family's checks cannot run; "" when they can
	// off: the family is disabled on the host, so its skipped checks
	// leave nothing unaudited
	off  bool
	free uint16 // a port no rule names and nobody listens on

	posture *firewall.Posture // the evaluator's probes, once computed
}

type audit struct {
	in     Inputs
	socks  []Socket
	fams   []*family
	deny   map[string]denyResult // by family tag + chain
	issues map[*firewall.Ruleset][]firewall.Issue
	// incomplete says what the findings could not cover (see
	// Summary.Incomplete)
	incomplete []string
	// managers holds the findings about a firewall manager's own rules
	// (firewall.Ruleset.ManagedBy), by manager: not work for the admin,
	// they are summed up in one finding each (managerFindings)
	managers map[string][]Finding
}

type denyResult struct {
	ok  bool
	how string
}

// newAudit is the audit of in, its sockets (audit.socks) still to be
// judged.
func newAudit(in Inputs) *audit {
	a := &audit{in: in, deny: map[string]denyResult{}}
	used := map[uint16]bool{}
	for _, l := range in.Listeners {
		used[l.Port] = true
	}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		f := &family{fam: fam, tag: "v4", name: "IPv4"}
		if fam == firewall.IPv6 {
			f.tag, f.name = "v6", "IPv6"
		}
		fw := in.Firewall
		switch {
		case fam == firewall.IPv6 && in.IPv6Disabled:
			f.skip, f.off = "IPv6 is disabled on this host", true
		case fw == nil:
			f.skip = "firewall rules were not read"
		case !fw.Known(fam):
			f.skip = unreadable(fw.Of(fam).Why)
		default:
			f.ev, f.sets = fw.Evaluator(fam, ""), fw.Of(fam).Sets
		}
		f.free = freePort(portsNamed(f.sets), used)
		a.fams = append(a.fams, f)
	}
	return a
}

func unreadable(why string) string {
	if why == "" {
		return "rules not provided"
	}
	return "rules could not be read: " + why
}

func (a *audit) checks() []Check {
	var out []Check
	for _, f := range a.fams {
		out = append(out,
			a.check("default-deny", f, a.defaultDeny),
			a.check("loopback", f, a.loopback),
			a.check("established", f, a.established),
			a.check("open-ports-have-rules", f, a.openPortsHaveRules),
		)
	}
	return append(out, a.singleBackend())
}

func (a *audit) check(id string, f *family, run func(*family) (Status, string)) Check {
	c := Check{ID: id + "-" + f.tag, Title: fmt.Sprintf(checkTitles[id], f.name), CIS: cisFor(id, f)}
	if f.skip != "" {
		c.Status, c.Detail, c.lacking = Skip, f.skip, !f.off
		return c
	}
	c.Status, c.Detail = run(f)
	c.lacking = c.Status == Skip // a check skips only for lack of input
	return c
}

// chainDenies tells whether a NEW packet that no rule of the filter
// chains on hook ("input", "forward") accepts is dropped: the chain's
// policy is DROP, or (with policy ACCEPT) the chain's own rules end every
// path in a DROP or REJECT. A packet must pass every ruleset of the
// family, so one denying ruleset is enough.
func (a *audit) chainDenies(f *family, hook string) denyResult {
	key := f.tag + " " + hook
	if r, ok := a.deny[key]; ok {
		return r
	}
	// printed: "no filter INPUT chain"
	r := denyResult{how: "no filter " + strings.ToUpper(hook) + " chain (everything is accepted)"}
	for _, rs := range f.sets {
	chains:
		for _, h := range rs.FilterChains(hook) {
			c, name := h.Chain, h.Name()
			if c.Policy == "DROP" {
				r = denyResult{true, name + " policy DROP" + from(f, rs)}
				break chains
			}
			if rule, ok := h.CatchAll(f.fam, f.free); ok {
				r = denyResult{true, fmt.Sprintf("%s policy %s, but every packet its rules do not accept is dropped by %s", name, c.Policy, rule.Text) + from(f, rs)}
				break chains
			}
			r.how = fmt.Sprintf("%s policy %s with no catch-all DROP or REJECT", name, c.Policy) + from(f, rs)
		}
		if r.ok {
			break
		}
	}
	a.deny[key] = r
	return r
}

// from names the ruleset when a family has more than one.
func from(f *family, rs *firewall.Ruleset) string {
	if len(f.sets) < 2 {
		return ""
	}
	return " (" + rs.Source + ")"
}

func (a *audit) defaultDeny(f *family) (Status, string) {
	in, fwd := a.chainDenies(f, "input"), a.chainDenies(f, "forward")
	// Judged by behaviour, on every source together: a NEW packet from an
	// arbitrary source to a port no rule names, on an outside interface,
	// must be dropped. A DROP policy behind an accept-everything rule does
	// not pass; a deny split over several rules, or in a native nft
	// table, does.
	pc := a.posture(f)
	switch {
	case in.ok && !pc.DefaultDeny.Pass:
		in = denyResult{false, in.how + ", yet " + pc.DefaultDeny.Detail}
	case !in.ok && pc.DefaultDeny.Pass:
		in = denyResult{true, "INPUT accepts no port that its rules do not name (" + pc.DefaultDeny.Detail + ")"}
	}
	switch {
	case fwd.ok && !pc.ForwardDefaultDeny.Pass:
		fwd = denyResult{false, fwd.how + ", yet " + pc.ForwardDefaultDeny.Detail}
	case !fwd.ok && pc.ForwardDefaultDeny.Pass:
		fwd = denyResult{true, "FORWARD: " + pc.ForwardDefaultDeny.Detail}
	}
	detail := in.how + "; " + fwd.how
	if out := outputPolicy(f); out != "" {
		detail += "; OUTPUT policy " + out
	}
	if in.ok && fwd.ok {
		return Pass, detail
	}
	return Fail, detail
}

func outputPolicy(f *family) string {
	for _, rs := range f.sets {
		if p, ok := rs.FilterPolicy("output"); ok {
			return p
		}
	}
	return ""
}

// probe is one proto/port pair the checks send packets to.
type probe struct {
	proto string
	port  uint16
}

func (p probe) String() string { return fmt.Sprintf("%s/%d", p.proto, p.port) }

// probes are the ports of the family's sockets plus a port nobody names,
// in tcp and udp.
func (a *audit) probes(f *family) []probe {
	seen := map[probe]bool{{"tcp", f.free}: true, {"udp", f.free}: true}
	for _, l := range a.in.Listeners {
		if receives(l, f.fam) {
			seen[probe{l.Proto, l.Port}] = true
		}
	}
	out := make([]probe, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].port != out[j].port {
			return out[i].port < out[j].port
		}
		return out[i].proto < out[j].proto
	})
	return out
}

// receives tells whether a listener gets packets of the family: IPv4
// sockets and dual-stack IPv6 wildcards get IPv4.
func receives(l scan.Listener, fam firewall.Family) bool {
	if fam == firewall.IPv4 {
		return l.Family == "ipv4" || l.DualStack
	}
	return l.Family == "ipv6"
}

// loopback combines the evaluator's posture probe (lo accepted, a loopback
// source on the outside interface dropped, for a port no rule names) with
// the same spoofed packet sent to every listening port: CIS wants the
// 127.0.0.0/8 (::1) drop to hold before any accept.
func (a *audit) loopback(f *family) (Status, string) {
	pc := a.posture(f).Loopback
	// without the host's route_localnet, the kernel's martian drop is
	// not assumed and a failure says so
	assumed := ""
	if a := f.ev.RouteLocalnetAssumed(); a != "" {
		assumed = "; " + a
	}
	if !pc.Pass {
		return Fail, withRule(pc.Detail, pc.Rule.String()) + assumed
	}
	lo := loopbackAddr(f.fam)
	// Ports no rule tells apart are decided alike (PortClasses): one
	// probe per class stands for its listening ports.
	classes := f.ev.PortClasses()
	type class struct {
		proto string
		n     int
	}
	tried := map[class]bool{}
	ifaces := a.outsideIfaces()
	for _, p := range a.probes(f) {
		k := class{p.proto, classes.Of(p.port)}
		if tried[k] {
			continue
		}
		tried[k] = true
		for _, iface := range ifaces {
			// No destination: Decide uses the host's address (and with
			// no interface, the outside one it picks).
			d := f.ev.DecideVerdict(firewall.Packet{Proto: p.proto, Src: lo, DPort: p.port, InIface: iface})
			if d.Verdict != firewall.DecideDrop {
				on := "an outside interface"
				if iface != "" {
					on = iface
				}
				return Fail, fmt.Sprintf("a packet from %s on %s to %s is %s (%s)", lo, on, p, verb(d.Verdict), ruleOrPolicy(d.Rule.String())) + assumed
			}
		}
	}
	return Pass, pc.Detail
}

// outsideIfaces are the host's interfaces that are not inside (the kernel
// may route 127.0.0.0/8 on one and not another: route_localnet is per
// interface), or, with no host read, "" for the one Decide picks.
func (a *audit) outsideIfaces() []string {
	var out []string
	if fw := a.in.Firewall; fw != nil {
		for _, i := range fw.Host.Interfaces {
			if !contains(fw.Host.Inside, i) {
				out = append(out, i)
			}
		}
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

func withRule(detail, rule string) string {
	if rule == "" {
		return detail
	}
	return detail + ": " + rule
}

func verb(v string) string {
	switch v {
	case firewall.DecideAccept:
		return "accepted"
	case firewall.DecideDrop:
		return "dropped"
	case firewall.DecideConditional:
		return "accepted depending on runtime state"
	}
	return "undecided"
}

func ruleOrPolicy(rule string) string {
	if rule == "" {
		return "no rule decides"
	}
	return rule
}

// established is the evaluator's posture probe: ESTABLISHED and RELATED
// tcp and udp packets from outside are accepted.
func (a *audit) established(f *family) (Status, string) {
	pc := a.posture(f).Established
	if !pc.Pass {
		return Fail, withRule(pc.Detail, pc.Rule.String())
	}
	return Pass, withRule(pc.Detail, pc.Rule.String())
}

func (a *audit) posture(f *family) firewall.Posture {
	if f.posture == nil {
		p := f.ev.Posture()
		f.posture = &p
	}
	return *f.posture
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// openPortsHaveRules wants every socket reachable from outside (not bound
// to loopback) decided by a rule, accept or drop, rather than by a policy.
func (a *audit) openPortsHaveRules(f *family) (Status, string) {
	if a.in.ListenersErr != "" {
		return Skip, "sockets could not be listed: " + a.in.ListenersErr
	}
	var missing []string
	seen := map[string]bool{}
	n := 0
	for _, s := range a.socks {
		fv := familyOf(s, f.fam)
		if fv == nil || s.Client || s.Exposure == string(scan.ExposureLocal) || fv.Verdict == string(firewall.NotApplicable) {
			continue
		}
		key := fmt.Sprintf("%s/%d", s.Proto, s.Port)
		if seen[key] {
			continue
		}
		seen[key] = true
		n++
		switch r := fv.ref.Rule(); {
		case fv.Rule == "" || firewall.IsPolicyText(fv.Rule):
			missing = append(missing, fmt.Sprintf("%s (%s)", key, policyWord(fv)))
		case r != nil && catchAllRule(r) && (blocks(r) || fv.Verdict == string(firewall.Open)):
			missing = append(missing, fmt.Sprintf("%s (%s by the catch-all %s)", key, fv.Verdict, r.Text))
		}
	}
	switch {
	case n == 0:
		return Pass, "no socket outside loopback receives " + f.name
	case len(missing) > 0:
		return Fail, "no rule for " + strings.Join(missing, ", ")
	}
	if n == 1 {
		return Pass, "the one listening port has a rule"
	}
	return Pass, fmt.Sprintf("all %d listening ports have a rule", n)
}

// catchAllRule names neither protocol nor port: it decides a port without
// being a rule for it.
func catchAllRule(r *firewall.Rule) bool { return r.Proto() == "" && len(r.DPorts()) == 0 }

func policyWord(fv *FamilyVerdict) string {
	if fv.Verdict == string(firewall.Open) {
		return "accepted by the default policy"
	}
	if fv.Verdict == string(firewall.Blocked) {
		return "dropped by the default policy"
	}
	return fv.Verdict + ", decided by the default policy"
}

func familyOf(s Socket, fam firewall.Family) *FamilyVerdict {
	if s.Firewall == nil {
		return nil
	}
	if fam == firewall.IPv4 {
		return s.Firewall.IPv4
	}
	return s.Firewall.IPv6
}

func (a *audit) singleBackend() Check {
	id := "single-firewall-backend"
	c := Check{ID: id, Title: checkTitles[id], CIS: cisRefs[id]}
	if a.in.Firewall == nil {
		c.Status, c.Detail, c.lacking = Skip, "firewall rules were not read", true
		return c
	}
	backends, files := a.backends()
	switch {
	case len(backends) > 1:
		c.Status, c.Detail = Fail, "rules are loaded in both "+strings.Join(backends, " and ")+"; a packet must pass both"
	case len(backends) == 1:
		c.Status, c.Detail = Pass, "all rules are in "+backends[0]
	case len(files) > 0:
		c.Status, c.Detail = Pass, "rules read from "+strings.Join(files, ", ")+" (one ruleset per family)"
	case len(a.in.Firewall.V4.Sets)+len(a.in.Firewall.V6.Sets) > 0:
		c.Status, c.Detail = Pass, "no backend holds any rule"
	default:
		c.Status, c.Detail, c.lacking = Skip, "no rules could be read", true
	}
	return c
}

// backends lists the backends holding rules or a DROP policy
// ("iptables-legacy", "iptables-nft", "native nftables") and the files
// rules were read from.
func (a *audit) backends() (backends, files []string) {
	fw := a.in.Firewall
	if fw == nil {
		return nil, nil
	}
	for _, rs := range append(append([]*firewall.Ruleset{}, fw.V4.Sets...), fw.V6.Sets...) {
		if b := backend(rs); b != "" {
			// iptables-nft-save always answers; an empty dump is no backend.
			if filtersNothing([]*firewall.Ruleset{rs}) {
				continue
			}
			name := "iptables-" + b
			if rs.Source == "nft" {
				name = "native nftables" // nft's own tables, not iptables-nft's
			}
			if !contains(backends, name) {
				backends = append(backends, name)
			}
		} else if !contains(files, rs.Source) {
			files = append(files, rs.Source)
		}
	}
	sort.Strings(backends)
	// native nftables tables the iptables view cannot show filter too
	for _, u := range append(append([]string{}, fw.V4.Unseen...), fw.V6.Unseen...) {
		if strings.HasPrefix(u, "native nftables table") && !contains(backends, "native nftables") {
			backends = append(backends, "native nftables")
		}
	}
	return backends, files
}
