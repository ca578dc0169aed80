// Command ctrsrv is the only program in the Docker test's container image:
// a static binary that listens on every address, IPv4 and IPv6, on each
// PROTO:PORT it is given (tcp or udp), echoes what it reads, and runs until
// it is killed. With no arguments it only waits (a client container).
//
//	ctrsrv tcp:80 udp:81
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	for _, a := range os.Args[1:] {
		proto, port, ok := strings.Cut(a, ":")
		if _, err := strconv.ParseUint(port, 10, 16); !ok || err != nil || (proto != "tcp" && proto != "udp") {
			fmt.Fprintf(os.Stderr, "ctrsrv: %q: want tcp:PORT or udp:PORT\n", a)
			os.Exit(2)
		}
		addr := net.JoinHostPort("::", port)
		switch proto {
		case "tcp":
			l, err := net.Listen("tcp", addr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "ctrsrv: %v\n", err)
				os.Exit(1)
			}
			go serveTCP(l)
		case "udp":
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "ctrsrv: %v\n", err)
				os.Exit(1)
			}
			go serveUDP(pc)
		}
	}
	fmt.Println("ctrsrv ready")
	for {
		time.Sleep(time.Hour) // a bare select{} with no listener is a deadlock to the runtime
	}
}

func serveTCP(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			io.Copy(c, c)
		}()
	}
}

func serveUDP(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}
