package firewall

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall/services"
)

// matchSet is a rule compiled for evaluation. The source address is kept
// apart (src) because the evaluator treats it as a set; every other match
// is tested against one concrete packet context.
type matchSet struct {
	src addrSet // -s and --src-range, negations applied
	in  ifaceMatch

	// x holds the matches a blocklist rule does not use, so that the
	// common rule stays small; it is never nil for a parsed rule
	x *matchExtra

	// the small fields last, packed in one word: a blocklist of 100,000
	// rules holds 100,000 of these
	proto    int16 // -1: any
	hasSrc   bool
	protoNeg bool
	frag     int8 // 1: -f (non-first fragments), -1: ! -f
	never    bool // a match that cannot hold for traffic to this host
	goTo     bool
	srcOnly  bool // nothing but a source match
}

// matchExtra is the less common part of a compiled rule.
type matchExtra struct {
	hasDst bool
	dst    addrSet
	out    ifaceMatch
	// origDst: the connection's original destination (conntrack
	// --ctorigdst, nft ct original daddr), the address before any DNAT
	hasOrigDst bool
	origDst    addrSet

	ports    []portMatch
	states   []stateMatch
	flags    []flagMatch
	tcpOpts  []tcpOptMatch
	icmp     []icmpMatch
	addrtype []addrtypeMatch

	runtime    []string // reasons: matches that depend on state the evaluator cannot see
	targetArgs map[string]string
	nat        *natTarget // DNAT and REDIRECT: where the packet goes

	// nft matches that take sets of values
	protos []protoCond
	ifaces []ifaceCond
	// marks: packet mark matches; markSet: the rule sets the mark
	marks   []markMatch
	markSet *markOp
	// rpf: a reverse-path check, a set of sources per input interface
	rpf *rpf
	// actWhy: the rule's action is not understood (nft: an anonymous
	// chain, a queue); any verdict that depends on it is conditional
	actWhy string
	// owner: a match on the sending socket's owner (-m owner, meta
	// skuid); its reason is also in runtime, dropped where it is decided
	owner *ownerMatch
}

// ownerMatch is a match on the owner of the socket that sends a packet:
// iptables -m owner --uid-owner, nft meta skuid. Both test the fsuid of
// the credentials the socket's file was opened with (xt_owner.c,
// nft_meta.c), which is the uid the socket's inode takes at socket() and
// the one /proc/net/tcp and sock_diag report (sock_i_uid). Only on a
// reply of a listener whose uid the scan saw is it decided; a group
// match (--gid-owner, --suppl-groups, meta skgid: the groups of those
// credentials, which /proc does not show), --socket-exists, a name or a
// form not read leave it unsure, as every match on runtime state.
type ownerMatch struct {
	why    string     // its runtime reason: "-m owner", "meta skuid"
	uids   []uidMatch // each must hold
	unsure bool
}

// uidMatch holds when the uid is (not, neg) in one of ranges.
type uidMatch struct {
	ranges [][2]uint32
	neg    bool
}

// decided: the match is known for p, a reply of a socket of known uid.
func (o *ownerMatch) decided(p *pktCtx) bool {
	return o != nil && !o.unsure && len(o.uids) > 0 && p.reply && p.uidKnown
}

// holds: every uid match holds for p's socket (decided(p) assumed).
func (o *ownerMatch) holds(p *pktCtx) bool {
	for _, u := range o.uids {
		in := false
		for _, r := range u.ranges {
			in = in || (p.uid >= r[0] && p.uid <= r[1])
		}
		if in == u.neg {
			return false
		}
	}
	return true
}

// runtimeLeft: some runtime reason of x is not decided for p.
func (x *matchExtra) runtimeLeft(p *pktCtx) bool {
	n := len(x.runtime)
	if n > 0 && x.owner.decided(p) {
		n-- // the owner's reason is in runtime once
	}
	return n > 0
}

// protoCond holds when the packet's protocol is (not) one of a set.
type protoCond struct {
	set [4]uint64 // bit n: protocol n
	neg bool
}

func (c protoCond) has(p int) bool { return p >= 0 && p < 256 && c.set[p/64]&(1<<(p%64)) != 0 }

// ifaceCond holds when the input (or output) interface is (not) one of alts.
type ifaceCond struct {
	out  bool
	neg  bool
	alts []ifaceMatch
}

func (c ifaceCond) test(in, out string) bool {
	name := in
	if c.out {
		name = out
	}
	hit := false
	for _, a := range c.alts {
		if a.test(name) {
			hit = true
			break
		}
	}
	return hit != c.neg
}

// andSrc, andDst and andOrigDst narrow the rule's address matches: a
// second match on the same address intersects with the first.
func (m *matchSet) andSrc(s addrSet) {
	if m.hasSrc {
		s = s.intersect(m.src)
	}
	m.hasSrc, m.src = true, s
}

func (m *matchSet) andDst(s addrSet) {
	if m.x.hasDst {
		s = s.intersect(m.x.dst)
	}
	m.x.hasDst, m.x.dst = true, s
}

func (m *matchSet) andOrigDst(s addrSet) {
	if m.x.hasOrigDst {
		s = s.intersect(m.x.origDst)
	}
	m.x.hasOrigDst, m.x.origDst = true, s
}

// rpf is a reverse-path check: nft "fib saddr [. iif] oif missing" and
// iptables "-m rpfilter [--loose] [--invert]".
type rpf struct {
	loose   bool // any route back will do, not only one out of the input interface
	failing bool // the match holds for packets that fail the check
	why     string
}

// andAddrs ands an address match into the rule: set, or its complement
// when neg, into the source when src, else through toDst (andDst for the
// packet's destination, andOrigDst for the connection's original one).
func (m *matchSet) andAddrs(set addrSet, neg, src bool, toDst func(*matchSet, addrSet)) {
	if neg {
		set = set.complement()
	}
	if src {
		m.andSrc(set)
	} else {
		toDst(m, set)
	}
}

// noExtra is the shared empty matchExtra of rules that need none.
var noExtra = &matchExtra{}

func (x *matchExtra) empty() bool {
	return !x.hasDst && !x.hasOrigDst && !x.out.set && len(x.ports) == 0 && len(x.states) == 0 && len(x.flags) == 0 && len(x.tcpOpts) == 0 &&
		len(x.icmp) == 0 && len(x.addrtype) == 0 && len(x.runtime) == 0 && len(x.targetArgs) == 0 && x.nat == nil &&
		len(x.protos) == 0 && len(x.ifaces) == 0 && x.actWhy == "" && x.rpf == nil &&
		len(x.marks) == 0 && x.markSet == nil
}

type ifaceMatch struct {
	name           string // without a trailing '+'
	set, neg, wild bool
}

// generic is the name used for "an interface no rule names".
const genericIface = "\x00outside"

func (m ifaceMatch) test(name string) bool {
	if !m.set {
		return true
	}
	var ok bool
	if m.wild {
		ok = strings.HasPrefix(name, m.name)
	} else {
		ok = name == m.name
	}
	return ok != m.neg
}

type portKind uint8

const (
	portDst portKind = iota
	portSrc
	portEither  // multiport --ports
	portOrigDst // conntrack --ctorigdstport, nft ct original proto-dst: the port before any DNAT
)

type portMatch struct {
	kind   portKind
	neg    bool
	ranges []PortRange
	proto  int // the protocol the port match belongs to (-p), checked by the caller
}

func inRanges(rs []PortRange, p uint16) bool {
	for _, r := range rs {
		if p >= r.Lo && p <= r.Hi {
			return true
		}
	}
	return false
}

// conntrack states as bits; a NEW connection's first packet is stNew.
const (
	stNew uint8 = 1 << iota
	stEstablished
	stRelated
	stInvalid
	stUntracked
	stSNAT
	stDNAT
)

var stateNames = map[string]uint8{
	"NEW": stNew, "ESTABLISHED": stEstablished, "RELATED": stRelated, "INVALID": stInvalid,
	"UNTRACKED": stUntracked, "SNAT": stSNAT, "DNAT": stDNAT,
}

type stateMatch struct {
	mask uint8
	neg  bool
}

// TCP flag bits as in the TCP header.
const (
	tcpFIN uint8 = 1 << iota
	tcpSYN
	tcpRST
	tcpPSH
	tcpACK
	tcpURG
	tcpECE
	tcpCWR
)

var flagNames = map[string]uint8{
	"FIN": tcpFIN, "SYN": tcpSYN, "RST": tcpRST, "PSH": tcpPSH, "ACK": tcpACK, "URG": tcpURG,
	"ECE": tcpECE, "CWR": tcpCWR, "ALL": 0xff, "NONE": 0,
}

type flagMatch struct {
	mask, comp uint8
	neg        bool
	any        bool // nft "tcp flags syn,ack": some bit of mask is set
}

// tcpOptMatch holds when the TCP header carries (neg: lacks) option kind
// (iptables-extensions(8), tcp --tcp-option).
type tcpOptMatch struct {
	kind uint8
	neg  bool
}

// The options of the packets judged, as Linux sends them (the README says
// so): a client's SYN carries MSS (2), SACK-permitted (4), timestamps (8),
// NOP (1) padding and window scale (3); later segments carry NOP and
// timestamps.
var (
	synOptions   = [256]bool{1: true, 2: true, 3: true, 4: true, 8: true}
	laterOptions = [256]bool{1: true, 8: true}
)

func (o tcpOptMatch) test(flags uint8) bool {
	has := laterOptions[o.kind]
	if flags&tcpSYN != 0 {
		has = synOptions[o.kind]
	}
	return has != o.neg
}

type icmpMatch struct {
	typ            int // -1: any
	codeLo, codeHi int
	neg            bool
	set            *[4]uint64 // nft "icmp type { a, b }": any of these types (typ unused)
}

// addrtype types (iptables-extensions addrtype).
const (
	atUnspec uint16 = 1 << iota
	atUnicast
	atLocal
	atBroadcast
	atAnycast
	atMulticast
	atBlackhole
	atUnreachable
	atProhibit
	atThrow
	atNAT
	atXResolve
)

var addrtypeNames = map[string]uint16{
	"UNSPEC": atUnspec, "UNICAST": atUnicast, "LOCAL": atLocal, "BROADCAST": atBroadcast,
	"ANYCAST": atAnycast, "MULTICAST": atMulticast, "BLACKHOLE": atBlackhole,
	"UNREACHABLE": atUnreachable, "PROHIBIT": atProhibit, "THROW": atThrow, "NAT": atNAT,
	"XRESOLVE": atXResolve,
}

type addrtypeMatch struct {
	src, dst       uint16
	srcNeg, dstNeg bool
}

// protocol numbers (/etc/protocols facts).
var protoNumbers = map[string]int{
	"all": -1, "tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "esp": 50, "ah": 51,
	"gre": 47, "sctp": 132, "udplite": 136, "igmp": 2, "ipv6": 41, "ospf": 89, "vrrp": 112,
	"pim": 103, "dccp": 33, "ipip": 4, "l2tp": 115, "mh": 135, "ipv6-mh": 135,
}

var protoName = map[int]string{6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 50: "esp", 51: "ah", 47: "gre", 132: "sctp", 136: "udplite", 2: "igmp"}

// parseProto accepts a protocol name or number.
func parseProto(s string) (int, error) {
	s = strings.ToLower(s)
	if n, ok := protoNumbers[s]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("unknown protocol %q", s)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(n), nil
	}
	if p, ok := services.Port(strings.ToLower(s)); ok {
		return p, nil
	}
	return 0, fmt.Errorf("bad port %q", s)
}

// parsePortRange reads "80", "1:1023", ":1023", "1024:".
func parsePortRange(s string) (PortRange, error) {
	if lo, hi, ok := strings.Cut(s, ":"); ok {
		r := PortRange{0, 65535}
		var err error
		if lo != "" {
			if r.Lo, err = parsePort(lo); err != nil {
				return r, err
			}
		}
		if hi != "" {
			if r.Hi, err = parsePort(hi); err != nil {
				return r, err
			}
		}
		if r.Lo > r.Hi {
			r.Lo, r.Hi = r.Hi, r.Lo // iptables swaps an inverted range
		}
		return r, nil
	}
	p, err := parsePort(s)
	return PortRange{p, p}, err
}

// parsePortList reads a multiport list "22,80:90,443".
func parsePortList(s string) ([]PortRange, error) {
	var out []PortRange
	for _, f := range strings.Split(s, ",") {
		r, err := parsePortRange(f)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// parseAddrSet reads "1.2.3.4", "10.0.0.0/8", "10.0.0.0/255.0.0.0" or a
// comma list of those (iptables expands lists into several rules, but
// restore files may hold them).
func parseAddrSet(s string, fam Family) (addrSet, error) {
	out := emptySet(fam)
	for _, f := range strings.Split(s, ",") {
		p, err := parseCIDR(f, fam)
		if err != nil {
			return out, err
		}
		out = out.union(prefixSet(fam, p))
	}
	return out, nil
}

func parseCIDR(s string, fam Family) (netip.Prefix, error) {
	a, m, hasMask := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q", s)
	}
	if (fam == IPv4) != addr.Is4() {
		if fam == IPv4 || !addr.Is4In6() {
			return netip.Prefix{}, fmt.Errorf("address %q is not %s", s, fam)
		}
	}
	bits := addr.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(m); err == nil {
			bits = n
		} else if mask, err := netip.ParseAddr(m); err == nil && mask.BitLen() == addr.BitLen() {
			bits = maskBits(mask)
			if bits < 0 {
				return netip.Prefix{}, fmt.Errorf("non-contiguous mask in %q", s)
			}
		} else {
			return netip.Prefix{}, fmt.Errorf("bad mask in %q", s)
		}
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad prefix %q", s)
	}
	return p, nil
}

// icmp type names (iptables -p icmp --help, RFC 792/4443).
var icmpTypes = map[string][3]int{ // type, codeLo, codeHi
	"any": {-1, 0, 255}, "echo-reply": {0, 0, 255}, "pong": {0, 0, 255},
	"destination-unreachable": {3, 0, 255}, "network-unreachable": {3, 0, 0}, "host-unreachable": {3, 1, 1},
	"protocol-unreachable": {3, 2, 2}, "port-unreachable": {3, 3, 3}, "fragmentation-needed": {3, 4, 4},
	"source-route-failed": {3, 5, 5}, "network-prohibited": {3, 9, 9}, "host-prohibited": {3, 10, 10},
	"communication-prohibited": {3, 13, 13}, "source-quench": {4, 0, 255}, "redirect": {5, 0, 255},
	"echo-request": {8, 0, 255}, "ping": {8, 0, 255}, "router-advertisement": {9, 0, 255},
	"router-solicitation": {10, 0, 255}, "time-exceeded": {11, 0, 255}, "ttl-exceeded": {11, 0, 255},
	"ttl-zero-during-transit": {11, 0, 0}, "ttl-zero-during-reassembly": {11, 1, 1},
	"parameter-problem": {12, 0, 255}, "ip-header-bad": {12, 0, 0}, "required-option-missing": {12, 1, 1},
	"timestamp-request": {13, 0, 255}, "timestamp-reply": {14, 0, 255},
	"address-mask-request": {17, 0, 255}, "address-mask-reply": {18, 0, 255},
}

var icmp6Types = map[string][3]int{
	"destination-unreachable": {1, 0, 255}, "no-route": {1, 0, 0}, "communication-prohibited": {1, 1, 1},
	"address-unreachable": {1, 3, 3}, "port-unreachable": {1, 4, 4}, "packet-too-big": {2, 0, 255},
	"time-exceeded": {3, 0, 255}, "ttl-exceeded": {3, 0, 255}, "parameter-problem": {4, 0, 255},
	"echo-request": {128, 0, 255}, "ping": {128, 0, 255}, "echo-reply": {129, 0, 255}, "pong": {129, 0, 255},
	"router-solicitation": {133, 0, 255}, "router-advertisement": {134, 0, 255},
	"neighbour-solicitation": {135, 0, 255}, "neighbor-solicitation": {135, 0, 255},
	"neighbour-advertisement": {136, 0, 255}, "neighbor-advertisement": {136, 0, 255},
	"redirect": {137, 0, 255},
}

func parseICMP(s string, v6 bool) (icmpMatch, error) {
	names := icmpTypes
	if v6 {
		names = icmp6Types
	}
	if t, ok := names[strings.ToLower(s)]; ok {
		return icmpMatch{typ: t[0], codeLo: t[1], codeHi: t[2]}, nil
	}
	ts, cs, hasCode := strings.Cut(s, "/")
	t, err := strconv.Atoi(ts)
	if err != nil || t < 0 || t > 255 {
		return icmpMatch{}, fmt.Errorf("bad icmp type %q", s)
	}
	m := icmpMatch{typ: t, codeLo: 0, codeHi: 255}
	if hasCode {
		c, err := strconv.Atoi(cs)
		if err != nil || c < 0 || c > 255 {
			return icmpMatch{}, fmt.Errorf("bad icmp type %q", s)
		}
		m.codeLo, m.codeHi = c, c
	}
	return m, nil
}

// nonUnicast holds the destinations no listening socket is reached at by
// unicast: IPv4 multicast and limited broadcast, IPv6 multicast.
var nonUnicast = map[Family]addrSet{
	IPv4: prefixSet(IPv4, netip.MustParsePrefix("224.0.0.0/4")).union(
		prefixSet(IPv4, netip.MustParsePrefix("255.255.255.255/32"))),
	IPv6: prefixSet(IPv6, netip.MustParsePrefix("ff00::/8")),
}

// DstAddr is the first address of the rule's destination match (-d, ip
// daddr) that a connection can be made to, loopback included (Docker's
// "-p 127.0.0.1:8083:80" is "-d 127.0.0.1/32"), when it has one.
func (r *Rule) DstAddr() (netip.Addr, bool) {
	x := r.m.x
	if x == nil || !x.hasDst {
		return netip.Addr{}, false
	}
	fam := x.dst.fam
	return x.dst.intersect(normalSpace(fam).union(mustPrefixSet(fam, "127.0.0.0/8", "::1/128"))).firstAddr()
}

// MulticastOnly reports whether the rule only matches packets sent to
// multicast or broadcast addresses (a -d match inside 224.0.0.0/4,
// 255.255.255.255 or ff00::/8), such as ufw's accepts for mDNS and SSDP.
// Such a rule is not about a unicast listener.
func (r *Rule) MulticastOnly() bool {
	x := r.m.x
	if x == nil || !x.hasDst || x.dst.isEmpty() {
		return false
	}
	nu, ok := nonUnicast[x.dst.fam]
	return ok && x.dst.subtract(nu).isEmpty()
}
