//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromiumTimeout bounds one headless chromium run.
const chromiumTimeout = 90 * time.Second

// chromiumPath finds Debian's chromium. Without it the test fails as root
// (make test installs it through scripts/test-deps.sh, so a missing
// browser is a broken set-up) and skips loudly otherwise.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if IsRoot() {
		t.Fatal("chromium not found: install Debian's chromium package (scripts/test-deps.sh does, under sudo make test)")
	}
	t.Skip("SKIPPING HTML TEST: chromium is not installed; sudo make test installs it")
	return ""
}

// runChromium runs headless chromium with args then url, in its own
// process group with a fresh profile, bounded by chromiumTimeout; the
// group is killed by its leader's PID when the run ends or the test does.
func runChromium(t *testing.T, bin string, args []string, url string) (stdout string) {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	// its own HOME: the crash handler it starts (in a session of its own,
	// outside the group) keeps its database there, which marks it as ours
	cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		// chromium's helpers (zygote, renderer, crash handler) share the
		// group; none may outlive the test
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Logf("killing chromium's process group %d: %v", pid, err)
		}
		killMarked(t, profile)
	})
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("chromium %s: timed out after %v\nstderr: %s", strings.Join(args, " "), chromiumTimeout, tail(errb.String()))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\nstderr: %s", strings.Join(args, " "), err, tail(errb.String()))
	}
	return out.String()
}

// killMarked kills, by PID, the processes whose command line names dir:
// chromium's crash handler leaves the process group, but names its
// database under the HOME this test gave it.
func killMarked(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Logf("listing /proc: %v", err)
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cl, []byte(dir)) {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Logf("killing chromium helper %d: %v", pid, err)
		}
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// openHTML writes page to dir/name and has chromium load it: its DOM after
// loading (--dump-dom), a screenshot that must be a real PNG of the
// window's size, and a printed PDF.
func openHTML(t *testing.T, bin, dir, name, page string) (dom string) {
	t.Helper()
	file := filepath.Join(dir, name+".html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file
	dom = runChromium(t, bin, []string{"--dump-dom"}, url)
	if !strings.Contains(dom, "</html>") {
		t.Fatalf("chromium --dump-dom gave no document:\n%s", tail(dom))
	}

	shot := filepath.Join(dir, name+".png")
	runChromium(t, bin, []string{"--hide-scrollbars", "--window-size=1280,1800", "--screenshot=" + shot}, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1800 {
		t.Errorf("screenshot is %dx%d, want 1280x1800", b.Dx(), b.Dy())
	}
	// something is drawn: not one flat colour
	first := img.At(0, 0)
	flat := true
	for y := 0; y < 400 && flat; y += 3 {
		for x := 0; x < 1280; x += 3 {
			if img.At(x, y) != first {
				flat = false
				break
			}
		}
	}
	if flat {
		t.Errorf("screenshot %s is blank", shot)
	}

	pdf := filepath.Join(dir, name+".pdf")
	runChromium(t, bin, []string{"--no-pdf-header-footer", "--print-to-pdf=" + pdf}, url)
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) || len(b) < 1000 {
		t.Errorf("printing to PDF: %d bytes, %v", len(b), err)
	}
	return dom
}

var (
	domScript  = regexp.MustCompile(`(?i)<script[\s>]`)
	domFinding = regexp.MustCompile(`<article class="finding `)
	domHost    = regexp.MustCompile(`<tr class="host-row"`)
	domSocket  = regexp.MustCompile(`<tr class="socket"`)
)

// noScript fails t when the DOM has a script element, or when the text
// the hostile host wrote is not shown as text.
func noScript(t *testing.T, dom string, texts ...string) {
	t.Helper()
	if m := domScript.FindString(dom); m != "" {
		i := strings.Index(dom, m)
		t.Errorf("the DOM has a script element: ...%s...", dom[max(0, i-100):min(len(dom), i+100)])
	}
	if strings.Contains(dom, "pwned") && !strings.Contains(dom, "document.title='pwned'") {
		t.Error("a script from a rule comment ran")
	}
	for _, s := range texts {
		if !strings.Contains(dom, s) {
			t.Errorf("the DOM does not show %q as text", s)
		}
	}
}

// TestHTMLInChromium renders a report and a fleet as HTML, opens them in
// headless chromium and checks what it shows against the JSON: as many
// findings, hosts and sockets, and the hostile host's <script> process
// name and rule comments as text, never as elements.
func TestHTMLInChromium(t *testing.T) {
	bin := chromiumPath(t)
	dir := t.TempDir()
	const data = "../testdata/fleet/"

	t.Run("report", func(t *testing.T) {
		args := []string{"report", "--offline", "--sockets", data + "inputs/hostile.ss.txt",
			"--rules", data + "inputs/hostile.rules.v4", "--rules6", data + "inputs/v6-default-drop.rules",
			"--hostname", "hostile<b>1</b>", "--time", "2026-11-21T06:00:00Z"}
		js := RunFwaudit(t, "", append(args, "-o", "json")...)
		page := RunFwaudit(t, "", append(args, "-o", "html")...)
		if js.Code != 0 || page.Code != 0 {
			t.Fatalf("fwaudit report: exit %d and %d\n%s%s", js.Code, page.Code, js.Stderr, page.Stderr)
		}
		var rep struct {
			Findings []json.RawMessage `json:"findings"`
			Sockets  []struct {
				Process string `json:"process"`
			} `json:"sockets"`
		}
		if err := json.Unmarshal([]byte(js.Stdout), &rep); err != nil {
			t.Fatal(err)
		}
		hostile := 0
		for _, s := range rep.Sockets {
			if strings.Contains(s.Process, "<script>") {
				hostile++
			}
		}
		if hostile == 0 || len(rep.Findings) == 0 {
			t.Fatalf("the report has %d findings and %d sockets of a <script> process; the test needs some", len(rep.Findings), hostile)
		}
		dom := openHTML(t, bin, dir, "report", page.Stdout)
		if n := len(domFinding.FindAllString(dom, -1)); n != len(rep.Findings) {
			t.Errorf("the page shows %d findings, the JSON has %d", n, len(rep.Findings))
		}
		if n := len(domSocket.FindAllString(dom, -1)); n != len(rep.Sockets) {
			t.Errorf("the page shows %d sockets, the JSON has %d", n, len(rep.Sockets))
		}
		noScript(t, dom,
			"&lt;script&gt;alert(1)&lt;/script&gt;",
			"&lt;img src=x onerror=alert(2)&gt;",
			"&lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt;",
			"hostile&lt;b&gt;1&lt;/b&gt;")
		if strings.Contains(dom, "<img") || strings.Contains(dom, "<b>1</b>") {
			t.Error("markup from the host became elements")
		}
	})

	t.Run("fleet", func(t *testing.T) {
		args := []string{"fleet", "--baseline", data + "week1", data + "week2"}
		js := RunFwaudit(t, "", append(args, "-o", "json")...)
		page := RunFwaudit(t, "", append(args, "-o", "html")...)
		if js.Code != 0 || page.Code != 0 {
			t.Fatalf("fwaudit fleet: exit %d and %d\n%s%s", js.Code, page.Code, js.Stderr, page.Stderr)
		}
		var fl struct {
			Hosts    []json.RawMessage `json:"hosts"`
			Findings []json.RawMessage `json:"findings"`
		}
		if err := json.Unmarshal([]byte(js.Stdout), &fl); err != nil {
			t.Fatal(err)
		}
		if len(fl.Hosts) < 2 || len(fl.Findings) == 0 {
			t.Fatalf("the fleet has %d hosts and %d findings; the test needs more", len(fl.Hosts), len(fl.Findings))
		}
		dom := openHTML(t, bin, dir, "fleet", page.Stdout)
		if n := len(domHost.FindAllString(dom, -1)); n != len(fl.Hosts) {
			t.Errorf("the page shows %d hosts, the JSON has %d", n, len(fl.Hosts))
		}
		if n := len(domFinding.FindAllString(dom, -1)); n != len(fl.Findings) {
			t.Errorf("the page shows %d findings, the JSON has %d", n, len(fl.Findings))
		}
		noScript(t, dom, "&lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt;")
	})
}
