//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// debTimeout bounds `make deb`: a cold build of a PIE binary and of the
// man page generator on two shared cores.
const debTimeout = 10 * time.Minute

// The package `make deb` builds, once per test binary, and the tree
// `dpkg -x` unpacks it into. Unpacking into a throwaway directory, not
// installing on the test machine, leaves nothing to purge and cannot clash
// with an fwaudit the machine already has; what dpkg itself does at install
// (conffiles, maintainer scripts) is left to lintian's checks of the
// control files.
var (
	debOnce  sync.Once
	debPath  string
	debRoot  string
	debBuild error
)

func debPackage(t *testing.T) (deb, root string) {
	t.Helper()
	RequireRoot(t) // lintian, man and setpriv are installed by make deps, as root
	debOnce.Do(func() { debPath, debRoot, debBuild = buildDeb() })
	if debBuild != nil {
		t.Fatal(debBuild)
	}
	return debPath, debRoot
}

func buildDeb() (deb, root string, err error) {
	modRoot, err := moduleRoot()
	if err != nil {
		return "", "", err
	}
	if binDir == "" {
		return "", "", fmt.Errorf("binaries not built: TestMain must call e2e.Setup")
	}
	out := filepath.Join(binDir, "deb")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	ctx, cancel := context.WithTimeout(context.Background(), debTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-C", modRoot, "deb", "DEBDIR="+out, "GO="+goTool)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("make deb: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "fwaudit_*.deb"))
	if len(debs) != 1 {
		return "", "", fmt.Errorf("make deb made %q in %s, want one fwaudit_*.deb\n%s", debs, out, b)
	}
	root = filepath.Join(binDir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", "", err
	}
	// man reads the pages as root; the unprivileged user of the timer test
	// never looks here, but keep the tree readable like /usr
	if err := os.Chmod(binDir, 0o755); err != nil {
		return "", "", err
	}
	if b, err := exec.Command("dpkg", "-x", debs[0], root).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("dpkg -x %s: %v\n%s", debs[0], err, b)
	}
	return debs[0], root, nil
}

func runOut(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// commandPaths walks `fwaudit --help` the way a user reads it: every
// command under "Available Commands", recursively, as "scan",
// "completion bash", …; cobra's help command has no page of its own.
func commandPaths(t *testing.T, bin string, parent []string) [][]string {
	t.Helper()
	out, stderr, err := runOut(t, nil, append(append([]string{bin}, parent...), "--help")...)
	if err != nil {
		t.Fatalf("fwaudit %s --help: %v: %s", strings.Join(parent, " "), err, stderr)
	}
	var paths [][]string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "Available Commands:":
			in = true
			continue
		case in && strings.TrimSpace(line) == "":
			in = false
		}
		if !in {
			continue
		}
		name := strings.Fields(line)[0]
		if name == "help" {
			continue
		}
		p := append(slices.Clone(parent), name)
		paths = append(paths, p)
		paths = append(paths, commandPaths(t, bin, p)...)
	}
	return paths
}

// allowedLintian are the tags lintian may still report, each justified in
// the commit that built the package: it is not uploaded to Debian (no ITP
// bug to close) and the binary is a static PIE (an ELF shared object with
// no DT_NEEDED).
var allowedLintian = []string{"initial-upload-closes-no-bugs", "shared-library-lacks-prerequisites"}

func TestDebLintian(t *testing.T) {
	deb, _ := debPackage(t)
	out, stderr, err := runOut(t, nil, "lintian", "--pedantic", "--suppress-tags", "spelling-error-in-binary", deb)
	// lintian exits 1 when it reports an error tag (or fails)
	if err != nil && !strings.Contains(out, "E: ") {
		t.Fatalf("lintian %s: %v\n%s%s", deb, err, out, stderr)
	}
	tag := regexp.MustCompile(`^([EWIPX]): fwaudit[^:]*: (\S+)`)
	for _, line := range strings.Split(out, "\n") {
		m := tag.FindStringSubmatch(line)
		switch {
		case m == nil:
			continue
		case m[1] == "E":
			t.Errorf("lintian error: %s", line)
		case m[1] == "W" && !slices.Contains(allowedLintian, m[2]):
			t.Errorf("lintian warning not known to be harmless: %s", line)
		}
	}
}

func TestDebContents(t *testing.T) {
	deb, root := debPackage(t)
	out, stderr, err := runOut(t, nil, "dpkg-deb", "-c", deb)
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v: %s", err, stderr)
	}
	files := map[string]string{} // path -> mode and owner
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		files[strings.TrimPrefix(f[5], ".")] = f[0] + " " + f[1]
	}
	want := map[string]string{
		"/usr/bin/fwaudit": "-rwxr-xr-x root/root",
		"/usr/share/bash-completion/completions/fwaudit":    "-rw-r--r-- root/root",
		"/usr/share/zsh/vendor-completions/_fwaudit":        "-rw-r--r-- root/root",
		"/usr/share/fish/vendor_completions.d/fwaudit.fish": "-rw-r--r-- root/root",
		"/usr/lib/systemd/system/fwaudit-report.service":    "-rw-r--r-- root/root",
		"/usr/lib/systemd/system/fwaudit-report.timer":      "-rw-r--r-- root/root",
		"/etc/default/fwaudit":                              "-rw-r--r-- root/root",
		"/usr/share/doc/fwaudit/README.md.gz":               "-rw-r--r-- root/root",
		"/usr/share/doc/fwaudit/copyright":                  "-rw-r--r-- root/root",
		"/usr/share/doc/fwaudit/changelog.Debian.gz":        "-rw-r--r-- root/root",
		"/usr/share/man/man1/fwaudit.1.gz":                  "-rw-r--r-- root/root",
	}
	cmds := commandPaths(t, filepath.Join(root, "usr/bin/fwaudit"), nil)
	for _, must := range []string{"scan", "explain", "report", "suggest", "services", "version", "completion"} {
		if !slices.ContainsFunc(cmds, func(p []string) bool { return len(p) == 1 && p[0] == must }) {
			t.Errorf("fwaudit --help lists no %s command (found %q)", must, cmds)
		}
	}
	for _, p := range cmds {
		want["/usr/share/man/man1/fwaudit-"+strings.Join(p, "-")+".1.gz"] = "-rw-r--r-- root/root"
	}
	for path, mode := range want {
		if got, ok := files[path]; !ok {
			t.Errorf("package lacks %s", path)
		} else if got != mode {
			t.Errorf("%s is %s, want %s", path, got, mode)
		}
	}
	for path := range files {
		if _, ok := want[path]; !ok {
			t.Errorf("package holds %s, which no check expects", path)
		}
	}

	fields := map[string]string{"Depends": "", "Pre-Depends": "", "Recommends": "iptables, nftables", "Package": "fwaudit"}
	for f, wantV := range fields {
		got, _, _ := runOut(t, nil, "dpkg-deb", "-f", deb, f)
		if strings.TrimSpace(got) != wantV {
			t.Errorf("control field %s: %q, want %q", f, strings.TrimSpace(got), wantV)
		}
	}
	ctl := t.TempDir()
	if _, stderr, err := runOut(t, nil, "dpkg-deb", "-e", deb, ctl); err != nil {
		t.Fatalf("dpkg-deb -e: %v: %s", err, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); string(b) != "/etc/default/fwaudit\n" {
		t.Errorf("conffiles: %q, want /etc/default/fwaudit", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if _, stderr, err := runOut(t, nil, "sh", "-n", filepath.Join(ctl, s)); err != nil {
			t.Errorf("sh -n %s: %v: %s", s, err, stderr)
		}
	}
}

func TestDebInstalled(t *testing.T) {
	_, root := debPackage(t)
	bin := filepath.Join(root, "usr/bin/fwaudit")

	t.Run("version", func(t *testing.T) {
		out, stderr, err := runOut(t, nil, bin, "--version")
		if err != nil || !regexp.MustCompile(`^fwaudit \S+\n$`).MatchString(out) || stderr != "" {
			t.Errorf("fwaudit --version: %v, stdout %q, stderr %q", err, out, stderr)
		}
		// the package's version less its Debian revision
		deb, _ := debPackage(t)
		v, _, err := runOut(t, nil, "dpkg-deb", "-f", deb, "Version")
		upstream := strings.TrimSpace(v)
		if i := strings.LastIndex(upstream, "-"); i > 0 {
			upstream = upstream[:i]
		}
		if err != nil || out != "fwaudit "+upstream+"\n" {
			t.Errorf("fwaudit --version says %q, the package is version %q (want fwaudit %s)", out, strings.TrimSpace(v), upstream)
		}
	})

	t.Run("man", func(t *testing.T) {
		pages, _ := filepath.Glob(filepath.Join(root, "usr/share/man/man1/*.1.gz"))
		if len(pages) < 8 {
			t.Fatalf("only %d man pages", len(pages))
		}
		env := []string{"LC_ALL=C.UTF-8", "MANROFFSEQ=", "MANWIDTH=80", "MAN_KEEP_STDERR=1"}
		for _, page := range pages {
			name := strings.TrimSuffix(filepath.Base(page), ".1.gz")
			t.Run(name, func(t *testing.T) {
				// as lintian checks a page: groff's warnings on stderr
				_, stderr, err := runOut(t, env, "man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page)
				if err != nil || stderr != "" {
					t.Errorf("man --warnings -l %s: %v\n%s", name, err, stderr)
				}
				out, stderr, err := runOut(t, env, "man", "-l", page)
				if err != nil || stderr != "" {
					t.Fatalf("man -l %s: %v\n%s", name, err, stderr)
				}
				// man justifies lines: compare with runs of spaces as one
				flat := strings.Join(strings.Fields(out), " ")
				for _, want := range []string{strings.ToUpper(name) + "(1)", "NAME " + name + " - ", "SYNOPSIS",
					"EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"} {
					if !strings.Contains(flat, want) {
						t.Errorf("man -l %s: no %q in\n%s", name, want, out)
					}
				}
			})
		}
	})

	t.Run("bash completion", func(t *testing.T) {
		comp := filepath.Join(root, "usr/share/bash-completion/completions/fwaudit")
		out, stderr, err := runOut(t, nil, "bash", "-c", `source "$1"; complete -p fwaudit`, "bash", comp)
		if err != nil || !strings.Contains(out, "complete") || !strings.HasSuffix(strings.TrimSpace(out), " fwaudit") {
			t.Fatalf("complete -p fwaudit: %v, stdout %q, stderr %q", err, out, stderr)
		}
		// and it completes, as bash-completion loads it: the function asks
		// the installed binary
		script := `source /usr/share/bash-completion/bash_completion
source "$1"
COMP_WORDS=(fwaudit report --fail-on "")
COMP_CWORD=3
COMP_LINE="fwaudit report --fail-on "
COMP_POINT=${#COMP_LINE}
fn=$(complete -p fwaudit | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
"$fn" fwaudit "" --fail-on
printf '%s\n' "${COMPREPLY[@]}"`
		out, stderr, err = runOut(t, []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH")}, "bash", "-c", script, "bash", comp)
		got := strings.Fields(out)
		slices.Sort(got)
		if want := []string{"critical", "high", "info", "low", "medium"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("completing fwaudit report --fail-on: %v, got %q, want %q (stderr %q)", err, got, want, stderr)
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		// the units name /usr/bin/fwaudit, which this machine need not have:
		// verify copies that name the unpacked binary, nothing else changed
		dir := t.TempDir()
		for _, u := range []string{"fwaudit-report.service", "fwaudit-report.timer"} {
			b, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system", u))
			if err != nil {
				t.Fatal(err)
			}
			s := strings.ReplaceAll(string(b), "=/usr/bin/fwaudit ", "="+bin+" ")
			if strings.HasSuffix(u, ".service") && s == string(b) {
				t.Fatalf("%s does not run /usr/bin/fwaudit", u)
			}
			if err := os.WriteFile(filepath.Join(dir, u), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Documentation=man:fwaudit-report(1) is looked up with man
		env := []string{"MANPATH=" + filepath.Join(root, "usr/share/man"), "SYSTEMD_LOG_COLOR=0"}
		out, stderr, err := runOut(t, env, "systemd-analyze", "verify",
			filepath.Join(dir, "fwaudit-report.service"), filepath.Join(dir, "fwaudit-report.timer"))
		// verify exits 0 on an unknown key; any message is a defect
		if err != nil || out != "" || stderr != "" {
			t.Errorf("systemd-analyze verify: %v\n%s%s", err, out, stderr)
		}
	})
}
