//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// The never-wider measurement: with today's rules loaded, every port is
// probed from both sources of each family on every link; each suggestion
// format is loaded in place of today's rules, alone (after `nft flush
// ruleset`, as suggest's own check judges it), or over them with --noflush
// where the suggestion is written for that (beside Docker's rules), and
// every probe runs again. A probe refused before and
// accepted after is a widening; ssh accepted before and refused after is a
// cut. Every format's suggestion is made from today's rules before any is
// loaded; between formats the host is emptied, and today's rules loaded
// again where a suggestion stays beside them.

// widenFormats are the suggestion formats loaded in turn.
var widenFormats = []string{"restore", "nft", "script"}

// WidenStats counts one measurement.
type WidenStats struct {
	Checks  int      // probe pairs compared (before, after), over every format loaded
	Widened []string // "format: probe" for each widening
	Cut     []string // "format: probe" for each ssh probe cut
	Refused []string // formats suggest refused (then measured with --ssh-from), with its reason
}

// widenRun is one host to measure.
type widenRun struct {
	lab    *Lab
	links  []*Link
	ports  []PortSpec
	load   func() error // loads today's rules onto an empty ruleset
	args   []string     // extra suggest arguments
	before []ProbeResult
	probes []LinkProbe
	// noflush: the suggestion stays beside today's rules (Docker's)
	noflush bool
}

// flushAll empties every table of the host (iptables-nft's are nft
// tables; legacy tables are flushed too when the module is there).
func (w *widenRun) flushAll() {
	w.lab.T.Helper()
	w.lab.Host.Run("nft", "flush", "ruleset")
	for _, tool := range []string{"iptables-legacy", "ip6tables-legacy"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			// absent tables (module not loaded) are not an error here
			w.lab.Host.Exec(nil, tool, "-t", table, "-F")
			w.lab.Host.Exec(nil, tool, "-t", table, "-X")
		}
		w.lab.Host.Exec(nil, tool, "-P", "INPUT", "ACCEPT")
	}
}

// measure probes before, then loads each format in place and probes
// after. It reports what it found in the returned stats; it fails the test
// only for harness errors.
func (w *widenRun) measure(t *testing.T) WidenStats {
	t.Helper()
	lab := w.lab
	var st WidenStats
	w.probes = LinkProbes(w.links, w.ports)
	w.before = lab.ProbeLinks(w.probes)
	// every format's suggestion is made from today's rules first: the
	// host then needs today's rules again only where a suggestion stays
	// beside them (--noflush)
	texts := map[string]map[string]string{}
	for _, format := range widenFormats {
		texts[format] = map[string]string{}
		args := w.args
		for _, f := range formatFiles(format) {
			stdout, stderr, code := suggestRun(lab, nil, append([]string{"--format", f}, args...)...)
			if code == 2 && strings.Contains(stderr, "runtime conditions") {
				// ssh behind runtime state: refused, as it must be; the
				// rest is measured with ssh named where it got in today
				st.Refused = append(st.Refused, format+": "+lastLine(stderr))
				args = append(slices.Clone(w.args), "--ssh-from", w.sshReached())
				stdout, stderr, code = suggestRun(lab, nil, append([]string{"--format", f}, args...)...)
			}
			if code != 0 {
				t.Fatalf("fwaudit suggest --format %s %v: exit %d\n%s", f, args, code, stderr)
			}
			texts[format][f] = stdout
		}
		// a suggestion written to stay beside Docker's rules (the restore
		// files say --noflush) is loaded so in every format
		w.noflush = w.noflush || strings.Contains(texts[format]["iptables"], "--noflush") ||
			strings.Contains(texts[format]["script"], "rewrites only INPUT and DOCKER-USER")
	}
	for fi, format := range widenFormats {
		switch {
		case !w.noflush:
			w.flushAll()
		case fi > 0:
			w.flushAll()
			if err := w.load(); err != nil {
				t.Fatalf("reloading today's rules: %v", err)
			}
		}
		if err := loadSuggestion(lab, format, texts[format], w.noflush); err != nil {
			t.Fatalf("loading the %s suggestion: %v", format, err)
		}
		after := lab.ProbeLinks(w.probes)
		for i, p := range w.probes {
			st.Checks++
			b, a := w.before[i], after[i]
			switch {
			case a.OK && !b.OK:
				st.Widened = append(st.Widened, fmt.Sprintf("%s: %s (%s before)", format, p, b.Detail))
			case b.OK && !a.OK && p.Proto == "tcp" && p.Port == 22:
				st.Cut = append(st.Cut, fmt.Sprintf("%s: %s (%s after)", format, p, a.Detail))
			}
		}
	}
	return st
}

// sshReached lists, for --ssh-from, the sources that reached tcp/22
// before (a documentation address no probe uses when none did).
func (w *widenRun) sshReached() string {
	var out []string
	for i, p := range w.probes {
		if p.Proto == "tcp" && p.Port == 22 && w.before[i].OK {
			out = append(out, netip.PrefixFrom(p.Src, p.Src.BitLen()).String())
		}
	}
	if len(out) == 0 {
		return "192.0.2.254/32"
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

// formatFiles are the suggest formats one loading needs.
func formatFiles(format string) []string {
	switch format {
	case "restore":
		return []string{"iptables", "ip6tables"}
	case "nft":
		return []string{"nft"}
	}
	return []string{"script"}
}

// loadSuggestion loads one format's texts in the host.
func loadSuggestion(lab *Lab, format string, texts map[string]string, noflush bool) error {
	run := func(in string, args ...string) error {
		if _, stderr, err := lab.Host.Exec([]byte(in), args...); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, stderr)
		}
		return nil
	}
	switch format {
	case "restore":
		v4, v6 := []string{"iptables-restore"}, []string{"ip6tables-restore"}
		if noflush {
			v4, v6 = append(v4, "--noflush"), append(v6, "--noflush")
		}
		if err := run(texts["iptables"], v4...); err != nil {
			return err
		}
		return run(texts["ip6tables"], v6...)
	case "nft":
		return run(texts["nft"], "nft", "-f", "-")
	}
	// the script runs one command per rule: a long blocklist takes
	// minutes on a busy machine
	args := []string{"ip", "netns", "exec", lab.Host.Name, "bash", "-s"}
	if _, stderr, err := runCmdWithin(5*cmdTimeout, lab.Dir, nil, []byte(texts["script"]), args...); err != nil {
		return fmt.Errorf("bash -s: %v: %s", err, stderr)
	}
	return nil
}

// startPorts starts a listener on every port, dual-stack: sshd on tcp/22,
// one unknownd for the rest.
func (lab *Lab) startPorts(ports []PortSpec) {
	lab.T.Helper()
	var rest []string
	for _, p := range ports {
		spec := fmt.Sprintf("%s:[::]:%d", p.Proto, p.Port)
		if p.Proto == "tcp" && p.Port == 22 {
			lab.Start(lab.Host, "sshd", spec)
			continue
		}
		rest = append(rest, spec)
	}
	if len(rest) > 0 {
		lab.Start(lab.Host, "unknownd", rest...)
	}
}

// lastLine is the error line of fwaudit's stderr (after its warnings).
func lastLine(s string) string {
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.HasPrefix(l, "fwaudit: error:") {
			return l
		}
	}
	return strings.TrimSpace(s)
}
