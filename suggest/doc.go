// Package suggest owns the hardened policy fwaudit proposes for a host: it
// turns the scan's listeners and the user's flags (--allow, --deny,
// --ssh-from, --no-ping, --log-drops) into a Policy, renders it as an
// iptables-restore file, its ip6tables twin, one nft -f file or a bash
// script, and refuses a policy that would cut the current SSH sessions
// (proved with the firewall package's own evaluator). It warns about other
// tools' chains a restore would wipe and diffs a policy against the loaded
// rules.
//
// It reads no live state: the caller passes listeners, sessions and the
// current rulesets in, and writes what Render produces.
package suggest
