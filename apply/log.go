package apply

import (
	"fmt"
	"io"
	"log/syslog"
	"strings"
	"sync"
)

// Logger writes every step on a writer (stderr) and, where there is a
// syslog socket (journald listens on /dev/log), to the journal.
type Logger struct {
	mu  sync.Mutex
	w   io.Writer
	sys *syslog.Writer
}

// NewLogger logs to w, and to syslog when journal is true and a syslog
// daemon answers.
func NewLogger(w io.Writer, journal bool) *Logger {
	l := &Logger{w: w}
	if journal {
		if s, err := syslog.New(syslog.LOG_NOTICE|syslog.LOG_AUTHPRIV, "fwaudit"); err == nil {
			l.sys = s
		}
	}
	return l
}

// Printf logs one step: "apply: loaded rules.v4".
func (l *Logger) Printf(format string, a ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, a...)
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "apply: %s\n", msg)
	if l.sys != nil {
		l.sys.Notice("apply: " + msg)
	}
}

// Close closes the syslog connection.
func (l *Logger) Close() {
	if l != nil && l.sys != nil {
		l.sys.Close()
	}
}

func joinArgs(args []string, sep ...string) string {
	s := " "
	if len(sep) > 0 {
		s = sep[0]
	}
	return strings.Join(args, s)
}
