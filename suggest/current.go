package suggest

import (
	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// The firewall loaded today (Options.Current, a *firewall.Loaded) is what
// the suggestion must never be wider than; it judges listeners as the
// scan does.

// socketOf is l as the firewall judges it.
func socketOf(l scan.Listener) firewall.Socket {
	return firewall.Socket{Proto: l.Proto, Addr: l.Address, Port: l.Port, Device: l.Device, Local: l.Exposure == scan.ExposureLocal,
		UID: l.UID, UIDKnown: l.UIDKnown}
}

// result is who cur's rules let open a NEW connection to l over fam,
// judged as the scan judges it. ok is false when the family's rules are not
// known.
func result(cur *firewall.Loaded, l scan.Listener, fam firewall.Family) (firewall.Result, bool) {
	return cur.Judge(fam, socketOf(l))
}

// each is who cur's rules let open a NEW connection to l over fam on
// every interface alone; nil for a socket bound to a device (it hears one
// interface) or when the rules are not known.
func each(cur *firewall.Loaded, l scan.Listener, fam firewall.Family) []firewall.IfaceResult {
	return cur.Each(fam, socketOf(l))
}
