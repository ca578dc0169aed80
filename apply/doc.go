// Package apply owns carrying a suggestion onto the live host: it loads
// the ruleset package suggest renders, after the proofs suggest makes on
// exactly the rendering it loads, with a backup of every source's rules
// taken first, and it takes the rules back unless someone confirms them
// in time.
//
// The order is fixed (Run): refuse what the proofs or another firewall
// manager forbid (Prepare, before anything changes); write the backup
// directory atomically; start the watchdog, a detached process in its own
// session that restores the backup at the deadline unless a confirmation
// is recorded (so the rollback happens even when fwaudit or the SSH
// session dies while waiting); load each family atomically, undoing the
// first when the second fails; wait for confirmation on the terminal or
// from `fwaudit apply --confirm`. Confirmation and rollback are decided
// once, by whoever records the decision first (decide).
//
// It does not build the policy (package suggest) nor read the listeners
// or today's rules (the caller passes them in); every command it runs goes
// through a firewall.Runner.
package apply
