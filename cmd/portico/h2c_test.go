package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// An h2cConn is a raw cleartext HTTP/2 connection with prior knowledge, for
// tests that need frame-level control: more streams than allowed, header
// blocks larger than advertised. Go's clients refuse to send either.
type h2cConn struct {
	tb       testing.TB
	conn     net.Conn
	fr       *http2.Framer
	enc      *hpack.Encoder
	buf      bytes.Buffer
	settings map[http2.SettingID]uint32 // the server's
}

// dialH2C opens a connection to s, exchanges SETTINGS and returns it; it is
// closed at cleanup.
func dialH2C(tb testing.TB, s *server) *h2cConn {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.base, "http://"), requestTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	c := &h2cConn{tb: tb, conn: conn, fr: http2.NewFramer(conn, conn), settings: map[http2.SettingID]uint32{}}
	c.enc = hpack.NewEncoder(&c.buf)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		tb.Fatal(err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		tb.Fatal(err)
	}
	sf := c.next(func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && !sf.IsAck()
	}).(*http2.SettingsFrame)
	_ = sf.ForeachSetting(func(s http2.Setting) error {
		c.settings[s.ID] = s.Val
		return nil
	})
	if err := c.fr.WriteSettingsAck(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// headers opens stream id with a POST to path and the given extra fields
// (name, value pairs), split into CONTINUATION frames as needed.
func (c *h2cConn) headers(id uint32, path string, endStream bool, fields ...string) {
	c.tb.Helper()
	c.buf.Reset()
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "portico"}, {":path", path}} {
		_ = c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for i := 0; i+1 < len(fields); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	block := c.buf.Bytes()
	chunk := int(c.settings[http2.SettingMaxFrameSize])
	if chunk == 0 {
		chunk = 16 << 10 // the default SETTINGS_MAX_FRAME_SIZE
	}
	first := block[:min(len(block), chunk)]
	block = block[len(first):]
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(block) == 0,
	})
	for err == nil && len(block) > 0 {
		part := block[:min(len(block), chunk)]
		block = block[len(part):]
		err = c.fr.WriteContinuation(id, len(block) == 0, part)
	}
	if err != nil {
		c.tb.Fatalf("stream %d: write headers: %v", id, err)
	}
}

// next reads frames until match accepts one, and returns it. It fails the
// test if the connection ends or no such frame comes within requestTimeout.
func (c *h2cConn) next(match func(http2.Frame) bool) http2.Frame {
	c.tb.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(requestTimeout))
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.tb.Fatalf("read frame: %v", err)
		}
		if match(f) {
			return f
		}
	}
}

// response reads stream id's response header block and returns its fields.
func (c *h2cConn) response(id uint32) map[string]string {
	c.tb.Helper()
	f := c.next(func(f http2.Frame) bool {
		if rst, ok := f.(*http2.RSTStreamFrame); ok && rst.StreamID == id {
			c.tb.Fatalf("stream %d reset: %v", id, rst.ErrCode)
		}
		mh, ok := f.(*http2.MetaHeadersFrame)
		return ok && mh.StreamID == id
	}).(*http2.MetaHeadersFrame)
	out := map[string]string{}
	for _, hf := range f.Fields {
		out[hf.Name] = hf.Value
	}
	return out
}

// healthCheck is the path of gRPC's health check, which every test server
// serves; grpcFields are a gRPC request's fields.
const healthCheck = "/grpc.health.v1.Health/Check"

var grpcFields = []string{"content-type", "application/grpc", "te", "trailers"}

// emptyMessage is an empty protobuf message in its 5-byte gRPC envelope.
var emptyMessage = []byte{0, 0, 0, 0, 0}

// check sends a complete health check on stream id and checks that it
// succeeds: status 200 and grpc-status 0 in the trailers.
func (c *h2cConn) check(id uint32) {
	c.tb.Helper()
	c.headers(id, healthCheck, false, grpcFields...)
	if err := c.fr.WriteData(id, true, emptyMessage); err != nil {
		c.tb.Fatal(err)
	}
	if got := c.response(id)[":status"]; got != "200" {
		c.tb.Fatalf("stream %d: status %s, want 200", id, got)
	}
	if got := c.response(id)["grpc-status"]; got != "0" {
		c.tb.Fatalf("stream %d: grpc-status %q, want 0", id, got)
	}
}
