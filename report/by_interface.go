package report

import (
	"slices"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// byInterfaceText is v's answer per interface in words, interfaces with
// the same answer together: "on eth0: everyone; on eth1,eth2:
// 10.79.0.3/32". list writes a list (the scan table counts long ones); ""
// when v has no per-interface answers.
func byInterfaceText(v *FamilyVerdict, list func(items []string, what string) string) string {
	if len(v.ByInterface) == 0 {
		return ""
	}
	names := make([]string, len(v.ByInterface))
	whos := make([]string, len(v.ByInterface))
	for i := range v.ByInterface {
		names[i], whos[i] = v.ByInterface[i].Interface, whoOn(&v.ByInterface[i].FamilyVerdict, list)
	}
	return perInterfaceWords(names, whos, func(n []string) string { return list(n, "interfaces") })
}

// perInterfaceWords says who gets in on each interface (names[i]: whos[i]),
// interfaces with the same answer together, in the order of their first:
// "on eth0: everyone; on eth1,eth2 and elsewhere: 10.79.0.3/32"; "" names
// any interface the rules do not name (offline), "elsewhere".
func perInterfaceWords(names, whos []string, list func([]string) string) string {
	type group struct {
		who       string
		names     []string
		elsewhere bool
	}
	var groups []*group
	for i, who := range whos {
		j := slices.IndexFunc(groups, func(g *group) bool { return g.who == who })
		if j < 0 {
			groups = append(groups, &group{who: who})
			j = len(groups) - 1
		}
		if names[i] == "" {
			groups[j].elsewhere = true
		} else {
			groups[j].names = append(groups[j].names, names[i])
		}
	}
	parts := make([]string, 0, len(groups))
	for _, g := range groups {
		var where string
		switch {
		case len(g.names) > 0 && g.elsewhere:
			where = "on " + list(g.names) + " and elsewhere"
		case len(g.names) > 0:
			where = "on " + list(g.names)
		default:
			where = "elsewhere"
		}
		parts = append(parts, where+": "+g.who)
	}
	return strings.Join(parts, "; ")
}

// whoOn is whom one interface's verdict admits: "everyone", "everyone
// except ...", its sources, "no one".
func whoOn(v *FamilyVerdict, list func(items []string, what string) string) string {
	var s string
	switch firewall.Verdict(v.Verdict) {
	case firewall.Open:
		s = "everyone"
	case firewall.Restricted:
		s = "everyone"
		if v.Sources.Len() > 0 {
			s = list(v.Sources.Strings(), "sources")
		}
		if v.Destinations.Len() > 0 {
			s += " to " + list(v.Destinations.Strings(), "addresses")
		}
	case firewall.Blocked:
		return "no one"
	default:
		return v.Verdict
	}
	if v.Except.Len() > 0 {
		s += " except " + list(v.Except.Strings(), "ranges")
	}
	return s
}

// joinList is a list in full, for the formats that never count.
func joinList(items []string, _ string) string { return strings.Join(items, ",") }
