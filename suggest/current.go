package suggest

import (
	"slices"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// The firewall loaded today (Options.Current, a *firewall.Loaded) is what
// the suggestion must never be wider than; it judges listeners as the
// scan does.

// socketOf is l as the firewall judges it for the suggestion in fam: the
// socket alone, unless Docker publishes its port (then the socket stands
// for the published port, and who Docker's FORWARD rules let through to
// the container counts, as the scan counts it). A connection a port
// forward sends on to another host never reaches the socket: a rule the
// suggestion writes for the socket, loaded without that nat rule, must
// not let it in there.
func socketOf(cur *firewall.Loaded, l scan.Listener, fam firewall.Family) firewall.Socket {
	s := firewall.Socket{Proto: l.Proto, Addr: l.Address, Port: l.Port, Device: l.Device, Local: l.Exposure == scan.ExposureLocal,
		UID: l.UID, UIDKnown: l.UIDKnown}
	s.Only = dockerLayout(cur, fam) == noDocker || !slices.ContainsFunc(publishes(cur, fam), func(p publish) bool { return p.receives(l) })
	return s
}

// result is who cur's rules let open a NEW connection to l over fam
// (socketOf). ok is false when the family's rules are not known.
func result(cur *firewall.Loaded, l scan.Listener, fam firewall.Family) (firewall.Result, bool) {
	return cur.Judge(fam, socketOf(cur, l, fam))
}

// each is who cur's rules let open a NEW connection to l over fam on
// every interface alone; nil for a socket bound to a device (it hears one
// interface) or when the rules are not known.
func each(cur *firewall.Loaded, l scan.Listener, fam firewall.Family) []firewall.IfaceResult {
	return cur.Each(fam, socketOf(cur, l, fam))
}
