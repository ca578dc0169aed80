package firewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
)

// Constants from the kernel's uapi headers (linux/netlink.h,
// linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h).
const (
	netlinkNetfilter   = 12 // NETLINK_NETFILTER
	nfnlSubsysNftables = 10 // NFNL_SUBSYS_NFTABLES
	nftMsgNewTable     = 0  // NFT_MSG_NEWTABLE: what a GETTABLE dump answers with
	nftMsgGetTable     = 1  // NFT_MSG_GETTABLE
	nftaTableName      = 1  // NFTA_TABLE_NAME
	nlmsgHdrLen        = 16
	nfgenmsgLen        = 4
)

// NftTable is one nf_tables table: "ip filter", "inet fw", ...
type NftTable struct {
	Family string // ip, ip6, inet, arp, bridge, netdev
	Name   string
}

// listNftTables asks the kernel for every nf_tables table of this network
// namespace with one NFT_MSG_GETTABLE dump, the request `nft list tables`
// makes. It costs a fraction of a millisecond, where each iptables-nft-save
// or nft command costs several.
func listNftTables() ([]NftTable, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, netlinkNetfilter)
	if err != nil {
		return nil, fmt.Errorf("opening netfilter netlink socket: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("binding netfilter netlink socket: %w", err)
	}
	req := make([]byte, nlmsgHdrLen+nfgenmsgLen)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], nfnlSubsysNftables<<8|nftMsgGetTable)
	binary.NativeEndian.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1) // sequence
	req[nlmsgHdrLen] = syscall.AF_UNSPEC      // nfgenmsg: every family
	if err := syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("asking for nf_tables tables: %w", err)
	}
	var tables []NftTable
	buf := make([]byte, 64<<10)
	for range 1 << 16 { // a dump ends with NLMSG_DONE; bound the loop anyway
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("reading nf_tables tables: %w", err)
		}
		done, err := parseNftTableDump(buf[:n], &tables)
		if err != nil || done {
			return tables, err
		}
	}
	return nil, errors.New("reading nf_tables tables: dump did not end")
}

// parseNftTableDump appends the tables in one netlink datagram to tables and
// reports whether the dump is complete.
func parseNftTableDump(b []byte, tables *[]NftTable) (done bool, err error) {
	for len(b) >= nlmsgHdrLen {
		mlen := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		if mlen < nlmsgHdrLen || mlen > len(b) {
			return false, fmt.Errorf("reading nf_tables tables: bad netlink message length %d", mlen)
		}
		msg := b[nlmsgHdrLen:mlen]
		switch typ {
		case syscall.NLMSG_DONE:
			return true, nil
		case syscall.NLMSG_ERROR:
			if len(msg) >= 4 {
				if code := int32(binary.NativeEndian.Uint32(msg)); code != 0 {
					return false, fmt.Errorf("reading nf_tables tables: %w", syscall.Errno(-code))
				}
			}
		case nfnlSubsysNftables<<8 | nftMsgNewTable:
			if len(msg) < nfgenmsgLen {
				return false, errors.New("reading nf_tables tables: short message")
			}
			t := NftTable{Family: nfprotoName(msg[0])}
			for a := msg[nfgenmsgLen:]; len(a) >= 4; {
				alen := int(binary.NativeEndian.Uint16(a[0:]))
				atyp := binary.NativeEndian.Uint16(a[2:]) & 0x3fff // without NLA_F_NESTED / byte-order flags
				if alen < 4 || alen > len(a) {
					break
				}
				if atyp == nftaTableName {
					name := a[4:alen]
					for len(name) > 0 && name[len(name)-1] == 0 {
						name = name[:len(name)-1]
					}
					t.Name = string(name)
				}
				a = a[min((alen+3)&^3, len(a)):]
			}
			*tables = append(*tables, t)
		}
		b = b[min((mlen+3)&^3, len(b)):]
	}
	return false, nil
}

// nfprotoName names an NFPROTO_* family as nft does.
func nfprotoName(f byte) string {
	switch f {
	case 1:
		return "inet"
	case 2:
		return "ip"
	case 3:
		return "arp"
	case 5:
		return "netdev"
	case 7:
		return "bridge"
	case 10:
		return "ip6"
	}
	return fmt.Sprintf("family-%d", f)
}
