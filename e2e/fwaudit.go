//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
)

// Result is one fwaudit run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// RunFwaudit runs the built fwaudit outside any namespace, in dir ("" for
// the test's directory). Use it for offline runs on files; it needs no
// root.
func RunFwaudit(t testing.TB, dir string, args ...string) Result {
	t.Helper()
	if FwauditErr != nil || FwauditBin == "" {
		t.Fatalf("building fwaudit: %v", FwauditErr)
	}
	return runFwaudit(t, dir, append([]string{FwauditBin}, args...))
}

// Fwaudit runs the built fwaudit in the host namespace (in lab.Dir) and
// returns its stdout, stderr and exit code.
func (lab *Lab) Fwaudit(args ...string) (stdout, stderr string, code int) {
	lab.T.Helper()
	requireFwaudit(lab.T)
	r := runFwaudit(lab.T, lab.Dir, append([]string{"ip", "netns", "exec", lab.Host.Name, FwauditBin}, args...))
	return r.Stdout, r.Stderr, r.Code
}

// requireFwaudit fails t when the fwaudit binary could not be built.
func requireFwaudit(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if FwauditErr != nil {
		t.Fatalf("building fwaudit: %v", FwauditErr)
	}
}

func runFwaudit(t testing.TB, dir string, args []string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := Result{Stdout: o.String(), Stderr: e.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s: timed out after %v", strings.Join(args, " "), cmdTimeout)
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return r
}

// Scan is `fwaudit scan -o json`, decoded independently of package report
// so that the tests check the documented contract.
type Scan struct {
	SchemaVersion int             `json:"schema_version"`
	Host          json.RawMessage `json:"host"`
	Firewall      json.RawMessage `json:"firewall"`
	Sockets       []Socket        `json:"sockets"`
}

// Socket is one entry of Scan.Sockets.
type Socket struct {
	Proto     string          `json:"proto"`
	Family    string          `json:"family"`
	DualStack bool            `json:"dual_stack"`
	Address   string          `json:"address"`
	Port      uint16          `json:"port"`
	Device    string          `json:"device"`
	PID       int             `json:"pid"`
	Process   string          `json:"process"`
	Processes []Process       `json:"processes"`
	Service   string          `json:"service"`
	Exposure  string          `json:"exposure"`
	Firewall  *SocketFirewall `json:"firewall"`
}

// Process is one owner of a shared socket.
type Process struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
}

// SocketFirewall is a socket's overall and per-family verdicts.
type SocketFirewall struct {
	Verdict string         `json:"verdict"`
	IPv4    *FamilyVerdict `json:"ipv4"`
	IPv6    *FamilyVerdict `json:"ipv6"`
}

// FamilyVerdict is one family's verdict.
type FamilyVerdict struct {
	Verdict    string   `json:"verdict"`
	Sources    []string `json:"sources"`
	Except     []string `json:"except"`
	Interfaces []string `json:"interfaces"`
	// Doubtful: sources a runtime match may also admit (open, restricted)
	Doubtful []string `json:"doubtful"`
	Reasons  []string `json:"reasons"`
	Rule     string   `json:"rule"`
	// Destinations: reached only at these of the host's addresses
	Destinations []string `json:"destinations"`
	Origin       string   `json:"origin"`
	// ByInterface: each outside interface's own verdict, when they differ
	ByInterface []IfaceVerdict `json:"by_interface"`
}

// IfaceVerdict is the verdict on one interface ("" offline: any other).
type IfaceVerdict struct {
	Interface string `json:"interface"`
	FamilyVerdict
}

// Scan runs `fwaudit scan -o json` in the host namespace; a non-zero exit,
// anything on stderr but warnings, or undecodable output fails the test.
func (lab *Lab) Scan(extra ...string) Scan {
	lab.T.Helper()
	stdout, stderr, code := lab.Fwaudit(append([]string{"scan", "-o", "json"}, extra...)...)
	if code != 0 {
		lab.T.Fatalf("fwaudit scan -o json: exit %d\nstderr: %s", code, stderr)
	}
	if stderr != "" {
		lab.T.Logf("fwaudit scan stderr: %s", stderr)
	}
	return DecodeScan(lab.T, stdout)
}

// DecodeScan decodes `scan -o json` output, failing t on error.
func DecodeScan(t testing.TB, stdout string) Scan {
	t.Helper()
	var s Scan
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("decoding scan -o json: %v\n%s", err, stdout)
	}
	if s.SchemaVersion != 1 {
		t.Errorf("scan -o json: schema_version = %d, want 1", s.SchemaVersion)
	}
	return s
}

// Find returns the sockets with proto, family and port.
func (s Scan) Find(proto, family string, port uint16) []Socket {
	var out []Socket
	for _, so := range s.Sockets {
		if so.Proto == proto && so.Family == family && so.Port == port {
			out = append(out, so)
		}
	}
	return out
}

// Admits reports whether the verdict admits a NEW connection from src
// arriving on iface; decided is false for verdicts that promise nothing
// (conditional, unknown, not-applicable, or anything unrecognised).
//
//	open:       every source except those inside Except
//	restricted: sources inside Sources (any when empty) arriving on one of
//	            Interfaces (any when empty; "eth+" is a prefix); with both
//	            empty, nobody
//	blocked:    nobody
//	not-applicable: nobody (a loopback socket the network cannot reach)
//
// A source among Doubtful is not decided.
//
// With a per-interface breakdown, iface's own verdict decides (that of
// "", any other interface, when iface is not listed).
func (fv *FamilyVerdict) Admits(src netip.Addr, iface string) (admitted, decided bool) {
	if fv == nil || inAny(src, fv.Doubtful) {
		return false, false
	}
	if len(fv.ByInterface) > 0 {
		var other *FamilyVerdict
		for i := range fv.ByInterface {
			x := &fv.ByInterface[i]
			if x.Interface == iface {
				return x.FamilyVerdict.Admits(src, iface)
			}
			if x.Interface == "" {
				other = &x.FamilyVerdict
			}
		}
		if other != nil {
			return other.Admits(src, iface)
		}
	}
	switch fv.Verdict {
	case "open":
		return !inAny(src, fv.Except), true
	case "blocked", "not-applicable":
		return false, true
	case "restricted":
		if len(fv.Sources) == 0 && len(fv.Interfaces) == 0 {
			return false, true
		}
		ok := len(fv.Sources) == 0 || inAny(src, fv.Sources)
		if len(fv.Interfaces) > 0 && !ifaceIn(iface, fv.Interfaces) {
			ok = false
		}
		return ok, true
	}
	return false, false
}

// inAny reports whether a is inside one of the CIDRs (a bare address is a
// host prefix). An unparsable entry never contains anything.
func inAny(a netip.Addr, cidrs []string) bool {
	for _, c := range cidrs {
		if !strings.Contains(c, "/") {
			if b, err := netip.ParseAddr(c); err == nil && b == a {
				return true
			}
			continue
		}
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

func ifaceIn(iface string, names []string) bool {
	for _, n := range names {
		if n == iface || (strings.HasSuffix(n, "+") && strings.HasPrefix(iface, strings.TrimSuffix(n, "+"))) {
			return true
		}
	}
	return false
}
