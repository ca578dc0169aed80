package firewall

import "sort"

// PortClasses divides the port space where the rules tell ports apart.
// Two ports of one class meet every rule alike: every port match (destination,
// source, either, original destination) and every NAT target's port holds
// for both or for neither, so a packet to one is decided as a packet to
// the other. Callers that ask the same question of many ports (the
// report's spoofed-loopback probe of every listening port) ask it once per
// class.
type PortClasses struct {
	cuts []uint32 // sorted: a class starts at each cut
}

// PortClasses reads the classes off every rule of every ruleset. A rule's
// DPorts repeat one of its port matches, so the port matches are all.
func (e *Evaluator) PortClasses() PortClasses {
	var rs []PortRange
	for _, cs := range e.sets {
		for _, c := range cs.all {
			for i := range c.rules {
				x := c.rules[i].r.m.x
				if x == nil {
					continue
				}
				for _, pm := range x.ports {
					rs = append(rs, pm.ranges...)
				}
				if x.nat != nil && x.nat.hasPort {
					rs = append(rs, x.nat.ports)
				}
			}
		}
	}
	return PortClasses{cuts: portCuts(rs, defaultSPort, defaultSPort+1)}
}

// Of is the class of port.
func (pc PortClasses) Of(port uint16) int {
	return sort.Search(len(pc.cuts), func(i int) bool { return pc.cuts[i] > uint32(port) })
}
