package suggest

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// The firewalld rendering: `firewall-cmd --permanent` commands for the
// zone that takes the host's outside traffic (the default zone), then a
// reload. firewalld flushes and rewrites its rules on every reload, so on
// a host it manages the suggestion is made in its terms.
//
// What firewalld (1.x, nftables or iptables backend) makes of a zone's
// settings, as the proof relies on it: the services, ports, protocols and
// accepting rich rules of zone Z become the rules of chain
// filter_IN_Z_allow (IN_Z_allow with iptables), the dropping and
// rejecting rich rules those of filter_IN_Z_deny, which runs first; the
// zone's other chains, ICMP handling and every other zone stay.

// firewalldServices are firewalld's own service names for a port that
// the service defines alone (/usr/lib/firewalld/services): a rule open to
// everyone in both families on that port becomes --add-service.
var firewalldServices = map[string]string{
	"tcp/22": "ssh", "tcp/25": "smtp", "tcp/80": "http", "tcp/443": "https",
	"tcp/465": "smtps", "tcp/587": "smtp-submission", "tcp/993": "imaps",
	"tcp/995": "pop3s", "tcp/143": "imap", "tcp/110": "pop3",
	"tcp/3306": "mysql", "tcp/5432": "postgresql", "tcp/6379": "redis",
	"tcp/9090": "cockpit", "udp/123": "ntp", "udp/1194": "openvpn",
	"udp/51820": "wireguard",
}

// firewalldZone is the zone the suggestion changes: the one
// filter_INPUT_ZONES (INPUT_ZONES) sends every interface no other zone
// holds to, firewalld's default zone. "" when the rules name none.
func firewalldZone(sets []*firewall.Ruleset) (zone string, nft bool) {
	for _, rs := range sets {
		for _, t := range rs.Tables {
			c := t.IptablesFilterChain("INPUT_ZONES")
			if t.NftFamily != "" && t.Name == "firewalld" {
				c = t.Chain("filter_INPUT_ZONES")
			}
			if c == nil || len(c.Rules) == 0 {
				continue
			}
			last := c.Rules[len(c.Rules)-1]
			f := strings.Fields(last.Text)
			// "-A INPUT_ZONES -g IN_public", or nft's "... goto filter_IN_public"
			if target := f[len(f)-1]; strings.HasPrefix(target, "filter_IN_") || strings.HasPrefix(target, "IN_") {
				return strings.TrimPrefix(strings.TrimPrefix(target, "filter_IN_"), "IN_"), t.NftFamily != ""
			}
		}
	}
	return "", false
}

// firewalldBindings reads which zone each interface is bound to, from
// the dispatch chain firewalld makes (nft: iifname "eth0" goto
// filter_IN_internal; iptables: -i eth0 -g IN_internal).
func firewalldBindings(sets []*firewall.Ruleset) map[string]string {
	out := map[string]string{}
	for _, rs := range sets {
		for _, t := range rs.Tables {
			name := "INPUT_ZONES"
			if t.NftFamily != "" {
				name = "filter_INPUT_ZONES"
			}
			c := t.Chain(name)
			if c == nil {
				continue
			}
			for _, r := range c.Rules {
				f := strings.Fields(r.Text)
				iface := ""
				for i := 0; i+1 < len(f); i++ {
					if f[i] == "iifname" || f[i] == "-i" {
						iface = strings.Trim(f[i+1], `"`)
					}
				}
				target := f[len(f)-1]
				if iface == "" || !(strings.HasPrefix(target, "filter_IN_") || strings.HasPrefix(target, "IN_")) {
					continue
				}
				if _, ok := out[iface]; !ok {
					out[iface] = strings.TrimPrefix(strings.TrimPrefix(target, "filter_IN_"), "IN_")
				}
			}
		}
	}
	return out
}

// zoneWide turns the rules limited to input interfaces into rules for
// the whole zone: a zone's rules apply to every interface it holds, so
// a port is opened in the zone when every interface of the zone admits
// the same sources to it today. Otherwise it is left out (narrower) with
// a note; for ssh that could lock the admin out, so it is an error that
// names --ssh-from.
// Rules for interfaces of other zones are left out: those zones keep
// today's settings.
func zoneWide(rules []Rule, zoneIfaces []string) ([]Rule, []string, error) {
	type key struct {
		fam   firewall.Family
		proto string
		port  uint16
		dst   netip.Addr
	}
	keyOf := func(r Rule) key { return key{r.Family, r.Proto, r.Port, r.Dst} }
	on := map[key][]Rule{}      // the rules on the zone's interfaces
	named := map[key][]string{} // every interface with a rule, for the notes
	for _, r := range rules {
		if r.In == "" {
			continue
		}
		named[keyOf(r)] = append(named[keyOf(r)], r.In)
		if slices.Contains(zoneIfaces, r.In) {
			on[keyOf(r)] = append(on[keyOf(r)], r)
		}
	}
	var out []Rule
	var notes []string
	done := map[key]bool{}
	for _, r := range rules {
		if r.In == "" {
			out = append(out, r)
			continue
		}
		k := keyOf(r)
		if done[k] {
			continue
		}
		done[k] = true
		rs := on[k]
		covered := len(zoneIfaces) > 0
		var ins []string
		for _, x := range rs {
			ins = append(ins, x.In)
		}
		for _, i := range zoneIfaces {
			covered = covered && slices.Contains(ins, i)
		}
		if !covered {
			held := "which interfaces the zone holds is not known"
			if len(zoneIfaces) > 0 {
				held = "the zone's rules apply to all of its interfaces (" + strings.Join(zoneIfaces, ", ") + ")"
			}
			if r.Service == "ssh" {
				return nil, nil, fmt.Errorf("ssh on %s/%d over %s is admitted today on %s only, and %s: firewalld's zone cannot say that without locking someone out; use --format iptables or nft, or say who may connect with --ssh-from", r.Proto, r.Port, r.Family, strings.Join(named[k], ", "), held)
			}
			notes = append(notes, fmt.Sprintf("# %s/%d over %s is not opened in the zone: today it is admitted on %s only, and %s", r.Proto, r.Port, r.Family, strings.Join(named[k], ", "), held))
			continue
		}
		// the zone admits what each of its interfaces admits today only
		// when they all admit the same
		same := true
		for _, x := range rs[1:] {
			same = same && addrsOf(x.Sources).equal(addrsOf(rs[0].Sources)) && (x.Sources == nil) == (rs[0].Sources == nil) &&
				addrsOf(x.Except).equal(addrsOf(rs[0].Except))
		}
		if !same {
			if r.Service == "ssh" {
				return nil, nil, fmt.Errorf("ssh on %s/%d over %s admits other sources on each of %s today (a reverse-path check, or rules of other tools): firewalld's zone cannot say that without locking someone out; use --format iptables or nft, or say who may connect with --ssh-from", r.Proto, r.Port, r.Family, strings.Join(zoneIfaces, ", "))
			}
			notes = append(notes, fmt.Sprintf("# %s/%d over %s is not opened in the zone: today it admits other sources on each of %s", r.Proto, r.Port, r.Family, strings.Join(zoneIfaces, ", ")))
			continue
		}
		z := rs[0]
		z.In = ""
		out = append(out, z)
	}
	return out, notes, nil
}

// fwdRule is one setting of the zone the suggestion makes.
type fwdRule struct {
	fam     firewall.Family // "" for both (a service or a port)
	service string          // --add-service
	port    string          // --add-port ("8080/tcp")
	rich    string          // --add-rich-rule
	deny    bool            // a dropping rich rule
	args    [][]string      // the rule's iptables twins per family, for the proof
}

// firewalldRules lists p's settings for the zone, and the comments for
// what it cannot say in firewalld's terms (a rule limited to an input
// interface: firewalld binds interfaces to zones, not rules).
func firewalldRules(p *Policy) ([]fwdRule, []string, error) {
	var out []fwdRule
	var notes []string
	keys, ports := blocklist(append(slices.Clone(p.SSH), p.Rules...))
	for _, k := range keys {
		if k.in != "" {
			notes = append(notes, fmt.Sprintf("# %s is kept out of %s ports on %s only today: firewalld cannot tie a rule to an interface, so it is kept out on every interface", k.src, k.proto, k.in))
		}
		for _, port := range ports[k] {
			out = append(out, fwdRule{fam: k.fam, deny: true,
				rich: richRule(k.fam, k.src, k.dst, k.proto, port, "drop"),
				args: [][]string{ruleArgs(k.src, k.dst, k.proto, port, "DROP")}})
		}
	}
	rules, zn, err := zoneWide(append(slices.Clone(p.SSH), p.Rules...), p.zoneIfaces)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, zn...)
	notes = append(notes, sportNotes(p, "firewalld")...)
	for i := 0; i < len(rules); i++ {
		r := rules[i]
		if r.SPorts != nil {
			continue // not written (sportNotes)
		}
		// open to everyone in both families: one service or port
		if r.Family == firewall.IPv4 && r.Sources == nil && !r.Dst.IsValid() && i+1 < len(rules) {
			n := rules[i+1]
			if n.Family == firewall.IPv6 && n.Proto == r.Proto && n.Port == r.Port && n.Sources == nil && !n.Dst.IsValid() && n.In == "" {
				i++
				key := r.Proto + "/" + strconv.Itoa(int(r.Port))
				u := fwdRule{args: [][]string{ruleArgs(netip.Prefix{}, netip.Addr{}, r.Proto, r.Port, "ACCEPT")}}
				if s, ok := firewalldServices[key]; ok {
					u.service = s
				} else {
					u.port = strconv.Itoa(int(r.Port)) + "/" + r.Proto
				}
				out = append(out, u)
				continue
			}
		}
		srcs := r.Sources
		if srcs == nil {
			srcs = []netip.Prefix{{}}
		}
		for _, s := range srcs {
			out = append(out, fwdRule{fam: r.Family, rich: richRule(r.Family, s, r.Dst, r.Proto, r.Port, "accept"),
				args: [][]string{ruleArgs(s, r.Dst, r.Proto, r.Port, "ACCEPT")}})
		}
	}
	return out, notes, nil
}

// richRule is firewalld's rich rule language for one port.
func richRule(fam firewall.Family, src netip.Prefix, dst netip.Addr, proto string, port uint16, action string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `rule family="%s"`, fam)
	if src.IsValid() && src.Bits() > 0 {
		fmt.Fprintf(&b, ` source address="%s"`, src)
	}
	if dst.IsValid() {
		fmt.Fprintf(&b, ` destination address="%s"`, dst)
	}
	fmt.Fprintf(&b, ` port port="%d" protocol="%s" %s`, port, proto, action)
	return b.String()
}

// ruleArgs is the iptables form of one zone rule, for the proof.
func ruleArgs(src netip.Prefix, dst netip.Addr, proto string, port uint16, target string) []string {
	var a []string
	if src.IsValid() && src.Bits() > 0 {
		a = append(a, "-s", src.String())
	}
	if dst.IsValid() {
		a = append(a, "-d", netip.PrefixFrom(dst, dst.BitLen()).String())
	}
	return append(a, "-p", proto, "-m", proto, "--dport", strconv.Itoa(int(port)), "-j", target)
}

// renderFirewalld writes the firewall-cmd script for zone.
func renderFirewalld(w *bufio.Writer, p *Policy) error {
	if p.onDocker() {
		return fmt.Errorf("the firewalld format cannot keep Docker's published ports: use --format iptables, which keeps Docker's chains")
	}
	zone := p.zone
	rules, notes, err := firewalldRules(p)
	if err != nil {
		return err
	}
	if zone == "" {
		zone = "public"
		notes = append(notes, "# firewalld's rules were not read: zone public, firewalld's usual default, is assumed (ZONE= below)")
	}
	fmt.Fprintf(w, `#!/bin/sh
# Hardened rules for firewalld, generated by fwaudit suggest. Run as root.
# It changes zone %s, the default zone (every interface no other zone
# holds): it removes the services, ports, protocols and rich rules the
# zone has, adds the suggestion's, and reloads. Other zones, and the
# zone's ICMP, masquerade and forward-port settings, stay as they are.
# Check it first with: sh -n FILE
`, zone)
	for _, n := range append(p.Notes, notes...) {
		w.WriteString(n + "\n")
	}
	fmt.Fprintf(w, `set -eu

ZONE=%s
if ! firewall-cmd --state >/dev/null 2>&1; then
	echo 'firewalld is not running: these rules are for a host firewalld manages' >&2
	exit 1
fi
fc() { firewall-cmd --permanent --zone="$ZONE" "$@" >/dev/null; }

echo " * removing what zone $ZONE allows today (permanent configuration)"
for s in $(firewall-cmd --permanent --zone="$ZONE" --list-services); do fc --remove-service="$s"; done
for s in $(firewall-cmd --permanent --zone="$ZONE" --list-ports); do fc --remove-port="$s"; done
for s in $(firewall-cmd --permanent --zone="$ZONE" --list-protocols); do fc --remove-protocol="$s"; done
for s in $(firewall-cmd --permanent --zone="$ZONE" --list-source-ports); do fc --remove-source-port="$s"; done
firewall-cmd --permanent --zone="$ZONE" --list-rich-rules | while IFS= read -r r; do
	if [ -n "$r" ]; then fc --remove-rich-rule="$r"; fi
done

echo ' * adding the suggested rules'
`, shellQuote(zone))
	for _, u := range rules {
		switch {
		case u.service != "":
			w.WriteString("fc --add-service=" + u.service + "\n")
		case u.port != "":
			w.WriteString("fc --add-port=" + u.port + "\n")
		default:
			w.WriteString("fc --add-rich-rule=" + shellQuote(u.rich) + "\n")
		}
	}
	w.WriteString(`
echo ' * loading the permanent configuration'
firewall-cmd --reload
firewall-cmd --zone="$ZONE" --list-all
`)
	return nil
}

// firewalldAfter is what firewalld holds in fam once the script has run
// and it has reloaded: today's rules with the zone's allow and deny
// chains holding exactly the suggestion's settings.
func firewalldAfter(p *Policy, today []*firewall.Ruleset, fam firewall.Family) ([]*firewall.Ruleset, error) {
	zone, nft := firewalldZone(today)
	if zone == "" {
		return nil, fmt.Errorf("firewalld's zones are not loaded in %s: the firewalld format is for a host firewalld manages", fam)
	}
	allow, deny := "IN_"+zone+"_allow", "IN_"+zone+"_deny"
	if nft {
		allow, deny = "filter_"+allow, "filter_"+deny
	}
	rules, _, err := firewalldRules(p)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("*filter\n:" + allow + " - [0:0]\n:" + deny + " - [0:0]\n")
	for _, u := range rules {
		if u.fam != "" && u.fam != fam {
			continue
		}
		chain := allow
		if u.deny {
			chain = deny
		}
		for _, a := range u.args {
			buf.WriteString(saveLine(append([]string{"-A", chain}, a...)) + "\n")
		}
	}
	buf.WriteString("COMMIT\n")
	rs, err := firewall.ParseSave(&buf, "firewalld zone "+zone, fam)
	if err != nil {
		return nil, err
	}
	isZone := func(t *firewall.Table) bool {
		if nft {
			return t.NftFamily != "" && t.Name == "firewalld" && t.Chain(allow) != nil
		}
		return t.IptablesFilterChain(allow) != nil
	}
	if out, ok := firewall.WithChains(today, isZone, map[string][]*firewall.Rule{allow: rs.IptablesFilterChain(allow).Rules, deny: rs.IptablesFilterChain(deny).Rules}, nil); ok {
		return out, nil
	}
	return nil, fmt.Errorf("firewalld's zone %s has no allow chain in %s", zone, fam)
}
