//go:build linux

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUfwHostileHost: the ufw lab starts from ufw as its package installs
// it, whatever the host has done to its own ufw. The test shows the lab
// (a child run of this test binary, in a private mount namespace) a host
// /etc/ufw with ufw enabled, a rule of the host's own in before.rules and
// an INPUT policy of ACCEPT in /etc/default/ufw; the lab must see none of
// it, and the host's real files must not change.
func TestUfwHostileHost(t *testing.T) {
	if os.Getenv("FWAUDIT_UFW_HOSTILE_CHILD") == "1" {
		ufwHostileChild(t)
		return
	}
	RequireRoot(t)
	if _, err := exec.LookPath("ufw"); err != nil {
		t.Skipf("SKIPPED: ufw not installed (scripts/test-deps.sh installs it): %v", err)
	}
	requireFwaudit(t)
	before := hashTree(t, ufwHostPaths...)
	hostile := t.TempDir()
	etc := filepath.Join(hostile, "etc-ufw")
	if out, err := exec.Command("cp", "-a", "/etc/ufw", etc).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	conf, err := os.ReadFile(filepath.Join(etc, "ufw.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.ReplaceAll(string(conf), "ENABLED=no", "ENABLED=yes"))
	if !bytes.Contains(conf, []byte("ENABLED=yes")) {
		conf = append(conf, "ENABLED=yes\n"...)
	}
	br, err := os.ReadFile(filepath.Join(etc, "before.rules"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(br, []byte("COMMIT"))
	if i < 0 {
		t.Fatalf("no COMMIT in /etc/ufw/before.rules")
	}
	br = append(append(append([]byte{}, br[:i]...), "-A ufw-before-input -p tcp --dport 9999 -j ACCEPT\n"...), br[i:]...)
	for name, b := range map[string][]byte{
		filepath.Join(etc, "ufw.conf"):        conf,
		filepath.Join(etc, "before.rules"):    br,
		filepath.Join(hostile, "default-ufw"): []byte("IPV6=yes\nDEFAULT_INPUT_POLICY=\"ACCEPT\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"ACCEPT\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\nMANAGE_BUILTINS=no\nIPT_SYSCTL=/etc/ufw/sysctl.conf\nIPT_MODULES=\"\"\n"),
	} {
		if err := os.WriteFile(name, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -e
mount --bind "$1" /etc/ufw
mount --bind "$2" /etc/default/ufw
shift 2
exec "$@"`
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
		etc, filepath.Join(hostile, "default-ufw"),
		os.Args[0], "-test.run", "^TestUfwHostileHost$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "FWAUDIT_UFW_HOSTILE_CHILD=1", "FWAUDIT_E2E_BIN="+FwauditBin)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestUfwHostileHost")) {
		t.Errorf("the lab on a host with ufw enabled: %v\n%s", err, out)
	}
	if after := hashTree(t, ufwHostPaths...); after != before {
		t.Errorf("the host's %s changed", strings.Join(ufwHostPaths, ", "))
	}
}

// ufwHostileChild runs in the child: /etc/ufw is the hostile copy.
func ufwHostileChild(t *testing.T) {
	if b, err := os.ReadFile("/etc/ufw/ufw.conf"); err != nil || !bytes.Contains(b, []byte("ENABLED=yes")) {
		t.Fatalf("the child does not see the hostile /etc/ufw: %v %s", err, b)
	}
	lab := NewLab(t)
	before := hashTree(t, ufwHostPaths...)
	lab.Ufw("allow", "4242/tcp")
	if out := lab.Host.Run("iptables-save"); strings.Contains(out, "4242") || strings.Contains(out, "ufw-") {
		t.Errorf("ufw allow in a pristine (disabled) ufw loaded rules:\n%s", out)
	}
	lab.Ufw("--force", "enable")
	out := lab.Host.Run("iptables-save")
	for _, want := range []string{"--dport 4242 -j ACCEPT", ":ufw-before-input", ":INPUT DROP"} {
		if !strings.Contains(out, want) {
			t.Errorf("after ufw enable, iptables-save lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "9999") {
		t.Errorf("the host's own before.rules reached the lab:\n%s", out)
	}
	if after := hashTree(t, ufwHostPaths...); after != before {
		t.Errorf("the lab's ufw changed the (hostile) host files")
	}
}
