//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNonRoot runs the whole CLI as user nobody (setpriv, no groups, no
// capabilities) in a lab whose listeners and rules belong to root. What
// an ordinary user can see, fwaudit shows (every socket, from the kernel's
// socket tables); what it cannot (the owners' open files, the rules) is
// unknown, said once in one warning each, never guessed. Exit codes are
// README's: 0 for scan and suggest, 4 for report --fail-on (the audit is
// incomplete), 0 with --allow-incomplete, 1 for explain (nothing to
// explain with).
func TestNonRoot(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	requireFwaudit(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv not installed (util-linux): %v", err)
	}
	// nobody must be able to run the binary: a world-readable copy.
	dir, err := os.MkdirTemp("", "fwaudit-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "fwaudit")
	b, err := os.ReadFile(FwauditBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80", "tcp6only:[::]:80")
	lab.Start(lab.Host, "named", "udp:0.0.0.0:53")
	lab.Start(lab.Host, "postgres", "tcp:127.0.0.1:5432")
	lab.LoadIptables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n")

	asNobody := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		full := append([]string{"netns", "exec", lab.Host.Name, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", bin}, args...)
		cmd := exec.CommandContext(ctx, "ip", full...)
		cmd.Dir = "/"
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil:
			t.Fatalf("fwaudit %v as nobody: timed out", args)
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("fwaudit %v as nobody: %v", args, err)
		}
		return o.String(), e.String(), code
	}
	// the two warnings an unprivileged run must give, once each
	wantWarnings := func(t *testing.T, stderr string) {
		t.Helper()
		var warnings []string
		for _, l := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(l, "warning: ") {
				warnings = append(warnings, l)
			}
		}
		for _, w := range []string{
			"their sockets are listed without owner",
			"cannot read the firewall rules without root privileges: verdicts are unknown (run fwaudit as root)",
		} {
			n := 0
			for _, l := range warnings {
				if strings.Contains(l, w) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d warnings say %q, want exactly one; stderr:\n%s", n, w, stderr)
			}
		}
		if strings.Contains(stderr, "\x1b") {
			t.Errorf("stderr holds raw escapes:\n%s", stderr)
		}
	}

	t.Run("scan", func(t *testing.T) {
		stdout, stderr, code := asNobody("scan", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstderr: %s", code, stderr)
		}
		wantWarnings(t, stderr)
		if strings.Count(stderr, "warning: ") != 2 {
			t.Errorf("want exactly the two warnings, got:\n%s", stderr)
		}
		s := DecodeScan(t, stdout)
		for _, w := range []struct {
			proto, addr string
			port        uint16
			verdict     string
		}{
			{"tcp", "0.0.0.0", 80, "unknown"},
			{"tcp", "::", 80, "unknown"},
			{"udp", "0.0.0.0", 53, "unknown"},
			{"tcp", "127.0.0.1", 5432, "not-applicable"},
		} {
			found := false
			for _, so := range s.Sockets {
				if so.Proto != w.proto || so.Address != w.addr || so.Port != w.port {
					continue
				}
				found = true
				if so.PID != 0 || so.Process != "" {
					t.Errorf("%s %s:%d: owner %d %q, want unknown (pid 0, process \"\")", w.proto, w.addr, w.port, so.PID, so.Process)
				}
				if so.Firewall == nil || so.Firewall.Verdict != w.verdict {
					t.Errorf("%s %s:%d: firewall %+v, want verdict %s", w.proto, w.addr, w.port, so.Firewall, w.verdict)
				}
			}
			if !found {
				t.Errorf("%s %s:%d not listed:\n%s", w.proto, w.addr, w.port, stdout)
			}
		}
		if !strings.Contains(string(s.Firewall), "permission denied") {
			t.Errorf("firewall section does not say why the rules are unknown: %s", s.Firewall)
		}
	})
	t.Run("scan table", func(t *testing.T) {
		stdout, stderr, code := asNobody("scan")
		if code != 0 || !strings.Contains(stdout, "unknown") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, stdout, stderr)
		}
		wantWarnings(t, stderr)
	})
	t.Run("report --fail-on high", func(t *testing.T) {
		stdout, stderr, code := asNobody("report", "--format", "json", "--fail-on", "high")
		if code != 4 {
			t.Errorf("exit %d, want 4 (incomplete audit)\nstderr: %s", code, stderr)
		}
		if !strings.Contains(stderr, "fwaudit: error: --fail-on high: the audit is incomplete") || !strings.HasPrefix(stdout, "{") {
			t.Errorf("stdout %.40q, stderr:\n%s", stdout, stderr)
		}
		wantWarnings(t, stderr)
	})
	t.Run("report --allow-incomplete", func(t *testing.T) {
		_, stderr, code := asNobody("report", "--format", "json", "--fail-on", "high", "--allow-incomplete")
		if code != 0 {
			t.Errorf("exit %d, want 0\nstderr: %s", code, stderr)
		}
		wantWarnings(t, stderr)
	})
	t.Run("explain", func(t *testing.T) {
		stdout, stderr, code := asNobody("explain", "tcp/80")
		if code != 1 || stdout != "" || strings.Count(stderr, "fwaudit: error: ") != 1 || !strings.Contains(stderr, "permission denied (run as root)") {
			t.Errorf("exit %d, want 1 with one error saying why\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
	})
	t.Run("suggest", func(t *testing.T) {
		stdout, stderr, code := asNobody("suggest")
		if code != 0 || !strings.Contains(stdout, "*filter") || strings.Contains(stdout, "warning") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		wantWarnings(t, stderr)
		// nothing but ssh is opened where today's rules are unknown
		if strings.Contains(stdout, "--dport 80 ") || strings.Contains(stdout, "--dport 53 ") {
			t.Errorf("suggest opened a port whose current rules it could not read:\n%s", stdout)
		}
		lab.Host.RunInput([]byte(stdout), "iptables-restore", "--test")
	})
}
