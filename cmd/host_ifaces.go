package cmd

import (
	"os"
	"path/filepath"
	"strings"
)

// ifaceRole is what an interface is to packets arriving on it.
type ifaceRole int

const (
	roleOutside ifaceRole = iota // packets from the network arrive on it
	roleInside                   // a bridge for the host's containers or VMs
	roleMember                   // a port of a bridge or bond: never a packet's input interface
)

// ifaceRoleOf reads sysfs (normally /sys/class/net) for one interface:
//   - a bridge or bond port is never the input interface of a routed or
//     locally delivered packet; its bridge or bond is;
//   - a bridge none of whose ports is a physical device (docker0, br-*,
//     virbr0, lxcbr0, cni0, with only veth or tap ports or none) leads to
//     the host's own containers or VMs: it is inside;
//   - anything else is outside.
//
// An unreadable sysfs says outside, the answer that hides nothing.
func ifaceRoleOf(sysfs, name string) ifaceRole {
	dir := filepath.Join(sysfs, name)
	if exists(filepath.Join(dir, "brport")) || exists(filepath.Join(dir, "bonding_slave")) {
		return roleMember
	}
	if !exists(filepath.Join(dir, "bridge")) {
		return roleOutside
	}
	ports, err := os.ReadDir(filepath.Join(dir, "brif"))
	if err != nil {
		return roleOutside
	}
	for _, p := range ports {
		if exists(filepath.Join(sysfs, p.Name(), "device")) {
			return roleOutside // a physical port: the bridge is the uplink
		}
	}
	return roleInside
}

// bridgeNetfilter reports whether br_netfilter hands bridged packets to
// the IP hooks in this network namespace (dir: /proc/sys/net/bridge).
func bridgeNetfilter(dir string) bool {
	for _, f := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil && strings.TrimSpace(string(b)) == "1" {
			return true
		}
	}
	return false
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
