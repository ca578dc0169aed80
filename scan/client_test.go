package scan

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// TestMarkClientsCapture: the sockets of capture-clients.py, as ss saw them.
// Only the kernel-picked ports of processes that are not servers are
// clients; a known server's own port-0 socket, a server on a fixed port and
// a socket without an owner are not.
func TestMarkClientsCapture(t *testing.T) {
	clients := func(file string) []string {
		var out []string
		for _, l := range parseFile(t, filepath.Join(sockets, file)) {
			if l.Client {
				out = append(out, l.Process+" "+l.Family)
			}
		}
		sort.Strings(out)
		return out
	}
	want := []string{"dig ipv4", "dig ipv6", "host ipv4", "host ipv4", "host ipv6"}
	tests := []struct {
		file string
		want []string
	}{
		{"captured-ss-clients-tunlp.txt", want},
		{"captured-ss-clients-tunap.txt", want},
		// without owners nothing can be told apart from a server
		{"captured-ss-clients-tunl-no-p.txt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := clients(tt.file); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("clients (-want +got):\n-%v\n+%v", tt.want, got)
			}
		})
	}
	t.Run("servers stay servers", func(t *testing.T) {
		for _, l := range parseFile(t, filepath.Join(sockets, "captured-ss-clients-tunlp.txt")) {
			switch {
			case l.Process == "named", l.Process == "rsyslogd", l.Process == "mosh-server",
				l.Process == "gameserver", l.Port == 40000:
				if l.Client {
					t.Errorf("%s on %s/%d is marked a client", l.Process, l.Proto, l.Port)
				}
			}
		}
	})
}

func TestIsClient(t *testing.T) {
	eph := Ephemeral{Lo: 32768, Hi: 60999, Reserved: []PortRange{{40000, 40010}}}
	tests := []struct {
		name   string
		proto  string
		port   uint16
		owners []Process
		want   bool
	}{
		{"dig on a picked port", "udp", 47857, []Process{{9, "dig"}}, true},
		{"lowest port of the range", "udp", 32768, []Process{{9, "dig"}}, true},
		{"highest port of the range", "udp", 60999, []Process{{9, "dig"}}, true},
		{"below the range", "udp", 32767, []Process{{9, "dig"}}, false},
		{"above the range", "udp", 61000, []Process{{9, "dig"}}, false},
		{"reserved port: the kernel never picks it", "udp", 40005, []Process{{9, "dig"}}, false},
		{"tcp is never a client socket here", "tcp", 47857, []Process{{9, "dig"}}, false},
		{"no owner known", "udp", 47857, nil, false},
		{"known server", "udp", 47857, []Process{{9, "named"}}, false},
		{"known server among the owners", "udp", 47857, []Process{{9, "dig"}, {10, "rsyslogd"}}, false},
		{"port forwarder", "udp", 47857, []Process{{9, "docker-proxy"}}, false},
		{"socket activation", "udp", 47857, []Process{{1, "systemd"}}, false},
		{"inetd", "udp", 47857, []Process{{7, "xinetd"}}, false},
		{"client-only known name", "udp", 47857, []Process{{9, "dhclient"}}, true},
		{"a catalog port (wireguard)", "udp", 51820, []Process{{9, "dig"}}, false},
		{"mosh-server in its range", "udp", 60003, []Process{{9, "mosh-server"}}, false},
		{"tailscaled on its port", "udp", 41641, []Process{{9, "tailscaled"}}, false},
		{"tailscaled on another port", "udp", 41642, []Process{{9, "tailscaled"}}, false},
		{"coturn relay port", "udp", 49200, []Process{{9, "turnserver"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Listener{Proto: tt.proto, Port: tt.port}
			setProcesses(&l, tt.owners)
			if got := isClient(&l, eph); got != tt.want {
				t.Errorf("isClient = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadEphemeral(t *testing.T) {
	const rng, res = "sys/net/ipv4/ip_local_port_range", "sys/net/ipv4/ip_local_reserved_ports"
	tests := []struct {
		name    string
		files   map[string]string
		want    Ephemeral
		wantErr string
	}{
		{"default, nothing reserved", map[string]string{rng: "32768\t60999\n", res: "\n"}, Ephemeral{Lo: 32768, Hi: 60999}, ""},
		{"custom with reserved ports", map[string]string{rng: "1024 65000\n", res: "8080,9000-9100\n"},
			Ephemeral{Lo: 1024, Hi: 65000, Reserved: []PortRange{{8080, 8080}, {9000, 9100}}}, ""},
		{"old kernel without reserved ports", map[string]string{rng: "49152 65535\n"}, Ephemeral{Lo: 49152, Hi: 65535}, ""},
		{"missing", map[string]string{}, Ephemeral{}, "open sys/net/ipv4/ip_local_port_range"},
		{"one number", map[string]string{rng: "32768\n"}, Ephemeral{}, `want two ports, got "32768"`},
		{"reversed", map[string]string{rng: "60999 32768\n"}, Ephemeral{}, "low first"},
		{"bad reserved", map[string]string{rng: "32768 60999\n", res: "80-70\n"}, Ephemeral{}, `bad port or range "80-70"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, err := ReadEphemeral(fsys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadEphemeral = %v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadEphemeral = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
