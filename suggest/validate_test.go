package suggest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestOutputsLoad feeds every rendering of every test host to the tools
// that will load it, in a throwaway network namespace (unshare -n) so
// nothing touches the host: iptables-restore --test, ip6tables-restore
// --test, nft -c -f and bash -n.
func TestOutputsLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: checking outputs with iptables-restore/nft needs root (run: sudo go test ./suggest/)")
	}
	checkers := map[string][]string{
		"iptables":  {"unshare", "-n", "iptables-restore", "--test"},
		"ip6tables": {"unshare", "-n", "ip6tables-restore", "--test"},
		"nft":       {"unshare", "-n", "nft", "-c", "-f", "-"},
		"script":    {"bash", "-n"},
		"ufw":       {"sh", "-n"},
		"firewalld": {"sh", "-n"},
	}
	for _, bin := range []string{"unshare", "iptables-restore", "ip6tables-restore", "nft", "bash"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not installed (run scripts/test-deps.sh): %v", bin, err)
		}
	}
	// The checkers must be able to say no, or this test proves nothing.
	for format, argv := range checkers {
		if format == "script" || format == "ufw" || format == "firewalld" {
			continue
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin = bytes.NewReader([]byte("*filter\n-A INPUT --dprot 22 -j ACCEPT\nCOMMIT\n"))
		if err := cmd.Run(); err == nil {
			t.Fatalf("%v accepted a broken ruleset", argv)
		}
	}
	if err := exec.Command("bash", "-n", "-c", "if then fi").Run(); err == nil {
		t.Fatal("bash -n accepted a broken script")
	}
	dir := t.TempDir()
	for _, hc := range hostCases(t) {
		p, _, err := Build(hc.listeners, hc.opts)
		if err != nil {
			t.Fatalf("%s: Build: %v", hc.name, err)
		}
		for _, format := range Formats {
			t.Run(hc.name+"/"+format, func(t *testing.T) {
				out := render(t, p, format)
				argv := checkers[format]
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Stdin = bytes.NewReader(out)
				if format == "script" || format == "ufw" || format == "firewalld" {
					f := filepath.Join(dir, hc.name+"."+format+".sh")
					if err := os.WriteFile(f, out, 0o644); err != nil {
						t.Fatal(err)
					}
					cmd = exec.Command(argv[0], argv[1], f)
				}
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%v rejects the %s output: %v\n%s", argv, format, err, msg)
				}
				// Loaded for real, iptables-save must print back exactly
				// what we wrote: our quoting is iptables-save's.
				if format == "iptables" || format == "ip6tables" {
					cmd := exec.Command("unshare", "-n", "sh", "-c", format+"-restore && "+format+"-save")
					cmd.Stdin = bytes.NewReader(out)
					saved, err := cmd.Output()
					if err != nil {
						t.Fatalf("loading the %s output for real: %v", format, err)
					}
					if got, want := filterRules(string(saved)), filterRules(string(out)); got != want {
						t.Errorf("%s-save after loading differs from what we wrote (-ours +saved):\n%s", format, lineDiff(want, got))
					}
				}
				if format == "nft" {
					cmd := exec.Command("unshare", "-n", "nft", "-f", "-")
					cmd.Stdin = bytes.NewReader(out)
					if msg, err := cmd.CombinedOutput(); err != nil {
						t.Errorf("nft -f rejects the output when loading for real: %v\n%s", err, msg)
					}
				}
			})
		}
	}
}
