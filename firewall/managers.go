package firewall

import "strings"

// ManagedBy names the firewall manager whose own fixed rules r is one of
// ("ufw", "firewalld"), or "" when r is the admin's: added by hand, or
// through the manager's commands. ufw's commands fill its user chains
// (ufw-user-input, -output, -forward); everything else ufw loads comes
// from its before.rules and after.rules. firewalld's services, ports and
// rich rules fill each zone's _allow and _deny chains; the rest of its
// table (or, with its iptables backend, the chains it makes beside
// INPUT_ZONES) is firewalld's own.
func (rs *Ruleset) ManagedBy(r *Rule) string {
	c := r.Chain
	switch {
	case strings.HasPrefix(c, "ufw-") || strings.HasPrefix(c, "ufw6-"):
		switch strings.TrimPrefix(strings.TrimPrefix(c, "ufw6-"), "ufw-") {
		case "user-input", "user-output", "user-forward":
			return ""
		}
		return "ufw"
	case strings.HasSuffix(c, "_allow") || strings.HasSuffix(c, "_deny"):
		return ""
	case r.Native && r.Table == "firewalld":
		return "firewalld"
	case !r.Native && !builtinChain(c) && rs.firewalldIptables():
		// firewalld's own chains; in the built-in chains beside them
		// other tools (libvirt) add rules of their own
		return "firewalld"
	}
	return ""
}

// firewalldIptables: rs holds the chains firewalld's iptables backend
// makes (INPUT_ZONES in the filter table).
func (rs *Ruleset) firewalldIptables() bool {
	t := rs.Table("filter")
	return t != nil && t.NftFamily == "" && t.Chain("INPUT_ZONES") != nil
}

func builtinChain(c string) bool {
	switch c {
	case "INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING":
		return true
	}
	return false
}
