package scan

import (
	"sort"
	"testing"
)

func TestIdentify(t *testing.T) {
	const proc, port = ServiceByProcess, ServiceByPort
	tests := []struct {
		name    string
		proto   string
		port    uint16
		process string
		want    string // "" means not identified
		by      string
	}{
		{"sshd on its port", "tcp", 22, "sshd", "ssh", proc},
		{"sshd elsewhere", "tcp", 5622, "sshd", "ssh", proc},
		{"process beats port", "tcp", 80, "sshd", "ssh", proc},
		{"netstat program column", "tcp", 22, "sshd: /usr/sbin", "ssh", proc},
		{"postgres on 5433", "tcp", 5433, "postgres", "postgresql", proc},
		{"mysqld", "tcp", 3307, "mysqld", "mysql", proc},
		{"mariadbd", "tcp", 3306, "mariadbd", "mysql", proc},
		{"nginx on 80", "tcp", 80, "nginx", "http", proc},
		{"nginx on 443", "tcp", 443, "nginx", "https", proc},
		{"nginx on 8081", "tcp", 8081, "nginx", "http", proc},
		{"apache2 on 443", "tcp", 443, "apache2", "https", proc},
		{"httpd", "tcp", 80, "httpd", "http", proc},
		{"caddy on 443", "tcp", 443, "caddy", "https", proc},
		{"truncated comm", "tcp", 443, "/usr/sbin/apach", "https", proc},
		{"named", "udp", 53, "named", "dns", proc},
		{"named tcp", "tcp", 53, "named", "dns", proc},
		{"unbound", "udp", 5353, "unbound", "mdns", proc},
		{"dnsmasq dns", "udp", 53, "dnsmasq", "dns", proc},
		{"dnsmasq dhcp", "udp", 67, "dnsmasq", "dhcp", proc},
		{"systemd-resolve", "udp", 53, "systemd-resolve", "dns", proc},
		{"postfix master 25", "tcp", 25, "master", "smtp", proc},
		{"postfix master 587", "tcp", 587, "master", "submission", proc},
		{"exim4 465", "tcp", 465, "exim4", "submissions", proc},
		{"sendmail elsewhere", "tcp", 2525, "sendmail", "smtp", proc},
		{"dovecot pop3", "tcp", 110, "dovecot", "pop3", proc},
		{"dovecot imaps", "tcp", 993, "dovecot", "imaps", proc},
		{"dovecot pop3s", "tcp", 995, "dovecot", "pop3s", proc},
		{"by port only", "tcp", 6379, "", "redis", port},
		{"unknown port and process", "tcp", 31337, "a.out", "", ""},
		{"udp port not tcp", "udp", 22, "", "", ""},
		{"short truncated name is not guessed", "tcp", 9, "ngi", "", ""},

		// The process decides; the port only guesses.
		{"prometheus on 9090 is not cockpit", "tcp", 9090, "prometheus", "prometheus", proc},
		{"cockpit-ws on 9090", "tcp", 9090, "cockpit-ws", "cockpit", proc},
		{"unknown owner on 9090: the first catalog entry, a guess", "tcp", 9090, "", "cockpit", port},
		{"prometheus elsewhere", "tcp", 19090, "prometheus", "prometheus", proc},
		{"node_exporter", "tcp", 9100, "node_exporter", "node-exporter", proc},
		{"node_exporter on another port", "tcp", 9101, "node_exporter", "node-exporter", proc},
		{"Debian's node exporter, comm truncated", "tcp", 9100, "prometheus-node", "node-exporter", proc},
		{"prometheus on the node exporter port", "tcp", 9100, "prometheus", "prometheus", proc},
		{"alertmanager", "tcp", 9093, "alertmanager", "alertmanager", proc},
		{"Debian's alertmanager, comm truncated", "tcp", 9093, "prometheus-aler", "alertmanager", proc},
		{"blackbox exporter, comm truncated", "tcp", 9115, "prometheus-blac", "blackbox-exporter", proc},
		{"pushgateway", "tcp", 9091, "pushgateway", "pushgateway", proc},
		{"grafana", "tcp", 3000, "grafana", "grafana", proc},
		{"grafana-server elsewhere", "tcp", 3001, "grafana-server", "grafana", proc},
		{"node on 3000 is only a guess", "tcp", 3000, "node", "grafana", port},
		{"mosh-server in its range", "udp", 60007, "mosh-server", "mosh", proc},
		{"python3 on 22 is not known to be ssh", "tcp", 22, "python3", "ssh", port},
		{"python3 elsewhere", "tcp", 8000, "python3", "", ""},
		{"java on 9200: the port says elasticsearch, a guess", "tcp", 9200, "java", "elasticsearch", port},
		{"docker-proxy publishing postgres", "tcp", 5432, "docker-proxy", "postgresql", port},
		{"docker-proxy on an unknown port", "tcp", 31337, "docker-proxy", "", ""},
		{"docker-proxy on 9090", "tcp", 9090, "docker-proxy", "cockpit", port},
		{"dockerd publishing postgres", "tcp", 5432, "dockerd", "postgresql", port},
		{"dockerd truncated (dockerd-current)", "tcp", 6379, "dockerd-curren", "redis", port},
		{"docker api from dockerd itself", "tcp", 2375, "dockerd", "docker", proc},
		{"swarm from dockerd itself", "tcp", 2377, "dockerd", "docker-swarm", proc},
		{"rootlessport", "tcp", 80, "rootlessport", "http", port},
		{"haproxy in front of postgres", "tcp", 5432, "haproxy", "postgresql", port},
		{"traefik", "tcp", 443, "traefik", "https", proc},
		{"tailscaled", "udp", 41641, "tailscaled", "tailscale", proc},
		{"wireguard-go elsewhere", "udp", 51821, "wireguard-go", "wireguard", proc},
		{"coturn", "udp", 3478, "turnserver", "turn", proc},
		{"asterisk", "udp", 5060, "asterisk", "sip", proc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := Identify(tt.proto, tt.port, tt.process)
			if ok != (tt.want != "") || s.Name != tt.want {
				t.Errorf("Identify(%s, %d, %q) = %q, %v; want %q", tt.proto, tt.port, tt.process, s.Name, ok, tt.want)
			}
			if _, by := identify(tt.proto, tt.port, tt.process); by != tt.by {
				t.Errorf("named by %q, want %q", by, tt.by)
			}
		})
	}
}

// TestIdentifyListener: every owner is tried, in PID order, before the port.
func TestIdentifyListener(t *testing.T) {
	tests := []struct {
		name   string
		proto  string
		port   uint16
		owners []Process
		want   string
		by     string
	}{
		{"no owner", "tcp", 22, nil, "ssh", ServiceByPort},
		{"systemd socket activation beside sshd", "tcp", 22, []Process{{1, "systemd"}, {600, "sshd"}}, "ssh", ServiceByProcess},
		{"python3 alone on 22", "tcp", 22, []Process{{700, "python3"}}, "ssh", ServiceByPort},
		{"docker-proxy then a known server", "tcp", 9090, []Process{{5, "docker-proxy"}, {9, "prometheus"}}, "prometheus", ServiceByProcess},
		{"docker-proxy alone", "tcp", 9090, []Process{{5, "docker-proxy"}}, "cockpit", ServiceByPort},
		{"unknown owner, unknown port", "udp", 40000, []Process{{5, "dig"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Listener{Proto: tt.proto, Port: tt.port}
			setProcesses(&l, tt.owners)
			s, by := identifyListener(&l)
			if s.Name != tt.want || by != tt.by {
				t.Errorf("identifyListener = %q by %q, want %q by %q", s.Name, by, tt.want, tt.by)
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	cat := Catalog()
	if !sort.SliceIsSorted(cat, func(i, j int) bool {
		if cat[i].Port != cat[j].Port {
			return cat[i].Port < cat[j].Port
		}
		return cat[i].Proto < cat[j].Proto
	}) {
		t.Error("Catalog() is not sorted by port then proto")
	}
	seen := map[portKey]string{}
	for _, s := range cat {
		k := portKey{s.Proto, s.Port}
		if first, dup := seen[k]; dup {
			// Two services may share a port (9090: cockpit, prometheus);
			// the port alone names the one listed first.
			if first == s.Name {
				t.Errorf("%s listed twice for %s/%d", s.Name, s.Proto, s.Port)
			}
			if got, _ := Identify(s.Proto, s.Port, ""); got.Name != first {
				t.Errorf("port %s/%d alone names %q, want the first entry %q", s.Proto, s.Port, got.Name, first)
			}
		} else {
			seen[k] = s.Name
		}
		if s.Description == "" || (s.Proto != "tcp" && s.Proto != "udp") {
			t.Errorf("bad entry %+v", s)
		}
	}
	for _, cands := range byProcess {
		for _, c := range cands {
			if _, ok := LookupService(c); !ok {
				t.Errorf("process table names %q, which is not in the catalog", c)
			}
		}
	}
	cat[0].Name = "changed"
	if Catalog()[0].Name == "changed" {
		t.Error("Catalog() returns the internal slice")
	}
}

func TestLookupServiceClasses(t *testing.T) {
	tests := []struct {
		name              string
		port              uint16
		sensitive, cltext bool
	}{
		{"ssh", 22, false, false}, {"http", 80, false, false}, {"https", 443, false, false},
		{"smtp", 25, false, true}, {"submission", 587, false, false}, {"submissions", 465, false, false},
		{"pop3", 110, false, true}, {"pop3s", 995, false, false}, {"imap", 143, false, true},
		{"imaps", 993, false, false}, {"dns", 53, false, false}, {"ftp", 21, false, true},
		{"telnet", 23, false, true}, {"mysql", 3306, true, false}, {"postgresql", 5432, true, false},
		{"redis", 6379, true, false}, {"mongodb", 27017, true, false}, {"memcached", 11211, true, false},
		{"elasticsearch", 9200, true, false}, {"rsync", 873, false, true}, {"ntp", 123, false, false},
		{"snmp", 161, true, true}, {"ldap", 389, true, false}, {"ldaps", 636, true, false},
		{"smb", 445, true, false}, {"nfs", 2049, true, false}, {"rpcbind", 111, true, false},
		{"rdp", 3389, true, false}, {"vnc", 5900, true, false}, {"docker", 2375, true, true},
		{"kubernetes-api", 6443, true, false}, {"etcd", 2379, true, false}, {"kubelet", 10250, true, false},
		{"rabbitmq", 5672, true, false}, {"cockpit", 9090, true, false}, {"webmin", 10000, true, false},
		{"prometheus", 9090, true, false}, {"alertmanager", 9093, true, false}, {"pushgateway", 9091, true, false},
		{"node-exporter", 9100, false, false}, {"blackbox-exporter", 9115, true, false}, {"grafana", 3000, false, false},
		{"mosh", 60001, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := LookupService(tt.name)
			if !ok {
				t.Fatalf("LookupService(%q) not found", tt.name)
			}
			if s.Port != tt.port || s.Sensitive != tt.sensitive || s.Cleartext != tt.cltext {
				t.Errorf("(-want +got):\n-port %d sensitive %v cleartext %v\n+port %d sensitive %v cleartext %v",
					tt.port, tt.sensitive, tt.cltext, s.Port, s.Sensitive, s.Cleartext)
			}
		})
	}
	if _, ok := LookupService("no-such-service"); ok {
		t.Error("LookupService found a service that does not exist")
	}
	if s, _ := LookupService("docker"); s.Port != 2375 {
		t.Errorf("docker has two ports; LookupService should return the lowest, got %d", s.Port)
	}
}
