package testenv

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy of the test's own between the code under test and a
// shared server, so that a test can make the server go away for its own
// connections only: Cut drops every connection through it, Refuse also
// closes its port, and Resume opens the port again. The shared server
// itself is never stopped.
type Proxy struct {
	tb     testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	flow  chan struct{} // closed while bytes flow; open while stalled
}

// StartProxy listens on a free port of 127.0.0.1 and forwards each
// connection to target (host:port). It is closed at the end of the test.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p := &Proxy{tb: tb, target: target, conns: map[net.Conn]struct{}{}, flow: make(chan struct{})}
	close(p.flow)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	tb.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Cut closes every connection through the proxy, as a server that went
// away would; new connections are still accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Refuse cuts every connection and closes the port: dialling it is
// refused until Resume.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.Cut()
}

// Resume listens on the proxy's port again after Refuse.
func (p *Proxy) Resume() {
	p.tb.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.tb.Fatalf("proxy: listen on %s again: %v", p.addr, err)
	}
	p.serve(ln)
}

// Stall stops forwarding bytes without closing anything, as a network
// that silently drops packets would: connections stay open (and new ones
// are accepted) but nothing crosses until Flow, when what was held is
// delivered in order.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flow:
		p.flow = make(chan struct{})
	default: // stalled already
	}
}

// Flow forwards again after Stall.
func (p *Proxy) Flow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flow:
	default:
		close(p.flow)
	}
}

// Close stops the proxy and waits for its goroutines.
func (p *Proxy) Close() {
	p.Refuse()
	p.Flow()
	p.wg.Wait()
}

// copy copies src to dst until either side closes or is cut, holding the
// bytes while the proxy is stalled.
func (p *Proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			flow := p.flow
			p.mu.Unlock()
			<-flow
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.forward(c)
		}
	})
}

// forward copies both ways between c and a new connection to the target.
func (p *Proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // refused meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		p.copy(dst, src) // ends when either side closes or is cut
		c.Close()
		s.Close()
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, s)
		p.mu.Unlock()
	}
	p.wg.Go(func() { pipe(s, c) })
	p.wg.Go(func() { pipe(c, s) })
}
