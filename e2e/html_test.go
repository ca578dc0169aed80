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

var domHiddenAttr = regexp.MustCompile(`data-hidden="([0-9]+)"`)

// domHidden is how many findings the page's groups leave out (a group of
// many findings of one kind shows its first few and counts the rest).
func domHidden(dom string) int {
	n := 0
	for _, m := range domHiddenAttr.FindAllStringSubmatch(dom, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

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
		if n := len(domFinding.FindAllString(dom, -1)) + domHidden(dom); n != len(rep.Findings) {
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
		if n := len(domFinding.FindAllString(dom, -1)) + domHidden(dom); n != len(fl.Findings) {
			t.Errorf("the page shows %d findings, the JSON has %d", n, len(fl.Findings))
		}
		noScript(t, dom, "&lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt;")
	})
}

// whoDiv is one family's "who can reach it" in a page: its spans by class.
var (
	domWhoRow = regexp.MustCompile(`(?s)<tr class="(?:socket|reach)"(?: data-host="([^"]*)")? data-socket="([^"]+)" data-address="([^"]+)">(.*?)</tr>`)
	domWho    = regexp.MustCompile(`(?s)<div class="who" data-family="([^"]+)" data-verdict="([^"]+)">(.*?)</div>`)
	domSpan   = regexp.MustCompile(`<span class="(src|except|doubt|doubt-except) mono">([^<]*)</span>`)
)

// domSources reads the pages' who-can-reach-it cells: per socket and
// family, the verdict and the prefixes by kind ("src 10.20.0.0/16").
func domSources(dom string) map[string]string {
	out := map[string]string{}
	for _, row := range domWhoRow.FindAllStringSubmatch(dom, -1) {
		for _, who := range domWho.FindAllStringSubmatch(row[4], -1) {
			var parts []string
			for _, sp := range domSpan.FindAllStringSubmatch(who[3], -1) {
				parts = append(parts, sp[1]+" "+sp[2])
			}
			out[row[2]+" "+row[3]+" "+who[1]] = who[2] + ": " + strings.Join(parts, ", ")
		}
	}
	return out
}

// TestHTMLSourcesInChromium opens the report and the fleet page of a host
// with a restricted, a dual-stack (IPv4 open but for one range, IPv6
// blocked) and a conditional socket in headless chromium, and requires the
// sources the DOM shows, per socket and family, to be the JSON's.
func TestHTMLSourcesInChromium(t *testing.T) {
	bin := chromiumPath(t)
	dir := t.TempDir()
	files := map[string]string{
		"rules.v4": `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 203.0.113.0/24 -j DROP
-A INPUT -s 10.20.0.0/16 -p tcp -m tcp --dport 5432 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 22 -m recent --rcheck --name ssh -j ACCEPT
COMMIT
`,
		"rules.v6": `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
`,
		"ss.txt": `Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*     users:(("sshd",pid=610,fd=3))
tcp   LISTEN 0      244          0.0.0.0:5432       0.0.0.0:*     users:(("postgres",pid=820,fd=5))
tcp   LISTEN 0      128                *:443              *:*     users:(("nginx",pid=700,fd=6))
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"report", "--offline", "--sockets", "ss.txt", "--rules", "rules.v4", "--rules6", "rules.v6",
		"--hostname", "db1", "--time", "2026-11-21T06:00:00Z"}
	js := RunFwaudit(t, dir, append(args, "-o", "json")...)
	page := RunFwaudit(t, dir, append(args, "-o", "html")...)
	if js.Code != 0 || page.Code != 0 {
		t.Fatalf("fwaudit report: exit %d and %d\n%s%s", js.Code, page.Code, js.Stderr, page.Stderr)
	}
	// what the JSON says, in the DOM's terms
	var rep struct {
		Sockets []struct {
			Proto     string `json:"proto"`
			Port      int    `json:"port"`
			Address   string `json:"address"`
			DualStack bool   `json:"dual_stack"`
			Firewall  struct {
				IPv4 *FamilyVerdict `json:"ipv4"`
				IPv6 *FamilyVerdict `json:"ipv6"`
			} `json:"firewall"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(js.Stdout), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	kinds := map[string]bool{}
	for _, s := range rep.Sockets {
		for fam, fv := range map[string]*FamilyVerdict{"ipv4": s.Firewall.IPv4, "ipv6": s.Firewall.IPv6} {
			if fv == nil {
				continue
			}
			kinds[fv.Verdict] = true
			var parts []string
			switch fv.Verdict {
			case "open":
				for _, p := range fv.Except {
					parts = append(parts, "except "+p)
				}
			case "restricted":
				for _, p := range fv.Sources {
					parts = append(parts, "src "+p)
				}
			case "conditional":
				for _, p := range fv.Sources {
					parts = append(parts, "doubt "+p)
				}
			}
			want[s.Proto+"/"+strconv.Itoa(s.Port)+" "+s.Address+" "+fam] = fv.Verdict + ": " + strings.Join(parts, ", ")
		}
		if s.Port == 443 && !s.DualStack {
			t.Errorf("tcp/443 on * is not dual-stack in the JSON")
		}
	}
	for _, k := range []string{"open", "restricted", "conditional", "blocked"} {
		if !kinds[k] {
			t.Fatalf("the report has no %s family; the test needs one (JSON:\n%s)", k, js.Stdout)
		}
	}
	compare := func(t *testing.T, got map[string]string, want map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("the page shows %d socket families, the JSON has %d:\n got %v\nwant %v", len(got), len(want), got, want)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: the page shows %q, the JSON says %q", k, got[k], w)
			}
		}
	}
	t.Run("report", func(t *testing.T) {
		dom := openHTML(t, bin, dir, "report", page.Stdout)
		compare(t, domSources(dom), want)
	})
	t.Run("fleet", func(t *testing.T) {
		fleetDir := filepath.Join(dir, "fleet")
		if err := os.Mkdir(fleetDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(fleetDir, "db1.json"), []byte(js.Stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		fl := RunFwaudit(t, "", "fleet", "-o", "html", fleetDir)
		if fl.Code != 0 {
			t.Fatalf("fwaudit fleet: exit %d\n%s", fl.Code, fl.Stderr)
		}
		dom := openHTML(t, bin, dir, "fleet", fl.Stdout)
		// the fleet lists the sockets someone can reach: every one here
		// has a family that admits someone
		compare(t, domSources(dom), want)
	})
}
