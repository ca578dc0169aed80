package firewall

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// runtimeModules are match modules whose result depends on state the
// evaluator cannot see (counters, sets, timers, payload, MAC addresses,
// marks set elsewhere, routing). A rule using one is explored both ways.
var runtimeModules = map[string]bool{
	"limit": true, "hashlimit": true, "set": true, "string": true, "connlimit": true, "time": true,
	"statistic": true, "u32": true, "bpf": true, "mac": true, "physdev": true,
	"connmark": true, "length": true, "ttl": true, "hl": true, "tos": true, "dscp": true, "ecn": true,
	"owner": true, "helper": true, "policy": true, "quota": true, "connbytes": true,
	"nfacct": true, "socket": true, "cgroup": true, "devgroup": true, "realm": true, "osf": true,
	"geoip": true, "condition": true, "tcpmss": true, "frag": true, "hbh": true, "rt": true, "dst": true,
	"ipv6header": true, "mh": true, "ah": true, "esp": true, "cluster": true, "cpu": true, "ipvs": true,
	"rateest": true, "l2tp": true, "connlabel": true, "recent": true, "ipv4options": true, "eui64": true,
	"srh": true, "dccp": true, "ipcomp": true, "sctp": false,
}

// extHeaderModules match IPv6 extension headers (iptables-extensions: rt,
// frag, hbh, dst, mh); they never match a packet without one.
var extHeaderModules = map[string]bool{"rt": true, "frag": true, "hbh": true, "dst": true, "mh": true}

// knownModules are understood option by option (see modOption).
var knownModules = map[string]bool{
	"tcp": true, "udp": true, "udplite": true, "sctp": true, "multiport": true, "icmp": true, "icmp6": true,
	"state": true, "conntrack": true, "comment": true, "addrtype": true, "iprange": true, "pkttype": true,
	"rpfilter": true, "mark": true,
}

type ruleCompiler struct {
	r    *Rule
	m    *matchSet
	fam  Family
	toks []token
	i    int
	mods []string
	// recent: only --set given so far (always matches)
	recentRuntime bool
	arena         *[]rng
}

// extraPool recycles the matchExtra of rules that turn out not to need one.
var extraPool = sync.Pool{New: func() any { return new(matchExtra) }}

// compileRule fills r's summary fields and compiled matches from the words
// after "-A CHAIN".
func compileRule(r *Rule, toks []token, fam Family, arena *[]rng) error {
	c := ruleCompiler{r: r, m: &r.m, fam: fam, toks: toks, arena: arena}
	c.m.proto = -1
	scratch := extraPool.Get().(*matchExtra)
	*scratch = matchExtra{}
	c.m.x = scratch
	err := c.run()
	if scratch.empty() {
		c.m.x = noExtra
		extraPool.Put(scratch)
	} // else the rule keeps it
	return err
}

func (c *ruleCompiler) value(opt string) (string, bool, error) {
	neg := false
	if c.i < len(c.toks) && c.toks[c.i].s == "!" && !c.toks[c.i].quoted {
		neg = true // old form "-s ! 10.0.0.0/8"
		c.i++
	}
	if c.i >= len(c.toks) {
		return "", neg, fmt.Errorf("option %q needs a value", opt)
	}
	v := c.toks[c.i].s
	c.i++
	return v, neg, nil
}

func isOption(t token) bool {
	if t.quoted || len(t.s) < 2 || t.s[0] != '-' {
		return t.s == "!" && !t.quoted
	}
	if t.s[1] >= '0' && t.s[1] <= '9' {
		return false // a negative number is a value
	}
	return true
}

func (c *ruleCompiler) run() error {
	m, r := c.m, c.r
	neg := false
	for c.i < len(c.toks) {
		t := c.toks[c.i]
		if t.s == "!" && !t.quoted {
			neg = true
			c.i++
			continue
		}
		if c.unsupportedRevision() {
			// an iptables newer than the one that saved the file: the
			// match's options were not printed
			why := "[unsupported revision]"
			if len(c.mods) > 0 {
				why = "-m " + c.mods[len(c.mods)-1] + " " + why
			}
			r.writeMore().unknown = append(r.Unknown(), why)
			c.addRuntime(why)
			continue
		}
		if t.quoted || !strings.HasPrefix(t.s, "-") {
			return fmt.Errorf("unexpected word %q", t.s)
		}
		opt := t.s
		c.i++
		switch opt {
		case "-p", "--protocol":
			v, n, err := c.value(opt)
			if err != nil {
				return err
			}
			p, err := parseProto(v)
			if err != nil {
				return err
			}
			m.proto, m.protoNeg = int16(p), neg || n
			more := r.writeMore()
			more.proto, more.protoNeg = strings.ToLower(v), m.protoNeg
			if name, ok := protoName[p]; ok {
				more.proto = name
			}
			if p == -1 {
				more.proto = ""
			}
		case "-s", "--source", "--src", "-d", "--destination", "--dst":
			v, n, err := c.value(opt)
			if err != nil {
				return err
			}
			set, err := c.addrSet(v)
			if err != nil {
				return err
			}
			c.m.andAddrs(set, neg || n, opt == "-s" || opt == "--source" || opt == "--src", (*matchSet).andDst)
		case "-i", "--in-interface", "-o", "--out-interface":
			v, n, err := c.value(opt)
			if err != nil {
				return err
			}
			im := ifaceMatch{set: true, neg: neg || n, name: v}
			if strings.HasSuffix(v, "+") {
				im.wild, im.name = true, strings.TrimSuffix(v, "+")
			}
			if opt[1] == 'i' || opt == "--in-interface" {
				m.in = im
			} else {
				m.x.out = im
			}
		case "-f", "--fragment":
			m.frag = 1
			if neg {
				m.frag = -1
			}
		case "-m", "--match":
			v, _, err := c.value(opt)
			if err != nil {
				return err
			}
			c.mods = append(c.mods, v)
			switch {
			case v == "rpfilter":
				m.x.rpf = &rpf{why: "-m rpfilter"}
			case knownModules[v]:
			case v == "recent":
			case extHeaderModules[v]:
				// a plain SYN or datagram carries no IPv6 extension header,
				// and a sender can always leave them out
				m.never = true
			case runtimeModules[v]:
				c.addRuntime("-m " + v)
				if v == "owner" && m.x.owner == nil {
					m.x.owner = &ownerMatch{why: "-m owner"}
				}
			default:
				r.writeMore().unknown = append(r.Unknown(), "-m "+v)
				c.addRuntime("-m " + v)
			}
		case "-j", "--jump", "-g", "--goto":
			v, _, err := c.value(opt)
			if err != nil {
				return err
			}
			r.Target = v
			m.goTo = opt == "-g" || opt == "--goto"
			r.Goto = m.goTo
			c.targetArgs()
			m.x.nat = iptablesNAT(v, m.x.targetArgs)
			switch {
			case m.x.actWhy != "":
				m.x.nat = nil // its options are not known
				if v == "MARK" || v == "CONNMARK" {
					m.x.markSet = &markOp{unknown: true}
				}
			case v == "MARK":
				m.x.markSet = iptablesMarkOp(m.x.targetArgs)
			case v == "CONNMARK":
				if _, ok := m.x.targetArgs["--restore-mark"]; ok {
					m.x.markSet = &markOp{unknown: true} // the connection's mark, not known here
				}
			}
		case "-c", "--set-counters":
			if c.i+1 >= len(c.toks) {
				return fmt.Errorf("option %q needs two values", opt)
			}
			c.i += 2
		default:
			if err := c.modOption(opt, neg); err != nil {
				return err
			}
		}
		neg = false
	}
	if c.recentRuntime {
		c.addRuntime("-m recent")
	}
	if o := m.x.owner; o != nil && len(o.uids) == 0 {
		o.unsure = true
	}
	m.finish()
	return nil
}

// finish marks a rule that matches on nothing but its source address.
func (m *matchSet) finish() {
	m.srcOnly = m.proto == -1 && !m.in.set && !m.x.out.set && m.frag == 0 && !m.x.hasDst && !m.x.hasOrigDst &&
		len(m.x.ports) == 0 && len(m.x.states) == 0 && len(m.x.flags) == 0 && len(m.x.tcpOpts) == 0 && len(m.x.icmp) == 0 &&
		len(m.x.addrtype) == 0 && len(m.x.runtime) == 0 && !m.never && len(m.x.protos) == 0 &&
		len(m.x.ifaces) == 0 && m.x.actWhy == "" && m.x.rpf == nil && len(m.x.marks) == 0 && m.x.markSet == nil
}

// addrSet parses an address option, taking single prefixes from the
// parser's arena (a blocklist has one per rule).
func (c *ruleCompiler) addrSet(v string) (addrSet, error) {
	v, err := iptablesAddr(v)
	if err != nil {
		return addrSet{}, err
	}
	if c.arena == nil || strings.IndexByte(v, ',') >= 0 {
		return parseAddrSet(v, c.fam)
	}
	p, ok := parsePrefix4(v)
	if !ok || c.fam != IPv4 {
		if p, err = parseCIDR(v, c.fam); err != nil {
			return addrSet{}, err
		}
	}
	one := prefixRange(c.fam, p)
	if len(*c.arena) == 0 {
		*c.arena = make([]rng, 512)
	}
	a := *c.arena
	a[0] = one
	*c.arena = a[1:]
	return addrSet{fam: c.fam, r: a[0:1:1]}, nil
}

// parsePrefix4 reads "a.b.c.d" or "a.b.c.d/n" (n from 0 to 32, decimal)
// as parseCIDR does, without its allocations; ok is false for anything
// else (IPv6, a netmask, a malformed value), which parseCIDR then reads or
// refuses. Like netip.ParseAddr it refuses leading zeros in a field.
func parsePrefix4(v string) (netip.Prefix, bool) {
	var b [4]byte
	i := 0
	for f := 0; f < 4; f++ {
		if f > 0 {
			if i >= len(v) || v[i] != '.' {
				return netip.Prefix{}, false
			}
			i++
		}
		start, n := i, 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' && i-start < 3 {
			n = n*10 + int(v[i]-'0')
			i++
		}
		if i == start || n > 255 || (v[start] == '0' && i-start > 1) {
			return netip.Prefix{}, false
		}
		b[f] = byte(n)
	}
	bits := 32
	if i < len(v) {
		if v[i] != '/' || i+1 == len(v) || len(v)-i-1 > 2 {
			return netip.Prefix{}, false
		}
		bits = 0
		for _, d := range []byte(v[i+1:]) {
			if d < '0' || d > '9' {
				return netip.Prefix{}, false
			}
			bits = bits*10 + int(d-'0')
		}
		if bits > 32 {
			return netip.Prefix{}, false
		}
	}
	p, err := netip.AddrFrom4(b).Prefix(bits)
	return p, err == nil
}

// iptablesAddr rewrites an -s or -d value the way iptables reads it: a
// prefix length is a C number (strtoul base 0), so "/010" is /8 and
// "/0x10" is /16, and "/08" is refused; an IPv6 zone ("fe80::1%eth0") is
// refused (iptables looks it up as a host name and fails). Seen with
// iptables-restore and ip6tables-restore 1.8.9, legacy and nft.
func iptablesAddr(v string) (string, error) {
	if strings.IndexByte(v, '%') >= 0 {
		return "", fmt.Errorf("bad address %q: iptables takes no IPv6 zone", v)
	}
	if strings.IndexByte(v, '/') < 0 || plainMasks(v) {
		return v, nil
	}
	parts := strings.Split(v, ",")
	for i, el := range parts {
		a, m, ok := strings.Cut(el, "/")
		if !ok || m == "" || strings.ContainsAny(m, ".:") {
			continue // no mask, or a netmask written as an address
		}
		n, ok := cNumber(strings.TrimPrefix(m, "+"))
		if !ok {
			return "", fmt.Errorf("bad mask in %q", el)
		}
		parts[i] = a + "/" + strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, ","), nil
}

// plainMasks: every prefix length in the address list v is already written
// as iptablesAddr would rewrite it (decimal, no leading zero or sign), so v
// needs no copy. A blocklist has one such address per rule.
func plainMasks(v string) bool {
	for v != "" {
		el := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			el, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		i := strings.IndexByte(el, '/')
		if i < 0 {
			continue
		}
		m := el[i+1:]
		if m == "" || len(m) > 3 || (m[0] == '0' && len(m) > 1) {
			return false
		}
		for j := 0; j < len(m); j++ {
			if m[j] < '0' || m[j] > '9' {
				return false
			}
		}
	}
	return true
}

// cNumber reads an unsigned number as C's strtoul with base 0 does: "0x"
// hexadecimal, a leading 0 octal, else decimal; all of s must be digits.
func cNumber(s string) (uint64, bool) {
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 32)
	return n, err == nil
}

func (c *ruleCompiler) addRuntime(reason string) {
	for _, r := range c.m.x.runtime {
		if r == reason {
			return
		}
	}
	c.m.x.runtime = append(c.m.x.runtime, reason)
}

// unsupportedRevision consumes the words "[unsupported revision]", which
// iptables-save 1.8.9 and later print after a match or target of a revision
// it cannot show (the rule came from another iptables version).
func (c *ruleCompiler) unsupportedRevision() bool {
	if c.i+1 < len(c.toks) && c.toks[c.i].s == "[unsupported" && c.toks[c.i+1].s == "revision]" &&
		!c.toks[c.i].quoted && !c.toks[c.i+1].quoted {
		c.i += 2
		return true
	}
	return false
}

// revisionKeepsFate: targets whose effect on delivery does not depend on
// their options.
var revisionKeepsFate = map[string]bool{"ACCEPT": true, "DROP": true, "REJECT": true, "LOG": true, "NFLOG": true, "ULOG": true, "AUDIT": true, "TRACE": true}

// targetArgs reads the target's options: everything after -j TARGET.
func (c *ruleCompiler) targetArgs() {
	for c.i < len(c.toks) {
		if c.unsupportedRevision() {
			why := "-j " + c.r.Target + " [unsupported revision]"
			c.r.writeMore().unknown = append(c.r.Unknown(), why)
			if !revisionKeepsFate[c.r.Target] {
				c.m.x.actWhy = why
			}
			continue
		}
		t := c.toks[c.i]
		c.i++
		if t.quoted || !strings.HasPrefix(t.s, "--") {
			continue
		}
		val := ""
		if c.i < len(c.toks) && !isOption(c.toks[c.i]) {
			val = c.toks[c.i].s
			c.i++
		}
		if c.m.x.targetArgs == nil {
			c.m.x.targetArgs = map[string]string{}
		}
		c.m.x.targetArgs[t.s] = val
	}
}

// owner finds the loaded module that defines opt; protocol matches are
// loaded implicitly by -p (iptables does the same).
func (c *ruleCompiler) owner(opt string) string {
	for k := len(c.mods) - 1; k >= 0; k-- {
		if moduleHas(c.mods[k], opt) {
			return c.mods[k]
		}
	}
	if name, ok := protoName[int(c.m.proto)]; ok {
		mod := name
		if mod == "icmpv6" {
			mod = "icmp6"
		}
		if moduleHas(mod, opt) {
			return mod
		}
	}
	for k := len(c.mods) - 1; k >= 0; k-- {
		if !knownModules[c.mods[k]] && c.mods[k] != "recent" {
			return c.mods[k] // an opaque module takes any option
		}
	}
	return ""
}

var moduleOptions = map[string][]string{
	"tcp":       {"--sport", "--source-port", "--dport", "--destination-port", "--syn", "--tcp-flags", "--tcp-option"},
	"udp":       {"--sport", "--source-port", "--dport", "--destination-port"},
	"udplite":   {"--sport", "--source-port", "--dport", "--destination-port"},
	"sctp":      {"--sport", "--source-port", "--dport", "--destination-port", "--chunk-types"},
	"multiport": {"--dports", "--destination-ports", "--sports", "--source-ports", "--ports"},
	"icmp":      {"--icmp-type"},
	"icmp6":     {"--icmpv6-type"},
	"state":     {"--state"},
	"conntrack": {"--ctstate", "--ctproto", "--ctorigsrc", "--ctorigdst", "--ctreplsrc", "--ctrepldst", "--ctorigsrcport", "--ctorigdstport", "--ctreplsrcport", "--ctrepldstport", "--ctstatus", "--ctexpire", "--ctdir"},
	"comment":   {"--comment"},
	"addrtype":  {"--src-type", "--dst-type", "--limit-iface-in", "--limit-iface-out"},
	"iprange":   {"--src-range", "--dst-range"},
	"pkttype":   {"--pkt-type"},
	"rpfilter":  {"--loose", "--validmark", "--accept-local", "--invert"},
	"mark":      {"--mark"},
	"owner":     {"--uid-owner", "--gid-owner", "--suppl-groups", "--socket-exists"},
	"recent":    {"--name", "--set", "--rcheck", "--update", "--remove", "--seconds", "--hitcount", "--rttl", "--rsource", "--rdest", "--reap", "--mask"},
}

func moduleHas(mod, opt string) bool {
	for _, o := range moduleOptions[mod] {
		if o == opt {
			return true
		}
	}
	return false
}

// opaque consumes the values of an option it does not interpret.
func (c *ruleCompiler) opaque() []string {
	var vals []string
	for c.i < len(c.toks) && !isOption(c.toks[c.i]) {
		vals = append(vals, c.toks[c.i].s)
		c.i++
	}
	return vals
}

func (c *ruleCompiler) modOption(opt string, neg bool) error {
	m := c.m
	mod := c.owner(opt)
	switch {
	case mod == "":
		c.opaque()
		c.r.writeMore().unknown = append(c.r.Unknown(), opt)
		c.addRuntime(fmt.Sprintf("unknown option %q", opt))
		return nil
	case extHeaderModules[mod]:
		c.opaque()
		return nil
	case mod == "owner" && m.x.owner != nil:
		c.ownerOption(opt, neg)
		return nil
	case !knownModules[mod] && mod != "recent":
		c.opaque() // already a runtime reason: "-m mod"
		return nil
	}
	if mod == "rpfilter" && m.x.rpf != nil {
		switch opt {
		case "--loose":
			m.x.rpf.loose = true
		case "--invert":
			m.x.rpf.failing = true
		case "--validmark":
		case "--accept-local":
			// local source addresses pass: never a packet from outside
		default:
			return fmt.Errorf("unknown rpfilter option %q", opt)
		}
		return nil
	}
	if mod == "mark" && opt == "--mark" {
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		val, mask, err := parseMarkValue(v)
		if err != nil {
			return err
		}
		m.x.marks = append(m.x.marks, markMatch{mask: mask, val: val & mask, neg: neg || n})
		return nil
	}
	switch opt {
	case "--sport", "--source-port", "--dport", "--destination-port":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		pr, err := parsePortRange(v)
		if err != nil {
			return err
		}
		pm := portMatch{kind: portDst, neg: neg || n, ranges: []PortRange{pr}}
		if strings.Contains(opt, "s") && (opt == "--sport" || opt == "--source-port") {
			pm.kind = portSrc
		}
		c.addPorts(pm)
	case "--dports", "--destination-ports", "--sports", "--source-ports", "--ports":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		prs, err := parsePortList(v)
		if err != nil {
			return err
		}
		pm := portMatch{kind: portDst, neg: neg || n, ranges: prs}
		switch opt {
		case "--sports", "--source-ports":
			pm.kind = portSrc
		case "--ports":
			pm.kind = portEither
		}
		c.addPorts(pm)
	case "--syn":
		m.x.flags = append(m.x.flags, flagMatch{mask: tcpFIN | tcpSYN | tcpRST | tcpACK, comp: tcpSYN, neg: neg})
	case "--tcp-flags":
		if c.i < len(c.toks) && c.toks[c.i].s == "!" {
			neg = true
			c.i++
		}
		if c.i+1 >= len(c.toks) {
			return fmt.Errorf("option %q needs two values", opt)
		}
		mask, err := parseFlags(c.toks[c.i].s)
		if err != nil {
			return err
		}
		comp, err := parseFlags(c.toks[c.i+1].s)
		if err != nil {
			return err
		}
		c.i += 2
		m.x.flags = append(m.x.flags, flagMatch{mask: mask, comp: comp, neg: neg})
	case "--icmp-type", "--icmpv6-type":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		im, err := parseICMP(v, opt == "--icmpv6-type")
		if err != nil {
			return err
		}
		im.neg = neg || n
		m.x.icmp = append(m.x.icmp, im)
	case "--state", "--ctstate":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		mask, err := parseMask(v, stateNames, "state")
		if err != nil {
			return err
		}
		m.x.states = append(m.x.states, stateMatch{mask: mask, neg: neg || n})
	case "--ctorigsrc", "--ctorigdst":
		// the connection's original addresses: for a NEW connection the
		// source is the packet's, the destination the one the client
		// used, before any DNAT
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		set, err := parseAddrSet(v, c.fam)
		if err != nil {
			return err
		}
		c.m.andAddrs(set, neg || n, opt == "--ctorigsrc", (*matchSet).andOrigDst)
	case "--ctorigsrcport", "--ctorigdstport":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		pr, err := parsePortRange(v)
		if err != nil {
			return err
		}
		// the connection's original ports: for a NEW connection the
		// source port is the packet's, the destination port the one the
		// client used, before any DNAT (Docker's DOCKER-USER advice)
		pm := portMatch{kind: portOrigDst, neg: neg || n, ranges: []PortRange{pr}}
		if opt == "--ctorigsrcport" {
			pm.kind = portSrc
		}
		c.addPorts(pm)
	case "--ctproto":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		p, err := parseProto(v)
		if err != nil {
			return err
		}
		if m.proto == -1 && p != -1 {
			m.proto, m.protoNeg = int16(p), neg || n
		} else if p != -1 && (int(m.proto) != p || m.protoNeg != (neg || n)) {
			c.addRuntime("-m conntrack " + opt)
		}
	case "--tcp-option":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		k, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return fmt.Errorf("bad tcp option %q", v)
		}
		m.x.tcpOpts = append(m.x.tcpOpts, tcpOptMatch{kind: uint8(k), neg: neg || n})
	case "--ctreplsrc", "--ctrepldst", "--ctreplsrcport", "--ctrepldstport", "--ctstatus", "--ctexpire", "--ctdir", "--chunk-types":
		c.opaque()
		c.addRuntime("-m " + mod + " " + opt)
	case "--comment":
		if _, _, err := c.value(opt); err != nil {
			return err
		}
	case "--src-type", "--dst-type":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		mask, err := parseMask(v, addrtypeNames, "address type")
		if err != nil {
			return err
		}
		am := addrtypeMatch{}
		if opt == "--src-type" {
			am.src, am.srcNeg = mask, neg || n
		} else {
			am.dst, am.dstNeg = mask, neg || n
		}
		m.x.addrtype = append(m.x.addrtype, am)
	case "--limit-iface-in", "--limit-iface-out":
	case "--src-range", "--dst-range":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		set, err := parseRange(v, c.fam)
		if err != nil {
			return err
		}
		c.m.andAddrs(set, neg || n, opt == "--src-range", (*matchSet).andDst)
	case "--pkt-type":
		v, n, err := c.value(opt)
		if err != nil {
			return err
		}
		var mask uint16
		switch strings.ToLower(v) {
		case "unicast":
			mask = atUnicast | atLocal
		case "broadcast":
			mask = atBroadcast
		case "multicast":
			mask = atMulticast
		default:
			return fmt.Errorf("unknown packet type %q", v)
		}
		m.x.addrtype = append(m.x.addrtype, addrtypeMatch{dst: mask, dstNeg: neg || n})
	case "--rcheck", "--update", "--remove":
		c.recentRuntime = true
	case "--set", "--rttl", "--rsource", "--rdest", "--reap":
		// --set always matches (it records the source)
	case "--name", "--seconds", "--hitcount", "--mask":
		if _, _, err := c.value(opt); err != nil {
			return err
		}
	default:
		c.opaque()
		c.addRuntime("-m " + mod + " " + opt)
	}
	return nil
}

func (c *ruleCompiler) addPorts(pm portMatch) {
	c.m.x.ports = append(c.m.x.ports, pm)
	if pm.kind != portSrc {
		more := c.r.writeMore()
		more.dports, more.dportsNeg = pm.ranges, pm.neg
	}
}

func parseFlags(s string) (uint8, error) { return parseMask(s, flagNames, "tcp flag") }

// parseMask ORs together the bits of a comma-separated list of names
// (conntrack states, TCP flags, address types), case-insensitively.
func parseMask[T ~uint8 | ~uint16](s string, names map[string]T, what string) (T, error) {
	var out T
	for _, f := range strings.Split(s, ",") {
		b, ok := names[strings.ToUpper(f)]
		if !ok {
			return 0, fmt.Errorf("unknown %s %q", what, f)
		}
		out |= b
	}
	return out, nil
}

// parseRange reads an iprange "a-b" (or a single address).
func parseRange(s string, fam Family) (addrSet, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		hi = lo
	}
	a, err1 := parseCIDR(lo, fam)
	b, err2 := parseCIDR(hi, fam)
	if err1 != nil || err2 != nil || a.Bits() != a.Addr().BitLen() || b.Bits() != b.Addr().BitLen() {
		return addrSet{}, fmt.Errorf("bad address range %q", s)
	}
	return rangeSet(fam, a.Addr(), b.Addr()), nil
}

// token is one word of a rule; quoted words are never options.
type token struct {
	s      string
	quoted bool
}

// ownerOption reads an option of -m owner: --uid-owner N or N-M (as
// iptables-save prints it, numeric) is kept to be decided on a reply of a
// socket of known uid; anything else leaves the match unsure.
func (c *ruleCompiler) ownerOption(opt string, neg bool) {
	o := c.m.x.owner
	vals := c.opaque()
	if opt != "--uid-owner" || len(vals) != 1 {
		o.unsure = true
		return
	}
	lo, hi, ok := strings.Cut(vals[0], "-")
	if !ok {
		hi = lo
	}
	a, err1 := strconv.ParseUint(lo, 10, 32)
	b, err2 := strconv.ParseUint(hi, 10, 32)
	if err1 != nil || err2 != nil || a > b {
		o.unsure = true // a user name, or a form not read
		return
	}
	o.uids = append(o.uids, uidMatch{ranges: [][2]uint32{{uint32(a), uint32(b)}}, neg: neg})
}
