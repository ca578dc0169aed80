// Package services names the ports that iptables and nft accept by name
// in place of a number (the names of /etc/services that rulesets use),
// one table for both readers.
package services

// ports is the table: lower-case names only.
var ports = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67,
	"bootpc": 68, "tftp": 69, "http": 80, "www": 80, "pop3": 110, "sunrpc": 111, "ident": 113, "auth": 113,
	"ntp": 123, "netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139, "imap": 143, "imap2": 143,
	"snmp": 161, "bgp": 179, "ldap": 389, "https": 443, "microsoft-ds": 445, "isakmp": 500,
	"syslog": 514, "submission": 587, "ldaps": 636, "rsync": 873, "imaps": 993, "pop3s": 995,
	"openvpn": 1194, "mysql": 3306, "postgresql": 5432, "domain-s": 853, "ipp": 631,
}

// Port is the port a service name stands for (the name exactly as the
// table has it, in lower case).
func Port(name string) (uint16, bool) {
	p, ok := ports[name]
	return p, ok
}
