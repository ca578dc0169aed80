package firewall

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writeTool writes an executable shell script dir/name that prints what.
func writeTool(t *testing.T, dir, name, what string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho "+what+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestExecRunnerSbin: cron runs jobs with PATH=/usr/bin:/bin, and
// iptables-save lives in /usr/sbin; ExecRunner must find it there.
func TestExecRunnerSbin(t *testing.T) {
	bin, sbin, sbin2, empty := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	writeTool(t, bin, "both-save", "from-path")
	writeTool(t, sbin, "both-save", "from-sbin")
	writeTool(t, sbin, "only-sbin-save", "from-sbin")
	writeTool(t, sbin2, "only-second-save", "from-second")
	// present but not executable: not a command
	if err := os.WriteFile(filepath.Join(sbin, "not-exec-save"), []byte("#!/bin/sh\necho no\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := sbinDirs
	sbinDirs = []string{sbin, sbin2}
	t.Cleanup(func() { sbinDirs = old })

	tests := []struct {
		name, path, cmd string
		want            string // stdout; "" means ErrNotInstalled
	}{
		{"in PATH", bin, "both-save", "from-path\n"},
		{"PATH wins over sbin", bin + ":" + empty, "both-save", "from-path\n"},
		{"not in PATH: first sbin directory", empty, "only-sbin-save", "from-sbin\n"},
		{"not in PATH: second sbin directory", empty, "only-second-save", "from-second\n"},
		{"empty PATH", "", "only-sbin-save", "from-sbin\n"},
		{"not executable", empty, "not-exec-save", ""},
		{"nowhere", empty, "no-such-save", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			out, err := ExecRunner{}.Run(context.Background(), tc.cmd)
			if tc.want == "" {
				if !errors.Is(err, ErrNotInstalled) {
					t.Fatalf("Run(%q) = %q, %v; want ErrNotInstalled", tc.cmd, out, err)
				}
				var ce *CmdError
				if !errors.As(err, &ce) || ce.Cmd != tc.cmd {
					t.Errorf("error %v does not name the command %q", err, tc.cmd)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run(%q): %v", tc.cmd, err)
			}
			if string(out) != tc.want {
				t.Errorf("Run(%q) = %q, want %q", tc.cmd, out, tc.want)
			}
		})
	}
}

// TestExecRunnerDefaultSbinDirs pins the directories searched after PATH.
func TestExecRunnerDefaultSbinDirs(t *testing.T) {
	if len(sbinDirs) != 2 || sbinDirs[0] != "/usr/sbin" || sbinDirs[1] != "/sbin" {
		t.Errorf("sbinDirs = %q, want [/usr/sbin /sbin]", sbinDirs)
	}
}
