package suggest

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/scan"
)

// Spec is one --allow or --deny argument: a port (with an optional
// protocol) or a catalog service name, and for --allow the sources it is
// opened to (none: from anywhere).
type Spec struct {
	Raw     string         // the argument as given, for messages
	Service string         // canonical catalog name; "" for a port spec
	Port    uint16         // the port; for a service, the catalog's port
	Proto   string         // "tcp", "udp", or "" (a bare port: any protocol)
	Sources []netip.Prefix // --allow only; nil means from anywhere
}

// ParseSpec parses PORT[/PROTO], PROTO/PORT or SERVICE, optionally followed by
// =CIDR[,CIDR...] (as in `--allow mysql=192.0.2.0/24,2001:db8::/32`). A bare
// address counts as a /32 or /128. Whether sources are allowed at all (not
// for --deny) is for the caller, or Build, to decide.
func ParseSpec(s string) (Spec, error) {
	sp := Spec{Raw: s}
	what, cidrs, hasSources := strings.Cut(s, "=")
	what = strings.TrimSpace(what)
	if what == "" {
		return Spec{}, fmt.Errorf("parsing %q: want PORT[/PROTO] or SERVICE", s)
	}
	if hasSources {
		for _, c := range strings.Split(cidrs, ",") {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			p, err := ParsePrefix(c)
			if err != nil {
				return Spec{}, fmt.Errorf("parsing %q: %w", s, err)
			}
			sp.Sources = append(sp.Sources, p)
		}
		if len(sp.Sources) == 0 {
			return Spec{}, fmt.Errorf("parsing %q: no source after \"=\"", s)
		}
	}
	port, proto, hasProto := strings.Cut(what, "/")
	if p := strings.ToLower(port); hasProto && (p == "tcp" || p == "udp") {
		port, proto = proto, port // tcp/5432, as explain takes it
	}
	if n, err := strconv.ParseUint(port, 10, 16); err == nil {
		if n == 0 {
			return Spec{}, fmt.Errorf("parsing %q: port 0 is not a port", s)
		}
		sp.Port = uint16(n)
		if hasProto {
			proto = strings.ToLower(proto)
			if proto != "tcp" && proto != "udp" {
				return Spec{}, fmt.Errorf("parsing %q: unknown protocol %q (want tcp or udp)", s, proto)
			}
			sp.Proto = proto
		}
		return sp, nil
	}
	if hasProto || strings.IndexFunc(what, func(r rune) bool { return r >= '0' && r <= '9' }) == 0 {
		return Spec{}, fmt.Errorf("parsing %q: %q is not a port (1-65535) or a service name", s, what)
	}
	svc, ok := scan.LookupService(strings.ToLower(what))
	if !ok {
		return Spec{}, fmt.Errorf("parsing %q: unknown service %q (see fwaudit services)", s, what)
	}
	sp.Service, sp.Port, sp.Proto = svc.Name, svc.Port, svc.Proto
	return sp, nil
}

// ParsePrefix parses a CIDR or a bare address (a host prefix), masking the
// host bits off; IPv4-mapped IPv6 addresses are unmapped.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParsePrefixes parses a comma-separated list, as --ssh-from takes it.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		p, err := ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// matches reports whether the spec names listener l.
func (sp Spec) matches(l scan.Listener) bool {
	if sp.Service != "" && l.Service == sp.Service {
		return true
	}
	return l.Port == sp.Port && (sp.Proto == "" || sp.Proto == l.Proto)
}
