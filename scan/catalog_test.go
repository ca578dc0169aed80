package scan

import (
	"sort"
	"testing"
)

func TestIdentify(t *testing.T) {
	tests := []struct {
		name    string
		proto   string
		port    uint16
		process string
		want    string // "" means not identified
	}{
		{"sshd on its port", "tcp", 22, "sshd", "ssh"},
		{"sshd elsewhere", "tcp", 5622, "sshd", "ssh"},
		{"process beats port", "tcp", 80, "sshd", "ssh"},
		{"netstat program column", "tcp", 22, "sshd: /usr/sbin", "ssh"},
		{"postgres on 5433", "tcp", 5433, "postgres", "postgresql"},
		{"mysqld", "tcp", 3307, "mysqld", "mysql"},
		{"mariadbd", "tcp", 3306, "mariadbd", "mysql"},
		{"nginx on 80", "tcp", 80, "nginx", "http"},
		{"nginx on 443", "tcp", 443, "nginx", "https"},
		{"nginx on 8081", "tcp", 8081, "nginx", "http"},
		{"apache2 on 443", "tcp", 443, "apache2", "https"},
		{"httpd", "tcp", 80, "httpd", "http"},
		{"caddy on 443", "tcp", 443, "caddy", "https"},
		{"truncated comm", "tcp", 443, "/usr/sbin/apach", "https"},
		{"named", "udp", 53, "named", "dns"},
		{"named tcp", "tcp", 53, "named", "dns"},
		{"unbound", "udp", 5353, "unbound", "mdns"},
		{"dnsmasq dns", "udp", 53, "dnsmasq", "dns"},
		{"dnsmasq dhcp", "udp", 67, "dnsmasq", "dhcp"},
		{"systemd-resolve", "udp", 53, "systemd-resolve", "dns"},
		{"postfix master 25", "tcp", 25, "master", "smtp"},
		{"postfix master 587", "tcp", 587, "master", "submission"},
		{"exim4 465", "tcp", 465, "exim4", "submissions"},
		{"sendmail elsewhere", "tcp", 2525, "sendmail", "smtp"},
		{"dovecot pop3", "tcp", 110, "dovecot", "pop3"},
		{"dovecot imaps", "tcp", 993, "dovecot", "imaps"},
		{"dovecot pop3s", "tcp", 995, "dovecot", "pop3s"},
		{"dockerd publishing postgres", "tcp", 5432, "dockerd", "postgresql"},
		{"docker api", "tcp", 2375, "dockerd", "docker"},
		{"by port only", "tcp", 6379, "", "redis"},
		{"unknown port and process", "tcp", 31337, "a.out", ""},
		{"udp port not tcp", "udp", 22, "", ""},
		{"short truncated name is not guessed", "tcp", 9, "ngi", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := Identify(tt.proto, tt.port, tt.process)
			if ok != (tt.want != "") || s.Name != tt.want {
				t.Errorf("Identify(%s, %d, %q) = %q, %v; want %q", tt.proto, tt.port, tt.process, s.Name, ok, tt.want)
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
	seen := map[portKey]bool{}
	for _, s := range cat {
		k := portKey{s.Proto, s.Port}
		if seen[k] {
			t.Errorf("two entries for %s/%d", s.Proto, s.Port)
		}
		seen[k] = true
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
