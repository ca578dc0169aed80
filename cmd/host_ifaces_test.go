package cmd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIfaceRoleOf(t *testing.T) {
	sys := t.TempDir()
	mk := func(parts ...string) {
		if err := os.MkdirAll(filepath.Join(append([]string{sys}, parts...)...), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk("eth0", "device")            // a physical NIC
	mk("docker0", "bridge")         // a bridge with veth ports only
	mk("docker0", "brif", "veth1a") //
	mk("veth1a", "brport")          // its port
	mk("br0", "bridge")             // a host bridge over the NIC
	mk("br0", "brif", "enp1s0")     //
	mk("enp1s0", "device")          //
	mk("enp1s0", "brport")          //
	mk("br-empty", "bridge")        // a bridge with no ports yet
	mk("br-empty", "brif")          //
	mk("bond0")                     //
	mk("eth1", "bonding_slave")     // a bond member
	mk("eth1", "device")            //
	mk("wg0")                       // a tunnel
	for _, c := range []struct {
		name string
		want ifaceRole
	}{
		{"eth0", roleOutside},
		{"docker0", roleInside},
		{"veth1a", roleMember},
		{"br0", roleOutside},
		{"enp1s0", roleMember},
		{"br-empty", roleInside},
		{"bond0", roleOutside},
		{"eth1", roleMember},
		{"wg0", roleOutside},
		{"missing", roleOutside},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ifaceRoleOf(sys, c.name); got != c.want {
				t.Errorf("ifaceRoleOf(%s) = %d, want %d", c.name, got, c.want)
			}
		})
	}
}
