package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fwaudit/fwaudit/firewall"
)

// Where the host's own boot loads the rules from: netfilter-persistent
// (iptables-persistent) restores /etc/iptables/rules.v4 and rules.v6;
// nftables.service runs nft -f /etc/nftables.conf.
const (
	rulesV4     = "etc/iptables/rules.v4"
	rulesV6     = "etc/iptables/rules.v6"
	nftablesCfg = "etc/nftables.conf"
)

// persist writes the confirmed rules where the boot loads them, under
// st.Root, keeping each previous file in the backup directory.
func persist(ctx context.Context, r firewall.Runner, dir string, st *state, log *Logger) error {
	type out struct {
		path string
		data []byte
	}
	var outs []out
	switch st.Format {
	case "nft":
		// the whole confirmed ruleset: nftables.conf is the host's whole
		// ruleset (it starts by flushing), so our table alone would drop
		// every other
		live, err := r.Run(ctx, "nft", "list", "ruleset")
		if err != nil {
			return fmt.Errorf("persisting: %w", err)
		}
		data := append([]byte("#!/usr/sbin/nft -f\n# The ruleset confirmed with fwaudit apply on "+st.Created.UTC().Format(time.RFC3339)+".\nflush ruleset\n\n"), live...)
		outs = append(outs, out{filepath.Join(st.Root, nftablesCfg), data})
	default:
		for _, l := range st.Loads {
			data, err := os.ReadFile(filepath.Join(dir, l.File))
			if err != nil {
				return fmt.Errorf("persisting: %w", err)
			}
			p := rulesV4
			if l.Family == firewall.IPv6 {
				p = rulesV6
			}
			outs = append(outs, out{filepath.Join(st.Root, p), data})
			if len(l.Args) > 0 {
				log.Printf("note: %s is for iptables-restore --noflush (a Docker host); netfilter-persistent loads it at boot before Docker adds its chains", p)
			}
		}
	}
	for _, o := range outs {
		if err := os.MkdirAll(filepath.Dir(o.path), 0o755); err != nil {
			return fmt.Errorf("persisting: %w", err)
		}
		prev, err := os.ReadFile(o.path)
		switch {
		case err == nil:
			keep := filepath.Join(dir, "previous-"+filepath.Base(o.path))
			if err := writeAtomic(keep, prev, 0o600); err != nil {
				return fmt.Errorf("persisting: keeping the previous %s: %w", o.path, err)
			}
			log.Printf("the previous %s is kept as %s", o.path, keep)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("persisting: %w", err)
		}
		if err := writeAtomic(o.path, o.data, 0o644); err != nil {
			return fmt.Errorf("persisting: %w", err)
		}
		if st.Format == "nft" {
			log.Printf("persisted to %s (nftables.service loads it at boot)", o.path)
		} else {
			log.Printf("persisted to %s (netfilter-persistent loads it at boot)", o.path)
		}
	}
	return nil
}
