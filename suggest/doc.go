// Package suggest owns the hardened policy fwaudit proposes for a host: it
// turns the scan's listeners and the user's flags (--allow, --deny,
// --ssh-from, --no-ping, --log-drops) into a Policy, renders it as an
// iptables-restore file, its ip6tables twin, one nft -f file or a bash
// script, and refuses a policy that would cut the current SSH sessions
// (proved with the firewall package's own evaluator).
//
// The policy is never wider than the rules loaded today (Current): for
// every listener, source and family it admits at most what the evaluator
// says they admit, unless --allow or --ssh-from names it, and Build proves
// that on the rendered ruleset. Changes says, per port and chain policy,
// what loading a rendering would change, judging both sides with the
// evaluator. It also warns about other tools' chains a restore would wipe.
//
// On a Docker host (docker.go) it keeps Docker's chains: the restore files
// are for iptables-restore --noflush and rewrite only INPUT and
// DOCKER-USER, the nft file adds a forward chain before Docker's, and the
// published ports the policy closes or restricts are matched there by the
// port the client used. The proofs judge today's rules with those chains
// replaced (merge.go).
//
// It reads no live state: the caller passes listeners, sessions and the
// current rulesets in, and writes what Render produces.
package suggest
