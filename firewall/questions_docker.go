package firewall

import (
	"slices"
	"strings"
)

// How Docker filters forwarded traffic in one family, as the loaded rules
// show it. Docker writes its chains (filter DOCKER, DOCKER-FORWARD,
// DOCKER-USER, nat DOCKER) once, at start; its nftables backend (Docker
// 29) keeps table ip/ip6 docker-bridges instead.

// DockerUserChain is the chain Docker keeps for the administrator's rules
// and jumps to from FORWARD before its own. Renderings print it.
const DockerUserChain = "DOCKER-USER"

// DockerFiltering is how Docker filters forwarded traffic in one family.
type DockerFiltering int

const (
	NoDocker     DockerFiltering = iota
	DockerUser                   // iptables: Docker's chains, and FORWARD reaches DOCKER-USER
	DockerChains                 // iptables: Docker's chains, but nothing jumps to DOCKER-USER (Docker 20's ip6tables)
	DockerNft                    // Docker 29's nftables backend: table ip/ip6 docker-bridges
)

// DockerFilteringOf finds Docker in the rulesets of one family.
func DockerFilteringOf(sets []*Ruleset) DockerFiltering {
	kind := NoDocker
	for _, rs := range sets {
		for _, t := range rs.Tables {
			if t.NftFamily == "ip" || t.NftFamily == "ip6" {
				if t.Name == "docker-bridges" && kind == NoDocker {
					kind = DockerNft
				}
				continue
			}
			if !t.iptablesFilter() {
				continue
			}
			if slices.ContainsFunc(t.Chains, func(c *Chain) bool { return strings.HasPrefix(c.Name, "DOCKER") }) && kind != DockerUser {
				kind = DockerChains
			}
		}
		if rs.ForwardReachesDockerUser() {
			kind = DockerUser
		}
	}
	return kind
}

// ForwardReachesDockerUser reports whether rs's iptables FORWARD jumps
// (maybe through other chains) to DOCKER-USER.
func (rs *Ruleset) ForwardReachesDockerUser() bool {
	for _, h := range rs.FilterChains("forward") {
		if h.Table.NftFamily != "" {
			continue
		}
		for _, c := range h.Reach() {
			if c.Name == DockerUserChain {
				return true
			}
		}
	}
	return false
}

// DockerUserRules counts the rules of DOCKER-USER in sets other than
// Docker's own closing RETURN: the administrator's.
func DockerUserRules(sets []*Ruleset) int {
	n := 0
	for _, rs := range sets {
		c := rs.IptablesFilterChain(DockerUserChain)
		if c == nil {
			continue
		}
		for _, r := range c.Rules {
			if !(r.Target == "RETURN" && strings.TrimSpace(strings.TrimPrefix(r.Text, "-A "+DockerUserChain)) == "-j RETURN") {
				n++
			}
		}
	}
	return n
}
