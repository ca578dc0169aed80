package report

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// serviceOf finds the catalog entry of a socket by the canonical name the
// scan gave it.
func serviceOf(s Socket) (scan.Service, bool) {
	if s.Service != "" {
		if svc, ok := scan.LookupService(s.Service); ok {
			return svc, true
		}
	}
	return scan.Service{}, false
}

func (a *audit) findings() []Finding {
	var out []Finding
	noFW := map[firewall.Family]bool{}
	for _, f := range a.fams {
		if f.skip == "" && filtersNothing(f.sets) && !(f.fam == firewall.IPv6 && a.ipv6Unfiltered()) {
			noFW[f.fam] = true
			out = append(out, a.noFirewall(f))
		}
	}
	for _, s := range a.socks {
		out = append(out, a.socketFindings(s, noFW)...)
	}
	for _, f := range a.fams {
		if f.skip != "" {
			continue
		}
		out = append(out, a.staleRules(f)...)
		out = append(out, a.deadRules(f)...)
		out = append(out, a.dockerBypass(f)...)
		out = append(out, a.directAccess(f)...)
	}
	out = append(out, a.managerFindings()...)
	if bs, _ := a.backends(); len(bs) > 1 {
		out = append(out, Finding{
			ID: "mixed-backends", Severity: Medium,
			Title:       "rules are loaded in more than one firewall backend",
			Detail:      "rules are loaded in both " + strings.Join(bs, " and ") + ": a packet must pass both, and tools that read only one backend show half the picture",
			Remediation: "move every rule to one backend (iptables-nft, or native nftables, on current distributions) and flush the other",
		})
	}
	return bothFamilies(out)
}

// bothFamilies merges the two findings an nft inet table's rule raises,
// one per family, when they say the same: one finding, for both families.
func bothFamilies(fs []Finding) []Finding {
	type key struct{ id, rule, detail, proto string }
	at := map[key]int{}
	out := fs[:0]
	for _, f := range fs {
		if !strings.HasPrefix(f.Rule, "inet ") {
			out = append(out, f)
			continue
		}
		k := key{f.ID, f.Rule, f.Detail, f.Proto}
		if i, ok := at[k]; ok {
			if out[i].Family != f.Family {
				out[i].Family = ""
			}
			continue
		}
		at[k] = len(out)
		out = append(out, f)
	}
	return out
}

// exposedVerdict is the socket's overall verdict, or "" for a socket no
// finding may name: bound to loopback (unless a nat DNAT makes it reachable
// from outside, which its verdict then shows), not judged (no rules read),
// or a client socket (nothing listens there for a server to answer).
func exposedVerdict(s Socket) string {
	if s.Client || s.Firewall == nil || s.Device == "lo" || s.Firewall.Verdict == string(firewall.NotApplicable) {
		return ""
	}
	return s.Firewall.Verdict
}

// mayBeOpen: a family of s is restricted for sure, and with the sources a
// runtime match may also admit, more than half of the address space may
// get in (a knock list beside one fixed source): it may be reachable from
// the internet, as a conditional verdict may.
func mayBeOpen(s Socket) bool {
	for _, f := range []struct {
		name string
		v    *FamilyVerdict
	}{{"ipv4", s.Firewall.IPv4}, {"ipv6", s.Firewall.IPv6}} {
		if f.v == nil || f.v.Verdict != string(firewall.Restricted) || f.v.Doubtful.Len() == 0 {
			continue
		}
		if e := NewExposure(f.name, f.v); e.Sure.union(e.Doubt).fraction() > 0.5 {
			return true
		}
	}
	return false
}

func where(s Socket) string {
	w := fmt.Sprintf("%s/%d on %s", s.Proto, s.Port, s.Address)
	if s.Service != "" {
		w += " (" + serviceLabel(s.Service, s.ServiceBy) + ")"
	}
	return w
}

// guessed: only the port names the socket's service.
func guessed(s Socket) bool { return s.Service != "" && s.ServiceBy == scan.ServiceByPort }

// serviceLabel is a service's name as people read it: "snmp?" when only
// the port names it.
func serviceLabel(name, by string) string {
	if name != "" && by == scan.ServiceByPort {
		return name + "?"
	}
	return name
}

// guessNote says, in a finding's detail, that the service is a guess.
func guessNote(s Socket) string {
	if !guessed(s) {
		return ""
	}
	who := "an unnamed process"
	if s.Process != "" {
		who = s.Process
	}
	return fmt.Sprintf("; it is named %s only from its port (the process is %s), so the severity is one step lower", s.Service, who)
}

// remedyName is what a remediation tells to bind elsewhere: the service,
// or for a guess the process that holds the port.
func remedyName(s Socket) string {
	if guessed(s) {
		if s.Process != "" {
			return fmt.Sprintf("%s (the process on %d/%s)", s.Process, s.Port, s.Proto)
		}
		return fmt.Sprintf("the process on %d/%s", s.Port, s.Proto)
	}
	return serviceName(s)
}

func socketFinding(id string, sev Severity, s Socket) Finding {
	f := Finding{ID: id, Severity: sev, Family: s.Family, Proto: s.Proto, Port: s.Port,
		Address: s.Address, Service: s.Service, Process: s.Process}
	if guessed(s) {
		f.ServiceBy = scan.ServiceByPort
	}
	return f
}

// openInterfaces lists, for the families whose verdict is restricted but
// open on some interface (FamilyVerdict.ByInterface), "IPv4 on eth0",
// with the rule that accepts there first.
func openInterfaces(s Socket) (fams []string, rule string) {
	for _, fv := range []struct {
		name string
		v    *FamilyVerdict
	}{{"IPv4", s.Firewall.IPv4}, {"IPv6", s.Firewall.IPv6}} {
		if fv.v == nil || fv.v.Verdict != string(firewall.Restricted) {
			continue
		}
		var on []string
		for _, x := range fv.v.ByInterface {
			if x.Verdict != string(firewall.Open) {
				continue
			}
			name := x.Interface
			if name == "" {
				name = "any other interface"
			}
			on = append(on, name)
			if rule == "" {
				rule = x.Rule
			}
		}
		if len(on) > 0 {
			fams = append(fams, fv.name+" on "+strings.Join(on, ", "))
		}
	}
	return fams, rule
}

// openSomewhere is fv when it is open, else the first of its interfaces'
// own verdicts (ByInterface) that is open; nil when fv admits everyone on
// no interface.
func openSomewhere(fv *FamilyVerdict) *FamilyVerdict {
	if fv == nil || fv.Verdict == string(firewall.Open) {
		return fv
	}
	if fv.Verdict != string(firewall.Restricted) {
		return nil
	}
	for i := range fv.ByInterface {
		if x := &fv.ByInterface[i].FamilyVerdict; x.Verdict == string(firewall.Open) {
			return x
		}
	}
	return nil
}

// openFamilies lists the families in which a socket's verdict is v.
func openFamilies(s Socket, v firewall.Verdict) (fams []string, rule string) {
	for _, fv := range []struct {
		name string
		v    *FamilyVerdict
	}{{"IPv4", s.Firewall.IPv4}, {"IPv6", s.Firewall.IPv6}} {
		if fv.v != nil && fv.v.Verdict == string(v) {
			fams = append(fams, fv.name)
			if rule == "" {
				rule = fv.v.Rule
			}
		}
	}
	return fams, rule
}

func (a *audit) socketFindings(s Socket, noFW map[firewall.Family]bool) []Finding {
	v := exposedVerdict(s)
	if v == "" {
		return nil
	}
	var out []Finding
	svc, known := serviceOf(s)
	sensitive := known && svc.Sensitive

	openOn, openRule := openInterfaces(s)
	switch {
	case sensitive && (v == string(firewall.Open) || v == string(firewall.Restricted) && len(openOn) > 0):
		fams, rule := openFamilies(s, firewall.Open)
		if len(fams) == 0 {
			// open to everyone on some interfaces (ByInterface)
			fams, rule = openOn, openRule
		}
		sev := High
		if svc.Cleartext {
			// Sensitive and unencrypted (the Docker API on 2375, SNMP):
			// whoever reaches it can read or take over the host.
			sev = Critical
		}
		if guessed(s) {
			sev-- // the port says snmp; the process may be anything
		}
		f := socketFinding("exposed-sensitive-service", sev, s)
		f.Title = fmt.Sprintf("%s is reachable from the internet", serviceName(s))
		f.Detail = fmt.Sprintf("%s accepts NEW connections from anyone over %s%s", where(s), strings.Join(fams, " and "), guessNote(s))
		f.Rule = rule
		f.Remediation = fmt.Sprintf("bind %s to 127.0.0.1 (or a private address), or accept %d/%s only from the addresses that need it", remedyName(s), s.Port, s.Proto)
		out = append(out, f)
	case sensitive && (v == string(firewall.Conditional) || mayBeOpen(s)):
		_, rule := openFamilies(s, firewall.Conditional)
		if rule == "" {
			_, rule = openFamilies(s, firewall.Restricted)
		}
		sev := Medium
		if guessed(s) {
			sev--
		}
		f := socketFinding("exposed-sensitive-service", sev, s)
		f.Title = fmt.Sprintf("%s may be reachable from the internet", serviceName(s))
		f.Detail = fmt.Sprintf("%s is accepted depending on runtime state (%s)%s", where(s), strings.Join(reasons(s), "; "), guessNote(s))
		f.Rule = rule
		f.Remediation = fmt.Sprintf("bind %s to 127.0.0.1, or accept %d/%s only from named sources", remedyName(s), s.Port, s.Proto)
		out = append(out, f)
	}

	if (v == string(firewall.Open) || len(openOn) > 0) && !sensitive {
		for _, fv := range []struct {
			fam firewall.Family
			v   *FamilyVerdict
		}{{firewall.IPv4, s.Firewall.IPv4}, {firewall.IPv6, s.Firewall.IPv6}} {
			// open on every interface, or on some (ByInterface): the
			// verdict of an interface that admits everyone
			o := openSomewhere(fv.v)
			if o == nil || !firewall.IsPolicyText(o.Rule) || noFW[fv.fam] {
				continue
			}
			if fv.fam == firewall.IPv6 && a.ipv6Unfiltered() {
				continue // reported as ipv6-unfiltered
			}
			f := socketFinding("exposed-by-policy", Medium, s)
			f.Family = string(fv.fam)
			f.Title = "reachable only because of a permissive default policy"
			f.Detail = fmt.Sprintf("no rule accepts %s over %s; the chain policy does (%s)", where(s), familyName(fv.fam), o.Rule)
			f.Rule = o.Rule
			f.Remediation = fmt.Sprintf("add an explicit ACCEPT for %d/%s (from the sources that need it) and set the INPUT policy to DROP", s.Port, s.Proto)
			out = append(out, f)
		}
	}

	if o6 := openSomewhere(s.Firewall.IPv6); a.ipv6Unfiltered() && o6 != nil {
		f := socketFinding("ipv6-unfiltered", High, s)
		f.Family = string(firewall.IPv6)
		f.Title = "IPv4 is filtered but IPv6 is not"
		by := o6.Rule
		if by == "" {
			by = "no ip6tables rules are loaded"
		}
		f.Detail = fmt.Sprintf("INPUT denies by default for IPv4, but %s accepts anyone over IPv6 (%s)", where(s), by)
		f.Rule = o6.Rule
		f.Remediation = "load an ip6tables ruleset with the same policy (fwaudit suggest --format ip6tables), or disable IPv6"
		out = append(out, f)
	}

	// "sshd listens": not when a known program other than an ssh server
	// holds the port (python3 on 22 is ssh only by its port).
	if s.Service == "ssh" && !(s.ServiceBy == scan.ServiceByPort && s.Process != "") && v == string(firewall.Blocked) {
		f := socketFinding("ssh-blocked", Medium, s)
		f.Title = "sshd listens but nobody can reach it"
		f.Detail = fmt.Sprintf("%s is blocked for every source (%s)", where(s), blockRule(s))
		f.Rule = blockRule(s)
		f.Remediation = fmt.Sprintf("accept %d/tcp from the addresses you administer from, or stop sshd if it is not used", s.Port)
		out = append(out, f)
	}

	if known && svc.Cleartext && (v == string(firewall.Open) || v == string(firewall.Conditional) || mayBeOpen(s) || len(openOn) > 0) {
		f := socketFinding("cleartext-service", Info, s)
		f.Title = fmt.Sprintf("%s speaks plain text to the network", serviceName(s))
		f.Detail = fmt.Sprintf("%s is reachable from outside and its protocol carries credentials in clear text", where(s))
		f.Remediation = "use the TLS variant of the protocol (or STARTTLS with TLS required), or restrict it to trusted sources"
		out = append(out, f)
	}
	return out
}

func serviceName(s Socket) string {
	if s.Service != "" {
		return serviceLabel(s.Service, s.ServiceBy)
	}
	if s.Process != "" {
		return s.Process
	}
	return fmt.Sprintf("%d/%s", s.Port, s.Proto)
}

func familyName(fam firewall.Family) string {
	if fam == firewall.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

func reasons(s Socket) []string {
	var out []string
	for _, fv := range []*FamilyVerdict{s.Firewall.IPv4, s.Firewall.IPv6} {
		if fv != nil {
			for _, r := range fv.Reasons {
				if !contains(out, r) {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

func blockRule(s Socket) string {
	for _, fv := range []*FamilyVerdict{s.Firewall.IPv4, s.Firewall.IPv6} {
		if fv != nil && fv.Rule != "" {
			return fv.Rule
		}
	}
	return "no rule accepts it"
}

// ipv6Unfiltered: IPv4 denies by default, IPv6 (readable, enabled) does
// not, and something outside loopback receives IPv6 and is open.
func (a *audit) ipv6Unfiltered() bool {
	v4, v6 := a.fams[0], a.fams[1]
	if v4.skip != "" || v6.skip != "" {
		return false
	}
	if !a.chainDenies(v4, "input").ok || a.chainDenies(v6, "input").ok {
		return false
	}
	for _, s := range a.socks {
		if exposedVerdict(s) != "" && openSomewhere(s.Firewall.IPv6) != nil {
			return true
		}
	}
	return false
}

func (a *audit) noFirewall(f *family) Finding {
	sev := Medium
	var ports []string
	for _, s := range a.socks {
		if fv := familyOf(s, f.fam); exposedVerdict(s) != "" && openSomewhere(fv) != nil {
			ports = append(ports, fmt.Sprintf("%s/%d", s.Proto, s.Port))
		}
	}
	detail := fmt.Sprintf("no %s rule is loaded and every policy is ACCEPT", f.name)
	if len(ports) > 0 {
		sev = High
		detail += ": every listening port is reachable (" + strings.Join(dedupe(ports), ", ") + ")"
	}
	return Finding{
		ID: "no-firewall", Severity: sev, Family: string(f.fam),
		Title:       fmt.Sprintf("no %s firewall", f.name),
		Detail:      detail,
		Remediation: "load a default-deny ruleset that accepts only what must be public (fwaudit suggest)",
	}
}

func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// staleRules finds ACCEPT rules, reachable from filter INPUT, for a
// tcp/udp port (or range) on which no socket of the family listens outside
// loopback.
func (a *audit) staleRules(f *family) []Finding {
	if a.in.ListenersErr != "" {
		return nil
	}
	var out []Finding
	for _, rs := range f.sets {
		dead := map[*firewall.Rule]bool{} // reported as duplicate or shadowed already
		for _, is := range a.analyze(rs) {
			dead[is.Rule] = true
		}
		for _, ia := range rs.InputAccepts() {
			c, r := ia.Chain, ia.Rule
			if r.Part() > 1 {
				continue // one finding for an nft rule split per set element
			}
			if dead[r] || r.MulticastOnly() || r.DPortsNeg() || r.ProtoNeg() || len(r.DPorts()) == 0 || (r.Proto() != "tcp" && r.Proto() != "udp") {
				continue
			}
			// One finding per port (or range) of a multiport list that
			// nobody listens on.
			for _, pr := range r.DPorts() {
				ports := []firewall.PortRange{pr}
				if a.listensOn(f.fam, r.Proto(), ports, false) {
					continue
				}
				detail := fmt.Sprintf("%s accepts %s %s but nothing listens there", c.Name, r.Proto(), portList(ports))
				if a.listensOn(f.fam, r.Proto(), ports, true) {
					detail += " outside loopback"
				}
				out = a.unlessManaged(out, rs, r, Finding{
					ID: "stale-rule", Severity: Low, Family: string(f.fam), Proto: r.Proto(), Port: pr.Lo,
					Title:  "ACCEPT rule for a port nobody listens on",
					Detail: detail,
					Rule:   r.Text, Source: rs.Source, Line: r.Line,
					Remediation: "delete the rule (or the port from it), or keep it only if the service is meant to come back",
				})
			}
		}
	}
	return out
}

func (a *audit) listensOn(fam firewall.Family, proto string, ports []firewall.PortRange, local bool) bool {
	for _, l := range a.in.Listeners {
		if l.Client || l.Proto != proto || !receives(l, fam) || (l.Exposure == scan.ExposureLocal) != local {
			continue
		}
		for _, p := range ports {
			if l.Port >= p.Lo && l.Port <= p.Hi {
				return true
			}
		}
	}
	return false
}

func portList(ps []firewall.PortRange) string {
	var parts []string
	for _, p := range ps {
		if p.Lo == p.Hi {
			parts = append(parts, fmt.Sprint(p.Lo))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", p.Lo, p.Hi))
		}
	}
	if len(ps) == 1 && ps[0].Lo == ps[0].Hi {
		return "port " + parts[0]
	}
	return "ports " + strings.Join(parts, ",")
}

// analyze runs firewall.Analyze once per ruleset.
func (a *audit) analyze(rs *firewall.Ruleset) []firewall.Issue {
	if a.issues == nil {
		a.issues = map[*firewall.Ruleset][]firewall.Issue{}
	}
	if is, ok := a.issues[rs]; ok {
		return is
	}
	is := firewall.Analyze(rs)
	a.issues[rs] = is
	return is
}

// analyzeAll runs the rule analysis of every ruleset findings asks of
// (staleRules, deadRules), ahead of them.
func (a *audit) analyzeAll() {
	for _, f := range a.fams {
		if f.skip != "" {
			continue
		}
		for _, rs := range f.sets {
			a.analyze(rs)
		}
	}
}

// deadRules reports firewall.Analyze's duplicate and shadowed rules.
func (a *audit) deadRules(f *family) []Finding {
	var out []Finding
	for _, rs := range f.sets {
		for _, is := range a.analyze(rs) {
			if is.Rule == nil {
				continue
			}
			if is.Kind == "unfinished" {
				// no finding: the rules from there on were not tried
				a.incomplete = append(a.incomplete, fmt.Sprintf("%s: the shadowed-rule analysis of %s reached its work limit at %s; from there on rules were checked only against duplicates and earlier sources", f.name, rs.Source, is.Rule.Where()))
				continue
			}
			fd := Finding{Family: string(f.fam), Rule: is.Rule.Text, Source: rs.Source, Line: is.Rule.Line,
				Proto: is.Rule.Proto()}
			if len(is.Rule.DPorts()) > 0 && !is.Rule.DPortsNeg() {
				fd.Port = is.Rule.DPorts()[0].Lo
			}
			by := ""
			if is.By != nil {
				by = ruleWhere(is.By)
			}
			switch is.Kind {
			case "duplicate":
				fd.ID, fd.Severity = "duplicate-rule", Low
				fd.Title = "duplicate rule"
				fd.Detail = fmt.Sprintf("%s repeats %s", is.Rule.Where(), by)
				fd.Remediation = "delete the second copy"
			default:
				fd.ID, fd.Severity = "shadowed-rule", Low
				fd.Title = "rule can never match"
				fd.Detail = fmt.Sprintf("%s is shadowed by %s", is.Rule.Where(), by)
				fd.Remediation = "move the rule above the one that shadows it, or delete it"
				if blocks(is.Rule) && (is.By == nil || !blocks(is.By)) {
					fd.Severity = Medium
					fd.Detail += ": the traffic it was meant to block is decided earlier"
				}
			}
			out = a.unlessManaged(out, rs, is.Rule, fd)
		}
	}
	return out
}

// ruleWhere names a rule with its text: "line 12: -A INPUT ..." or the
// nft rule's own text.
func ruleWhere(r *firewall.Rule) string {
	if r.Native {
		return r.Text
	}
	return fmt.Sprintf("line %d: %s", r.Line, r.Text)
}

// directAccess finds containers (any DNAT target behind the host) that a
// neighbour reaches by routing straight to their address, with no DNAT:
// Docker before 28 (or with allow-direct-routing) leaves them open that
// way, whatever DOCKER-USER says about the published port and even when
// the port is published on 127.0.0.1 only.
func (a *audit) directAccess(f *family) []Finding {
	var out []Finding
	seen := map[string]bool{}
	for _, fd := range forwards(f.ev) {
		r, dst := fd.Rule, fd.Target(fd.Ports.Lo)
		key := r.Proto() + "/" + dst.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		got := f.ev.Routed(r.Proto(), dst.Addr(), dst.Port())
		if got.Verdict == firewall.Blocked {
			continue
		}
		who := string(got.Verdict)
		if got.Verdict == firewall.Restricted {
			who += " to " + strings.Join(prefixStrings(got.Sources), ", ")
		}
		out = append(out, withService(Finding{
			ID: "direct-access", Severity: Medium, Family: string(f.fam), Proto: r.Proto(), Port: dst.Port(), Address: dst.Addr().String(),
			Title:  "container reachable by routing straight to its address",
			Detail: fmt.Sprintf("a neighbour that routes %s to this host reaches %s %s directly, with no DNAT (%s): rules on the published port (DOCKER-USER --ctorigdstport, a publish on 127.0.0.1) do not apply", dst.Addr(), r.Proto(), dst, who),
			Rule:   r.Text, Source: fd.Ruleset.Source, Line: r.Line,
			Remediation: directRemedy(r, dst.Addr()),
		}))
	}
	return out
}

func directRemedy(r *firewall.Rule, to netip.Addr) string {
	if r.Native {
		return fmt.Sprintf("drop it before routing: a prerouting chain at priority raw with ip daddr %s iifname != <its bridge> drop (Docker 29 adds this unless allow-direct-routing is set)", to)
	}
	return fmt.Sprintf("upgrade to Docker 28 or later without allow-direct-routing (it drops direct access in the raw table), or add iptables -t raw -I PREROUTING -d %s ! -i <its bridge> -j DROP", to)
}

// dockerBypass finds nat PREROUTING DNATs (Docker's published ports, or
// any port forward) that a packet from the internet gets through while
// the host's INPUT rules alone would keep it out: such traffic is filtered
// by FORWARD, never by INPUT, so host rules for the port do not protect
// it. Reachability is judged with the rule's own destination (every host
// address, or the one it publishes on) and the FORWARD outcome.
func (a *audit) dockerBypass(f *family) []Finding {
	var out []Finding
	var alone *firewall.Evaluator // the rules with no DNAT, made once
	seen := map[string]bool{}
	for _, fd := range forwards(f.ev) {
		r, port := fd.Rule, fd.Ports.Lo
		q := firewall.Query{Proto: r.Proto(), Port: port, Addr: fd.Addr}
		key := r.Proto() + "/" + netip.AddrPortFrom(fd.Addr, port).String()
		if seen[key] {
			continue
		}
		got := f.ev.Evaluate(q)
		if got.Verdict == firewall.Blocked || got.Verdict == firewall.NotApplicable || got.Verdict == firewall.Unknown {
			continue // FORWARD lets nobody through: nothing bypasses anything
		}
		if alone == nil {
			alone = f.ev.WithoutDNAT()
		}
		in := alone.Evaluate(q)
		if !(in.Verdict == firewall.Blocked || (in.Verdict == firewall.Restricted && got.Verdict == firewall.Open)) {
			continue // INPUT would let them in anyway
		}
		seen[key] = true
		fnd := Finding{
			ID: "docker-bypass", Severity: Medium, Family: string(f.fam), Proto: r.Proto(), Port: port,
			Title:  "published port is forwarded past the INPUT rules",
			Detail: fmt.Sprintf("nat %s sends %s %s arriving from outside to another address: FORWARD lets it in (%s) where INPUT alone would say %s", fd.Chain.Name, r.Proto(), portList(r.DPorts()), got.Verdict, in.Verdict),
			Rule:   r.Text, Source: fd.Ruleset.Source, Line: r.Line,
			Remediation: bypassRemedy(r, port),
		}
		out = append(out, withService(fnd))
	}
	return out
}

// withService names the finding's service, high when it is sensitive.
func withService(fd Finding) Finding {
	if svc, ok := scan.Identify(fd.Proto, fd.Port, ""); ok {
		fd.Service = svc.Name
		if svc.Sensitive {
			fd.Severity = High
		}
	}
	return fd
}

// bypassRemedy says where to filter a forwarded port: DOCKER-USER for
// iptables (it sees forwarded traffic before Docker's rules), a base chain
// of one's own on the forward hook for native nft (Docker 29's nftables
// backend has no DOCKER-USER), or a publish on 127.0.0.1 only.
func bypassRemedy(r *firewall.Rule, port uint16) string {
	local := fmt.Sprintf("or publish it on 127.0.0.1 only (-p 127.0.0.1:%d:...)", port)
	if r.Native {
		return "filter it in a base chain of your own, in a table of your own, on the forward hook at a priority before Docker's (type filter hook forward priority filter - 1), matching ct original proto-dst " + fmt.Sprint(port) + ", " + local
	}
	return "filter it in the DOCKER-USER chain (it sees forwarded traffic before Docker's rules), matching -m conntrack --ctorigdstport " + fmt.Sprint(port) + ", " + local
}

func blocks(r *firewall.Rule) bool { return r.Denies() }

// unlessManaged appends fd to out, unless its rule r is one of a firewall
// manager's own (ufw's before.rules, firewalld's zone dispatch and final
// reject): those are not the admin's to delete or move, and a manager
// reload would put them back. They are kept for managerFindings.
func (a *audit) unlessManaged(out []Finding, rs *firewall.Ruleset, r *firewall.Rule, fd Finding) []Finding {
	m := rs.ManagedBy(r)
	if m == "" {
		return append(out, fd)
	}
	if a.managers == nil {
		a.managers = map[string][]Finding{}
	}
	a.managers[m] = append(a.managers[m], fd)
	return out
}

// managerFindings sums up, per manager, the findings about its own rules
// in one informational finding that names them.
func (a *audit) managerFindings() []Finding {
	var out []Finding
	for _, m := range []string{"firewalld", "ufw"} {
		fs := a.managers[m]
		if len(fs) == 0 {
			continue
		}
		var ids []string
		for _, fd := range fs {
			ids = append(ids, fd.ID)
		}
		ids = dedupe(ids)
		first := fs[0]
		detail := fmt.Sprintf("%d finding(s) (%s) are about rules %s loads itself, not rules added to it: the first is %s", len(fs), strings.Join(ids, ", "), m, first.Detail)
		if first.Rule != "" {
			detail += " (" + first.Rule + ")"
		}
		out = append(out, Finding{
			ID: "manager-rules", Severity: Info,
			Title:       m + "'s own rules: not listed as work",
			Detail:      detail,
			Source:      first.Source,
			Remediation: "nothing to do: " + m + " puts these rules back on every reload; change them through " + m + "'s own configuration if at all",
		})
	}
	return out
}
