//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"time"
)

// ProbeTimeout is a probe's TCP connect or UDP echo timeout. A probe that
// times out is retried once with RetryTimeout, so a busy machine does not
// turn a slow answer into "blocked".
var (
	ProbeTimeout = 400 * time.Millisecond
	RetryTimeout = 1500 * time.Millisecond
)

// ProbeReq is one connection attempt from the peer namespace.
type ProbeReq struct {
	Proto    string // "tcp" or "udp"
	Src, Dst string // addresses; Src must be one of the peer's
	Port     uint16
}

func (r ProbeReq) String() string {
	return fmt.Sprintf("%s %s -> %s port %d", r.Proto, r.Src, r.Dst, r.Port)
}

// ProbeSpec is a ProbeReq from a fixed source port (0: an ephemeral one).
type ProbeSpec struct {
	ProbeReq
	SPort uint16
}

func (p ProbeSpec) String() string {
	if p.SPort == 0 {
		return p.ProbeReq.String()
	}
	return fmt.Sprintf("%s %s:%d -> %s port %d", p.Proto, p.Src, p.SPort, p.Dst, p.Port)
}

func (p ProbeSpec) arg() string {
	return fmt.Sprintf("%s,%s,%s,%d,%d", p.Proto, p.Src, p.Dst, p.Port, p.SPort)
}

func specs(reqs []ProbeReq) []ProbeSpec {
	out := make([]ProbeSpec, len(reqs))
	for i, r := range reqs {
		out[i] = ProbeSpec{ProbeReq: r}
	}
	return out
}

// ProbeResult is what one probe saw: OK when it got through; otherwise
// Detail says how it failed ("fail refused", "fail timeout", ...).
type ProbeResult struct {
	OK     bool
	Detail string
}

// Probe tries one connection from src (in the peer) to dst:port and
// reports whether it got through.
func (lab *Lab) Probe(proto, src, dst string, port uint16) bool {
	lab.T.Helper()
	return lab.ProbeAll([]ProbeReq{{proto, src, dst, port}})[0].OK
}

// ProbeAll runs every probe concurrently from the peer, in one helper
// process, and retries once those that timed out.
func (lab *Lab) ProbeAll(reqs []ProbeReq) []ProbeResult {
	lab.T.Helper()
	return lab.ProbeSpecs(specs(reqs))
}

// ProbeSpecs is ProbeAll with source ports.
func (lab *Lab) ProbeSpecs(reqs []ProbeSpec) []ProbeResult {
	lab.T.Helper()
	res, err := probeIn(lab.Peer, reqs)
	if err != nil {
		lab.T.Fatal(err)
	}
	return res
}

// probeIn runs reqs from ns, retrying once those that timed out. It does
// not touch the test, so it may run on any goroutine.
func probeIn(ns *Netns, reqs []ProbeSpec) ([]ProbeResult, error) {
	res, err := probeOnceIn(ns, reqs, ProbeTimeout)
	if err != nil {
		return nil, err
	}
	var again []int
	for i, r := range res {
		if r.Detail == "fail timeout" {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		retry := make([]ProbeSpec, len(again))
		for j, i := range again {
			retry[j] = reqs[i]
		}
		again2, err := probeOnceIn(ns, retry, RetryTimeout)
		if err != nil {
			return nil, err
		}
		for j, r := range again2 {
			res[again[j]] = r
		}
	}
	return res, nil
}

// ProbeOnce is a single attempt per request, without retries (for counter
// readings, where a retry would count twice).
func (lab *Lab) ProbeOnce(reqs []ProbeReq, timeout time.Duration) []ProbeResult {
	lab.T.Helper()
	return lab.probeOnce(specs(reqs), timeout)
}

func (lab *Lab) probeOnce(reqs []ProbeSpec, timeout time.Duration) []ProbeResult {
	lab.T.Helper()
	res, err := probeOnceIn(lab.Peer, reqs, timeout)
	if err != nil {
		lab.T.Fatal(err)
	}
	return res
}

// probeOnceIn is one attempt per request from ns, in one helper process.
func probeOnceIn(ns *Netns, reqs []ProbeSpec, timeout time.Duration) ([]ProbeResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	args := []string{SvcBin, "probe", "-timeout", timeout.String()}
	for _, r := range reqs {
		args = append(args, r.arg())
	}
	out, stderr, err := ns.Exec(nil, args...)
	if err != nil {
		return nil, fmt.Errorf("probe in %s: %v\nstderr: %s", ns.Name, err, stderr)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(reqs) {
		return nil, fmt.Errorf("probe in %s: %d requests, %d answers:\n%s", ns.Name, len(reqs), len(lines), out)
	}
	res := make([]ProbeResult, len(reqs))
	for i, l := range lines {
		res[i] = ProbeResult{OK: l == "ok", Detail: l}
	}
	return res, nil
}
