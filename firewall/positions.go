package firewall

import "strconv"

// Positions numbers the rules an evaluator walks by their place in their
// chain, from 1, as iptables -L --line-numbers does (an -I rule counts
// where it was inserted); the pieces of one nft rule split per set
// element share its number.
type Positions map[string]int

// Positions numbers the rules of every chain e walks.
func (e *Evaluator) Positions() Positions {
	pos := Positions{}
	for _, rs := range e.sets {
		for _, c := range rs.all {
			n := 0
			for _, r := range c.rules {
				if r.r.Part() <= 1 {
					n++
				}
				pos[stepKey(c.label(), c.name, r.r.Line, r.r.Handle, r.r.Text)] = n
			}
		}
	}
	return pos
}

// Of is the position of a trace step's rule; 0 for a policy or the end of
// a chain.
func (p Positions) Of(s Step) int {
	return p[stepKey(s.Table, s.Chain, s.Line, s.Handle, s.Rule)]
}

// stepKey identifies a rule in a trace: its table as the trace names it
// ("filter", "inet fw"), chain, line or handle, and text. Two dumps read
// together (iptables-legacy and iptables-nft) may share line numbers, not
// also table, chain and text.
func stepKey(table, chain string, line, handle int, text string) string {
	return table + "\x00" + chain + "\x00" + strconv.Itoa(line) + "\x00" + strconv.Itoa(handle) + "\x00" + text
}
