package pgtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// A Proxy forwards TCP connections from an address of its own on 127.0.0.1
// to a server, and can take the server away: [Proxy.Down] makes it look
// stopped (connections cut, new ones refused), [Proxy.Freeze] makes it look
// hung (connections open, nothing answered). It is faster than stopping a
// cluster, and it can do what stopping cannot. Its methods are safe for
// concurrent use.
type Proxy struct {
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener // nil while down
	conns  map[net.Conn]struct{}
	thawed chan struct{} // closed while not frozen
	closed bool
	wg     sync.WaitGroup
}

// NewProxy starts a proxy to target (host:port), closed at tb's cleanup.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	thawed := make(chan struct{})
	close(thawed)
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}, thawed: thawed}
	p.serve(ln)
	tb.Cleanup(p.close)
	return p
}

// Addr returns the proxy's address, 127.0.0.1:port. It stays the same
// across [Proxy.Down] and [Proxy.Up].
func (p *Proxy) Addr() string { return p.addr }

// URL returns databaseURL with its host and port replaced by the proxy's.
func (p *Proxy) URL(tb testing.TB, databaseURL string) string {
	tb.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		tb.Fatalf("pgtest: proxy: parse URL: %v", err)
	}
	u.Host = p.addr
	return u.String()
}

// Down closes the listener and every connection: connects are refused
// until [Proxy.Up].
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
}

// Up listens again, on the same address, after [Proxy.Down].
func (p *Proxy) Up(tb testing.TB) {
	tb.Helper()
	p.mu.Lock()
	up := p.ln != nil
	p.mu.Unlock()
	if up {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		tb.Fatalf("pgtest: proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// Freeze stops forwarding bytes, on open connections and on those accepted
// from now on, until [Proxy.Thaw]: the server seems to hang.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default:
	}
}

// Thaw forwards again what [Proxy.Freeze] held back.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = client.Close()
				continue
			}
			if !p.track(client, server) {
				return
			}
			p.wg.Go(func() { p.pipe(server, client) })
			p.wg.Go(func() { p.pipe(client, server) })
		}
	})
}

// track records a connection pair, or closes it and reports false if the
// proxy is closed.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst, holding bytes back while the proxy is frozen,
// and closes both when either side ends.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() {
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
		_ = src.Close()
		_ = dst.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			p.mu.Unlock()
			<-thawed
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, or a connection closed by Down
		}
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Down()
	p.Thaw()
	p.wg.Wait()
}
