package firewall

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// nlmsg builds one netlink message: header, payload, padding.
func nlmsg(typ uint16, payload []byte) []byte {
	b := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(payload)+3)
	binary.NativeEndian.PutUint32(b[0:], uint32(nlmsgHdrLen+len(payload)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func tableMsg(family byte, name string) []byte {
	p := []byte{family, 0, 0, 0}
	attr := make([]byte, 4, 4+len(name)+4)
	attr = append(attr, name...)
	attr = append(attr, 0)
	binary.NativeEndian.PutUint16(attr[0:], uint16(len(attr)))
	binary.NativeEndian.PutUint16(attr[2:], nftaTableName)
	for len(attr)%4 != 0 {
		attr = append(attr, 0)
	}
	// a second attribute (NFTA_TABLE_FLAGS) that must be skipped
	flags := []byte{8, 0, 2, 0, 0, 0, 0, 0}
	return nlmsg(nfnlSubsysNftables<<8|nftMsgNewTable, append(append(p, attr...), flags...))
}

func TestParseNftTableDump(t *testing.T) {
	dgram := append(append(tableMsg(2, "filter"), tableMsg(1, "fw_audit-1")...), tableMsg(10, "nat")...)
	var got []NftTable
	done, err := parseNftTableDump(dgram, &got)
	if err != nil || done {
		t.Fatalf("first datagram: done=%v err=%v", done, err)
	}
	done, err = parseNftTableDump(nlmsg(syscall.NLMSG_DONE, []byte{0, 0, 0, 0}), &got)
	if err != nil || !done {
		t.Fatalf("NLMSG_DONE: done=%v err=%v", done, err)
	}
	want := []NftTable{{"ip", "filter"}, {"inet", "fw_audit-1"}, {"ip6", "nat"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tables (-want +got):\n-%v\n+%v", want, got)
	}

	t.Run("error message", func(t *testing.T) {
		e := make([]byte, 4)
		code := -int32(syscall.EPERM)
		binary.NativeEndian.PutUint32(e, uint32(code))
		_, err := parseNftTableDump(nlmsg(syscall.NLMSG_ERROR, e), new([]NftTable))
		if err == nil || !strings.Contains(err.Error(), "operation not permitted") {
			t.Errorf("err = %v, want operation not permitted", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		b := tableMsg(2, "filter")
		binary.NativeEndian.PutUint32(b[0:], 4096)
		if _, err := parseNftTableDump(b, new([]NftTable)); err == nil {
			t.Error("no error for a message longer than the datagram")
		}
	})
}

func FuzzParseNftTableDump(f *testing.F) {
	f.Add(append(tableMsg(2, "filter"), tableMsg(1, "x")...))
	f.Add(nlmsg(syscall.NLMSG_DONE, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tables []NftTable
		parseNftTableDump(b, &tables) // must not panic
	})
}

// TestListNftTablesLive compares the netlink dump with the tables created
// by nft in a throwaway network namespace. The dump runs in a child
// process of this test binary started inside the namespace.
func TestListNftTablesLive(t *testing.T) {
	if os.Getenv("FWAUDIT_NFT_HELPER") == "1" {
		tables, err := listNftTables()
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		for _, tb := range tables {
			fmt.Println(tb.Family, tb.Name)
		}
		os.Exit(0)
	}
	if os.Getuid() != 0 {
		t.Skip("SKIPPED: needs root to create a network namespace (sudo make test runs it)")
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("SKIPPED: %s not installed", bin)
		}
	}
	ns := fmt.Sprintf("fwa-nftdump-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })

	dump := func() []string {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestListNftTablesLive$")
		cmd.Env = append(os.Environ(), "FWAUDIT_NFT_HELPER=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("dump in %s: %v: %s", ns, err, out)
		}
		lines := strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), " ", "_"))
		sort.Strings(lines)
		return lines
	}
	if got := dump(); len(got) != 0 {
		t.Fatalf("new namespace: tables %v, want none", got)
	}
	script := "add table inet guard\nadd table ip filter\nadd table ip6 raw\nadd table netdev ingress_t\n"
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v: %s", err, out)
	}
	want := []string{"inet_guard", "ip6_raw", "ip_filter", "netdev_ingress_t"}
	if got := dump(); !reflect.DeepEqual(got, want) {
		t.Errorf("tables = %v, want %v", got, want)
	}
}
