package suggest

import (
	"bytes"

	"github.com/fwaudit/fwaudit/firewall"
)

// What stays loaded beside a suggestion on a Docker host, for the proofs
// (verify, CheckLockout, Changes): a --noflush restore and the nft table
// combined with today's rules. Which chains they replace, on which hooks
// and at which priorities, is firewall's (render_chains.go).

// nftStandIn is table inet fwaudit of the nft rendering on a Docker host,
// in the firewall package's model: the same rules as the restore
// rendering, read back by its iptables parser, placed on the hooks and
// priorities the nft file gives its chains (input and output at filter,
// forward at filter - 1 with policy accept, before Docker's chains).
func nftStandIn(p *Policy, fam firewall.Family) (*firewall.Ruleset, error) {
	var buf bytes.Buffer
	buf.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	v6 := fam == firewall.IPv6
	writeRules(&buf, p.steps(), v6)
	buf.WriteString("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n")
	for _, f := range p.Forward {
		if f.Family == fam {
			for _, a := range f.args(firewall.IptablesChain("forward"), "ACCEPT") {
				buf.WriteString(saveLine(a) + "\n")
			}
		}
	}
	buf.WriteString("COMMIT\n")
	rs, err := firewall.ParseSave(&buf, "table inet fwaudit", fam)
	if err != nil {
		return nil, err
	}
	return rs.AsNftTable("inet", "fwaudit", firewall.PriorityBeforeFilter), nil
}
