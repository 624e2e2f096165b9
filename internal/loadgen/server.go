package loadgen

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

// A Protocol is how a client speaks to a server.
type Protocol int

// The protocols of [NewTransport]. The zero Protocol is none.
const (
	// HTTP1 is HTTP/1.1 with keep-alive: one connection per request in
	// flight.
	HTTP1 Protocol = iota + 1
	// H2C is cleartext HTTP/2 with prior knowledge, as gRPC clients and
	// Cloud Run's front end (with --use-http2) speak it: every request is a
	// stream of one connection.
	H2C
)

// String returns "h1" or "h2c".
func (p Protocol) String() string {
	switch p {
	case HTTP1:
		return "h1"
	case H2C:
		return "h2c"
	default:
		return fmt.Sprintf("Protocol(%d)", int(p))
	}
}

// NewTransport returns a transport that speaks only p, keeping up to conns
// idle connections (HTTP/1.1) open, with compression off so that responses
// are read as the server wrote them. It panics on the zero Protocol.
func NewTransport(p Protocol, conns int) *http.Transport {
	var protocols http.Protocols
	switch p {
	case HTTP1:
		protocols.SetHTTP1(true)
	case H2C:
		protocols.SetUnencryptedHTTP2(true)
	default:
		panic("loadgen: no protocol")
	}
	return &http.Transport{
		Protocols:           &protocols,
		DialContext:         (&net.Dialer{Timeout: DefaultTimeout}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
}

// A Server serves a handler on a loopback listener.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port".
	URL string
	srv *http.Server
}

// Serve serves h on 127.0.0.1 at a free port, with the settings of
// cmd/portico's newServer (keep the two in step): HTTP/1.1 and h2c on one
// port, a 64 KiB header limit, at most 100 concurrent streams per HTTP/2
// connection, and a 10s header timeout. Server errors are logged to errorLog
// (nil means the log package's default logger). Close the Server when done.
func Serve(h http.Handler, errorLog *log.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 100},
		ErrorLog:          errorLog,
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) && errorLog != nil {
			errorLog.Printf("loadgen: serve: %v", err)
		}
	}()
	return &Server{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server, closing every connection at once: a benchmark
// has nothing in flight to drain.
func (s *Server) Close() error { return s.srv.Close() }
