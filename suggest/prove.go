package suggest

import (
	"fmt"
	"slices"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// The proofs for a reviewed ruleset (fwaudit apply FILE): the same two
// promises Build and CheckLockout make for a suggestion, judged on what
// is loaded once the files are, with no --allow or --ssh-from to widen
// anything.

// WiderError is a ruleset that admits more than today's rules.
type WiderError struct {
	Where  string // "tcp/6379"
	Family firewall.Family
	Extra  string // what it admits beyond today: "sources 0.0.0.0/0"
	Today  string // today's verdict in words
}

func (e *WiderError) Error() string {
	return fmt.Sprintf("the ruleset would admit %s to %s over %s, which the current rules do not (%s today)", e.Extra, e.Where, e.Family, e.Today)
}

// AfterRestore is what `iptables-restore FILE` of rs leaves loaded: today's
// rulesets with every table rs names replaced in the dump the restore goes
// to (RestoreSource), or rs beside them when no iptables dump is loaded.
func AfterRestore(today []*firewall.Ruleset, rs *firewall.Ruleset) []*firewall.Ruleset {
	target := firewall.RestoreTarget(today)
	if target < 0 {
		return append(slices.Clone(today), rs)
	}
	out := slices.Clone(today)
	old := today[target]
	nrs := &firewall.Ruleset{Family: old.Family, Source: old.Source}
	for _, t := range old.Tables {
		if rs.Table(t.Name) == nil {
			nrs.Tables = append(nrs.Tables, t)
		}
	}
	nrs.Tables = append(nrs.Tables, rs.Tables...)
	out[target] = nrs
	return out
}

// ProveLoaded judges after (what each family holds once the files are
// loaded; a family missing from it is not changed) against cur: a
// session whose reconnection the rules would not accept is a
// *LockoutError, a listener reachable from more sources or interfaces
// than today a *WiderError. It returns what changes per listener.
func ProveLoaded(listeners []scan.Listener, sessions []Session, cur *firewall.Loaded, after map[firewall.Family][]*firewall.Ruleset) ([]Change, error) {
	for _, s := range sessions {
		c := s.Client.Addr()
		if c.IsLoopback() {
			continue
		}
		fam := firewall.IPv4
		if c.Is6() {
			fam = firewall.IPv6
		}
		sets, ok := after[fam]
		if !ok {
			continue
		}
		ev := firewall.NewEvaluator(fam, sets, firewall.Host{})
		d := ev.Decide(firewall.Packet{Proto: "tcp", Src: c, Dst: s.Server.Addr(),
			SPort: s.Client.Port(), DPort: s.Server.Port(), InIface: "eth0"})
		if d.Verdict != "accept" {
			return nil, &LockoutError{Session: s, Why: fmt.Sprintf("the rules do not accept a new connection from %s to tcp port %d over %s", c, s.Server.Port(), fam)}
		}
	}
	var changes []Change
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		sets, ok := after[fam]
		if !ok {
			continue
		}
		today := cur.Of(fam)
		next := cur.With(fam, sets)
		for _, l := range heardIn(listeners, fam) {
			before, known := result(cur, l, fam)
			a, _ := result(next, l, fam)
			if !known {
				return nil, fmt.Errorf("the current %s rules are not known (%s): cannot prove the ruleset is not wider", fam, today.Why)
			}
			if extra := wider(a, before, fam); extra != "" {
				return nil, &WiderError{Where: where(l), Family: fam, Extra: extra, Today: verdictText(before)}
			}
			changes = append(changes, Change{Family: fam, What: where(l), Before: verdictText(before), After: verdictText(a), Changed: !sameVerdict(before, a)})
		}
	}
	return changes, nil
}

// heardIn lists the listeners whose verdicts in fam a ruleset decides: not
// reachable only from this host, not clients, heard in fam, one per place.
func heardIn(listeners []scan.Listener, fam firewall.Family) []scan.Listener {
	var out []scan.Listener
	seen := map[string]bool{}
	for _, l := range listeners {
		if l.Exposure == scan.ExposureLocal || l.Client || !slices.Contains(familiesOf(l), fam) || seen[where(l)] {
			continue
		}
		seen[where(l)] = true
		out = append(out, l)
	}
	return out
}
