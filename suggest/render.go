package suggest

import (
	"bufio"
	"fmt"
	"io"
)

// Formats are the renderings Render knows, the first being the default.
var Formats = []string{"iptables", "ip6tables", "nft", "script", "ufw", "firewalld"}

// Render writes p in format (see Formats) to w. The output is the ruleset
// only, deterministic for a given policy, and loads with
// iptables-restore, ip6tables-restore, nft -f, bash, or sh (ufw or
// firewall-cmd commands) respectively.
func Render(w io.Writer, p *Policy, format string) error {
	bw := bufio.NewWriter(w)
	switch format {
	case "iptables", "":
		renderIptables(bw, p, false)
	case "ip6tables":
		renderIptables(bw, p, true)
	case "nft":
		renderNft(bw, p)
	case "script":
		renderScript(bw, p)
	case "ufw":
		if err := renderUfw(bw, p); err != nil {
			return err
		}
	case "firewalld":
		if err := renderFirewalld(bw, p); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown format %q (want iptables, ip6tables, nft, script, ufw or firewalld)", format)
	}
	return bw.Flush()
}
