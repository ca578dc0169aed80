package scan

import (
	"slices"
	"sort"
	"strings"
)

// Service is one entry of the built-in catalog. Port and Proto are the
// service's well-known port; a service found by process name on another
// port (sshd on 5622) still carries the catalog's port.
type Service struct {
	Name        string
	Proto       string // "tcp", "udp"
	Port        uint16
	Sensitive   bool // databases, caches, admin interfaces: never open to the world by default
	Cleartext   bool // plain-text protocols (informational)
	Description string
}

const (
	sens  = 1 << iota // Sensitive
	clear             // Cleartext
)

// entry is one row of the catalog table: a name on one or more protocols.
type entry struct {
	name   string
	protos string // "tcp", "udp" or "tcp,udp"
	port   uint16
	class  int
	desc   string
}

// catalog is fwaudit's own table, informed by the IANA service name
// registry (canonical names where IANA's is obscure: "dns" not "domain",
// "smb" not "microsoft-ds"). It is not derived from /etc/services.
var catalog = []entry{
	{"ftp", "tcp", 21, clear, "File Transfer Protocol (control)"},
	{"ssh", "tcp", 22, 0, "Secure Shell"},
	{"telnet", "tcp", 23, clear, "Telnet remote login"},
	{"lmtp", "tcp", 24, 0, "Local Mail Transfer Protocol"},
	{"smtp", "tcp", 25, clear, "SMTP mail relay (STARTTLS optional)"},
	{"dns", "tcp,udp", 53, 0, "Domain Name System"},
	{"dhcp", "udp", 67, 0, "DHCP/BOOTP server"},
	{"dhcp-client", "udp", 68, 0, "DHCP/BOOTP client"},
	{"tftp", "udp", 69, clear, "Trivial File Transfer Protocol"},
	{"http", "tcp", 80, 0, "HTTP web server"},
	{"kerberos", "tcp,udp", 88, 0, "Kerberos authentication"},
	{"pop3", "tcp", 110, clear, "POP3 mail retrieval"},
	{"rpcbind", "tcp,udp", 111, sens, "ONC RPC port mapper"},
	{"ntp", "udp", 123, 0, "Network Time Protocol"},
	{"netbios", "udp", 137, sens, "NetBIOS name service"},
	{"netbios", "udp", 138, sens, "NetBIOS datagram service"},
	{"netbios", "tcp", 139, sens, "NetBIOS session service (SMB over NetBIOS)"},
	{"imap", "tcp", 143, clear, "IMAP mail access"},
	{"snmp", "udp", 161, sens | clear, "SNMP agent (community strings in clear text)"},
	{"snmp-trap", "udp", 162, clear, "SNMP traps"},
	{"bgp", "tcp", 179, 0, "Border Gateway Protocol"},
	{"ldap", "tcp,udp", 389, sens, "LDAP directory"},
	{"https", "tcp,udp", 443, 0, "HTTP over TLS (and QUIC)"},
	{"smb", "tcp", 445, sens, "SMB/CIFS file sharing"},
	{"submissions", "tcp", 465, 0, "Mail submission over implicit TLS"},
	{"ipsec", "udp", 500, 0, "IPsec IKE"},
	{"syslog", "udp", 514, clear, "Syslog receiver"},
	{"submission", "tcp", 587, 0, "Mail submission (STARTTLS)"},
	{"ipp", "tcp,udp", 631, 0, "Internet Printing Protocol (CUPS)"},
	{"ldaps", "tcp", 636, sens, "LDAP over TLS"},
	{"rsync", "tcp", 873, clear, "rsync daemon"},
	{"imaps", "tcp", 993, 0, "IMAP over TLS"},
	{"pop3s", "tcp", 995, 0, "POP3 over TLS"},
	{"chrony", "udp", 323, 0, "chrony command port (chronyc)"},
	{"socks", "tcp", 1080, sens, "SOCKS proxy"},
	{"openvpn", "tcp,udp", 1194, 0, "OpenVPN"},
	{"mssql", "tcp", 1433, sens, "Microsoft SQL Server"},
	{"oracle", "tcp", 1521, sens, "Oracle database listener"},
	{"radius", "udp", 1812, 0, "RADIUS authentication"},
	{"turn", "tcp,udp", 3478, 0, "STUN/TURN relay (coturn)"},
	{"mqtt", "tcp", 1883, clear, "MQTT message broker"},
	{"nfs", "tcp,udp", 2049, sens, "Network File System"},
	{"zookeeper", "tcp", 2181, sens, "Apache ZooKeeper"},
	{"docker", "tcp", 2375, sens | clear, "Docker Engine API (no TLS)"},
	{"docker", "tcp", 2376, sens, "Docker Engine API (TLS)"},
	{"docker-swarm", "tcp", 2377, sens, "Docker Swarm cluster management"},
	{"etcd", "tcp", 2379, sens, "etcd client API"},
	{"etcd", "tcp", 2380, sens, "etcd peer traffic"},
	{"iscsi", "tcp", 3260, sens, "iSCSI target"},
	{"grafana", "tcp", 3000, 0, "Grafana dashboards"},
	{"http-proxy", "tcp", 3128, sens, "HTTP proxy (Squid)"},
	{"mysql", "tcp", 3306, sens, "MySQL / MariaDB"},
	{"rdp", "tcp,udp", 3389, sens, "Remote Desktop Protocol"},
	{"managesieve", "tcp", 4190, 0, "ManageSieve mail filters"},
	{"epmd", "tcp", 4369, sens, "Erlang port mapper"},
	{"ipsec-nat-t", "udp", 4500, 0, "IPsec NAT traversal"},
	{"sip", "tcp,udp", 5060, clear, "Session Initiation Protocol"},
	{"xmpp-client", "tcp", 5222, 0, "XMPP client connections"},
	{"xmpp-server", "tcp", 5269, 0, "XMPP server-to-server"},
	{"mdns", "udp", 5353, 0, "Multicast DNS"},
	{"llmnr", "tcp,udp", 5355, 0, "Link-Local Multicast Name Resolution"},
	{"postgresql", "tcp", 5432, sens, "PostgreSQL"},
	{"rabbitmq", "tcp", 5672, sens, "RabbitMQ AMQP"},
	{"vnc", "tcp", 5900, sens, "VNC remote desktop"},
	{"vnc", "tcp", 5901, sens, "VNC remote desktop (display 1)"},
	{"couchdb", "tcp", 5984, sens, "Apache CouchDB"},
	{"x11", "tcp", 6000, sens, "X Window System"},
	{"redis", "tcp", 6379, sens, "Redis"},
	{"kubernetes-api", "tcp", 6443, sens, "Kubernetes API server"},
	{"irc", "tcp", 6667, clear, "Internet Relay Chat"},
	{"http-alt", "tcp", 8080, 0, "HTTP alternate port"},
	{"influxdb", "tcp", 8086, sens, "InfluxDB HTTP API"},
	{"puppet", "tcp", 8140, 0, "Puppet server"},
	{"vault", "tcp", 8200, sens, "HashiCorp Vault"},
	{"https-alt", "tcp", 8443, 0, "HTTPS alternate port"},
	{"consul", "tcp", 8500, sens, "HashiCorp Consul HTTP API"},
	{"cassandra", "tcp", 9042, sens, "Apache Cassandra CQL"},
	{"cockpit", "tcp", 9090, sens, "Cockpit web console"},
	{"prometheus", "tcp", 9090, sens, "Prometheus server (no auth by default)"},
	{"pushgateway", "tcp", 9091, sens, "Prometheus Pushgateway (no auth by default)"},
	{"kafka", "tcp", 9092, sens, "Apache Kafka"},
	{"alertmanager", "tcp", 9093, sens, "Prometheus Alertmanager (no auth by default)"},
	{"node-exporter", "tcp", 9100, 0, "Prometheus node exporter"},
	{"blackbox-exporter", "tcp", 9115, sens, "Blackbox exporter (probes any target asked)"},
	{"elasticsearch", "tcp", 9200, sens, "Elasticsearch HTTP API"},
	{"elasticsearch", "tcp", 9300, sens, "Elasticsearch transport"},
	{"webmin", "tcp", 10000, sens, "Webmin administration"},
	{"zabbix-agent", "tcp", 10050, 0, "Zabbix agent"},
	{"kubelet", "tcp", 10250, sens, "Kubernetes kubelet API"},
	{"memcached", "tcp,udp", 11211, sens, "Memcached"},
	{"rabbitmq-management", "tcp", 15672, sens, "RabbitMQ management UI"},
	{"mongodb", "tcp", 27017, sens, "MongoDB"},
	{"tailscale", "udp", 41641, 0, "Tailscale (WireGuard underneath)"},
	{"wireguard", "udp", 51820, 0, "WireGuard VPN"},
	{"mosh", "udp", 60001, 0, "Mosh mobile shell (ports 60001-60999)"},
}

// byProcess maps a process name (/proc/PID/comm, at most 15 bytes) to the
// services it can be. The first is the default; another one is chosen when
// the socket's port is that service's catalog port (nginx on 443 is https,
// dnsmasq on 67 is dhcp). A name match wins over the port: sshd on 80 is ssh.
var byProcess = map[string][]string{
	"sshd":              {"ssh"},
	"dropbear":          {"ssh"},
	"nginx":             web,
	"apache2":           web,
	"httpd":             web,
	"caddy":             web,
	"lighttpd":          web,
	"mysqld":            {"mysql"},
	"mariadbd":          {"mysql"},
	"postgres":          {"postgresql"},
	"postmaster":        {"postgresql"},
	"redis-server":      {"redis"},
	"valkey-server":     {"redis"},
	"mongod":            {"mongodb"},
	"mongos":            {"mongodb"},
	"memcached":         {"memcached"},
	"named":             dns,
	"unbound":           dns,
	"dnsmasq":           {"dns", "dhcp", "tftp"},
	"systemd-resolve":   dns,
	"pdns_server":       dns,
	"pdns_recursor":     dns,
	"coredns":           dns,
	"knotd":             dns,
	"nsd":               dns,
	"master":            smtp,
	"smtpd":             smtp,
	"exim4":             smtp,
	"exim":              smtp,
	"sendmail":          smtp,
	"dovecot":           mail,
	"imap-login":        mail,
	"pop3-login":        mail,
	"vsftpd":            {"ftp"},
	"proftpd":           {"ftp"},
	"pure-ftpd":         {"ftp"},
	"telnetd":           {"telnet"},
	"in.telnetd":        {"telnet"},
	"rsync":             {"rsync"},
	"ntpd":              {"ntp"},
	"chronyd":           {"ntp", "chrony"},
	"snmpd":             {"snmp"},
	"slapd":             {"ldap", "ldaps"},
	"smbd":              {"smb", "netbios"},
	"nmbd":              {"netbios"},
	"rpcbind":           {"rpcbind"},
	"portmap":           {"rpcbind"},
	"xrdp":              {"rdp"},
	"Xvnc":              {"vnc"},
	"x11vnc":            {"vnc"},
	"kube-apiserver":    {"kubernetes-api"},
	"kubelet":           {"kubelet"},
	"etcd":              {"etcd"},
	"cockpit-ws":        {"cockpit"},
	"miniserv.pl":       {"webmin"},
	"openvpn":           {"openvpn"},
	"avahi-daemon":      {"mdns"},
	"cupsd":             {"ipp"},
	"cups-browsed":      {"ipp"},
	"squid":             {"http-proxy"},
	"mosquitto":         {"mqtt"},
	"influxd":           {"influxdb"},
	"zabbix_agentd":     {"zabbix-agent"},
	"zabbix_agent2":     {"zabbix-agent"},
	"rsyslogd":          {"syslog"},
	"prometheus":        {"prometheus"},
	"pushgateway":       {"pushgateway"},
	"alertmanager":      {"alertmanager"},
	"node_exporter":     {"node-exporter"},
	"blackbox_exporter": {"blackbox-exporter"},
	"grafana":           {"grafana"},
	"grafana-server":    {"grafana"},
	"mosh-server":       {"mosh"},
	"wireguard-go":      {"wireguard"},
	"tailscaled":        {"tailscale"},
	"turnserver":        {"turn"},
	"asterisk":          {"sip"},
	"kamailio":          {"sip"},
	"opensips":          {"sip"},
	"freeswitch":        {"sip"},
	"traefik":           web,
	// Debian's package names for the Prometheus tools
	"prometheus-node-exporter":     {"node-exporter"},
	"prometheus-alertmanager":      {"alertmanager"},
	"prometheus-pushgateway":       {"pushgateway"},
	"prometheus-blackbox-exporter": {"blackbox-exporter"},
	"dhclient":                     {"dhcp-client"},
	"dhcpcd":                       {"dhcp-client"},
	"systemd-network":              {"dhcp-client"},
}

// forwarders are processes that listen on behalf of something else: the
// service is whatever is published behind them (a container's postgres on
// 5432), so only the port can name it; the services listed are the ones
// the forwarder serves itself. They are servers all the same.
var forwarders = map[string][]string{
	"docker-proxy": nil,                        // Docker's userland proxy for published ports
	"dockerd":      {"docker", "docker-swarm"}, // older Docker published ports from the daemon itself
	"rootlesskit":  nil,                        // rootless Docker's port driver
	"rootlessport": nil,                        // rootless Podman's port forwarder
	"pasta":        nil,                        // Podman's user-mode network (passt)
	"haproxy":      nil,
	"envoy":        nil,
	// socket activation: they hold the socket of the service they start
	"systemd":         nil,
	"inetd":           nil,
	"xinetd":          nil,
	"dockerd-current": {"docker", "docker-swarm"}, // RHEL's docker package
}

var (
	web  = []string{"http", "https", "http-alt", "https-alt"}
	dns  = []string{"dns", "llmnr", "mdns"}
	smtp = []string{"smtp", "submission", "submissions", "lmtp"}
	mail = []string{"imap", "imaps", "pop3", "pop3s", "managesieve", "lmtp"}
)

type portKey struct {
	proto string
	port  uint16
}

var (
	services []Service          // sorted by port, then proto
	byPort   map[portKey]int    // index into services
	byName   map[string]Service // first entry per name (tcp before udp)
)

func init() {
	for _, e := range catalog {
		for _, p := range strings.Split(e.protos, ",") {
			services = append(services, Service{
				Name: e.name, Proto: p, Port: e.port,
				Sensitive: e.class&sens != 0, Cleartext: e.class&clear != 0,
				Description: e.desc,
			})
		}
	}
	sort.SliceStable(services, func(i, j int) bool {
		if services[i].Port != services[j].Port {
			return services[i].Port < services[j].Port
		}
		return services[i].Proto < services[j].Proto
	})
	byPort = make(map[portKey]int, len(services))
	byName = make(map[string]Service)
	for i, s := range services {
		if _, ok := byPort[portKey{s.Proto, s.Port}]; !ok {
			byPort[portKey{s.Proto, s.Port}] = i
		}
		if _, ok := byName[s.Name]; !ok {
			byName[s.Name] = s
		}
	}
}

// Catalog returns every entry, sorted by port then proto.
func Catalog() []Service {
	return append([]Service(nil), services...)
}

// LookupService finds a service by canonical name; with several entries
// (dns on tcp and udp, etcd on 2379 and 2380) it returns the lowest port,
// tcp first.
func LookupService(name string) (Service, bool) {
	s, ok := byName[name]
	return s, ok
}

// How a listener's service was named (Listener.ServiceBy).
const (
	ServiceByProcess = "process" // an owner's process name is a known server of it
	ServiceByPort    = "port"    // only the port: a guess, whatever actually listens there
)

// Identify names the service behind a socket: by process name first (sshd
// on 5622 is ssh), then by port and proto. process is a comm name as the
// kernel or ss/netstat print it; paths, arguments ("sshd: /usr/sbin") and
// the 15-byte truncation ("/usr/sbin/apach") are understood.
func Identify(proto string, port uint16, process string) (Service, bool) {
	s, by := identify(proto, port, process)
	return s, by != ""
}

// identify is Identify that also says how: ServiceByProcess,
// ServiceByPort, or "" when the service is unknown.
func identify(proto string, port uint16, process string) (Service, string) {
	var atPort *Service
	if i, ok := byPort[portKey{proto, port}]; ok {
		atPort = &services[i]
	}
	cands, fwd := knownProcess(process)
	if fwd {
		if atPort != nil && slices.Contains(cands, atPort.Name) {
			return *atPort, ServiceByProcess // dockerd's own API on 2375
		}
		cands = nil
	}
	if len(cands) > 0 {
		// A port shared by two services (9090: cockpit, prometheus)
		// is the process's when it serves one of them.
		for _, c := range cands {
			for i := range services {
				if s := services[i]; s.Name == c && s.Proto == proto && s.Port == port {
					return s, ServiceByProcess
				}
			}
		}
		return lookupProto(cands[0], proto), ServiceByProcess
	}
	if atPort != nil {
		return *atPort, ServiceByPort
	}
	return Service{}, ""
}

// identifyListener tries every owner in PID order before the port, so a
// pre-forked "smtpd" worker or systemd socket activation does not hide the
// daemon that owns the socket too.
func identifyListener(l *Listener) (Service, string) {
	for _, p := range l.Processes {
		if cands, fwd := knownProcess(p.Name); len(cands) > 0 && !fwd {
			return identify(l.Proto, l.Port, p.Name)
		}
	}
	return identify(l.Proto, l.Port, l.Process)
}

// lookupProto prefers the entry of a service on the socket's protocol.
func lookupProto(name, proto string) Service {
	for _, s := range services {
		if s.Name == name && s.Proto == proto {
			return s
		}
	}
	return byName[name]
}

// commLen is the kernel's TASK_COMM_LEN minus the terminating NUL.
const commLen = 15

// knownProcess returns the candidate services of a process name, and
// whether it is a port forwarder (docker-proxy; cands are then the
// services it serves itself); nil, false when the name is not known.
func knownProcess(process string) (cands []string, forwarder bool) {
	if process == "" {
		return nil, false
	}
	name := process
	// netstat prints the start of the command line: "sshd: /usr/sbin",
	// "pgpool: watchd"; take the program before any arguments.
	if i := strings.IndexAny(name, ": "); i > 0 {
		name = name[:i]
	}
	base := name
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	for _, n := range []string{name, base} {
		if c, ok := byProcess[n]; ok {
			return c, false
		}
		if c, ok := forwarders[n]; ok {
			return c, true
		}
	}
	// A comm cut at 15 bytes ("/usr/sbin/apach" for /usr/sbin/apache2,
	// "prometheus-node" for prometheus-node-exporter) matches the known
	// name it is a prefix of (the first in byte order if several are).
	if len(process) >= commLen && len(base) >= 4 {
		// the names with this prefix follow one another in byte order,
		// the first of them at the first name not below it
		i, _ := slices.BinarySearch(processNames, base)
		if i < len(processNames) && strings.HasPrefix(processNames[i], base) {
			bestName := processNames[i]
			if c, ok := forwarders[bestName]; ok {
				return c, true
			}
			return byProcess[bestName], false
		}
	}
	return nil, false
}

// processNames are the names of byProcess and forwarders in byte order,
// for knownProcess's prefix search: a binary search instead of a pass
// over both maps for every socket of a process with a 15-byte name.
var processNames = func() []string {
	names := make([]string, 0, len(byProcess)+len(forwarders))
	for n := range byProcess {
		names = append(names, n)
	}
	for n := range forwarders {
		names = append(names, n)
	}
	slices.Sort(names)
	return slices.Compact(names)
}()

// knownServer reports whether a process name is one the catalog knows to
// serve (sshd, nginx) or to forward (docker-proxy). Client-only names
// (dhclient) are not servers.
func knownServer(process string) bool {
	cands, fwd := knownProcess(process)
	if fwd {
		return true
	}
	for _, c := range cands {
		if !clientServices[c] {
			return true
		}
	}
	return false
}

// clientServices are catalog entries for the client side of a protocol.
var clientServices = map[string]bool{"dhcp-client": true}
