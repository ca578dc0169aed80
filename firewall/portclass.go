package firewall

import (
	"slices"
	"sort"
)

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

// decideSPort is the source port Decide gives a packet that names none:
// a port equal to it is a class of its own.
const decideSPort = 40000

// PortClasses reads the classes off every rule of every ruleset.
func (e *Evaluator) PortClasses() PortClasses {
	cuts := []uint32{decideSPort, decideSPort + 1}
	add := func(r PortRange) { cuts = append(cuts, uint32(r.Lo), uint32(r.Hi)+1) }
	for _, cs := range e.sets {
		for _, c := range cs.all {
			for i := range c.rules {
				r := c.rules[i].r
				for _, pr := range r.DPorts {
					add(pr)
				}
				x := r.m.x
				if x == nil {
					continue
				}
				for _, pm := range x.ports {
					for _, pr := range pm.ranges {
						add(pr)
					}
				}
				if x.nat != nil && x.nat.hasPort {
					add(x.nat.ports)
				}
			}
		}
	}
	slices.Sort(cuts)
	return PortClasses{cuts: slices.Compact(cuts)}
}

// Of is the class of port.
func (pc PortClasses) Of(port uint16) int {
	return sort.Search(len(pc.cuts), func(i int) bool { return pc.cuts[i] > uint32(port) })
}
