package app

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// notifySocket returns the socket systemd named in NOTIFY_SOCKET for a
// unit of Type=notify, or "" when the app is not run that way.
func (a *App) notifySocket() string {
	environ := a.opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NOTIFY_SOCKET="); ok {
			return v
		}
	}
	return ""
}

// sdNotify sends state (such as "READY=1") to the service manager, as
// sd_notify(3) does: one datagram to the unix socket of NOTIFY_SOCKET (a
// leading @ names an abstract socket). Without NOTIFY_SOCKET it does
// nothing.
func (a *App) notifySystemd(state string) error {
	path := a.notifySocket()
	if path == "" {
		return nil
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:]
	} else if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("NOTIFY_SOCKET: %q is not a unix socket path", path)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	return nil
}
