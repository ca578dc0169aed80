package firewall

// iptables keeps its rules in tables of built-in chains; each built-in
// chain is a base chain on one netfilter hook at its table's priority
// (include/uapi/linux/netfilter_ipv4.h, NF_IP_PRI_*; the same numbers for
// IPv6). iptables-nft registers its chains with the same priorities, so
// both backends and native nft tables take their places on one path.

// builtinChains are the chains each table has; their policy comes from
// the ":CHAIN POLICY" line.
var builtinChains = map[string][]string{
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"raw":      {"PREROUTING", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

func isBuiltin(table, chain string) bool {
	for _, c := range builtinChains[table] {
		if c == chain {
			return true
		}
	}
	return false
}

// iptablesPriority is each table's priority. nat has two: destination
// NAT before filtering (PREROUTING, OUTPUT) and source NAT after it
// (INPUT, POSTROUTING).
var iptablesPriority = map[string]int{"raw": -300, "mangle": -150, "filter": 0, "security": 50}

const (
	priNATDst = -100 // NF_IP_PRI_NAT_DST
	priNATSrc = 100  // NF_IP_PRI_NAT_SRC
	// priConntrack is where connection tracking runs: NOTRACK must come
	// before it (the raw table, nft's "priority raw").
	priConntrack = -200
)

// base is where a base chain runs.
type base struct {
	hook string
	prio int
	typ  string
}

// chainBase says where a chain of table t runs; ok is false for a regular
// (user) chain.
func chainBase(t *Table, c *Chain) (base, bool) {
	if c.Hook != "" {
		typ := c.Type
		if typ == "" {
			typ = "filter"
		}
		return base{c.Hook, c.Priority, typ}, true
	}
	if t.NftFamily != "" || !isBuiltin(t.Name, c.Name) {
		return base{}, false
	}
	hook := map[string]string{"PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward",
		"OUTPUT": "output", "POSTROUTING": "postrouting"}[c.Name]
	switch t.Name {
	case "nat":
		prio := priNATDst
		if hook == "input" || hook == "postrouting" {
			prio = priNATSrc
		}
		return base{hook, prio, "nat"}, true
	case "mangle":
		if hook == "output" {
			return base{hook, iptablesPriority["mangle"], "route"}, true
		}
	}
	return base{hook, iptablesPriority[t.Name], "filter"}, true
}
