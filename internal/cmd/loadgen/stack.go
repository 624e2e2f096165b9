package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/gateway"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/loadgen"
	"github.com/portico-dev/portico/service"
	"github.com/portico-dev/portico/validation"
	"google.golang.org/protobuf/proto"
)

// The requests of the comparisons: the seed preflight of issue 8, and a
// public read any origin may make.
const (
	appOrigin     = "https://app.example.com"
	preflightPath = profilev1connect.ProfileServiceUpdateProfileProcedure
	unaryPath     = profilev1connect.ProfileServiceGetPublicProfileProcedure
	seedACRH      = "authorization,content-type,if-match,x-client-version"
	subject       = "alice"
)

// A stack holds the handlers under comparison.
type stack struct {
	// bare is the connect handler alone on an http.ServeMux; gateway is the
	// same handler mounted on the gateway.
	bare, gateway http.Handler
	// fixed writes the gateway's answer to the seed preflight, from
	// headers copied once.
	fixed http.Handler
	// preflightHeader is that answer's header.
	preflightHeader http.Header
	closers         []func() error
}

// newStack builds the handlers on a fresh SQLite store in a temporary
// directory. The connect handler has the interceptors internal/app gives
// it (authentication, then validation) and its read limit; the gateway logs
// at Info, as cmd/portico does by default, to nowhere.
func newStack(ctx context.Context) (_ *stack, err error) {
	st := &stack{}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	dir, err := os.MkdirTemp("", "portico-loadgen-")
	if err != nil {
		return nil, err
	}
	st.closers = append(st.closers, func() error { return os.RemoveAll(dir) })
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))

	store, err := service.OpenSQLite(ctx, filepath.Join(dir, "profiles.db"))
	if err != nil {
		return nil, err
	}
	st.closers = append(st.closers, store.Close)
	// The profile the unary calls read, written to the store directly: the
	// benchmark needs no credentials.
	if _, err := store.Create(ctx, service.Record{
		ID: subject, DisplayName: "Alice", Email: "alice@example.com", Bio: "Benchmarks Portico.",
	}); err != nil {
		return nil, err
	}
	validator, err := validation.NewInterceptor(validation.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	path, handler := profilev1connect.NewProfileServiceHandler(
		service.New(store, service.WithLogger(logger)),
		connect.WithReadMaxBytes(app.DefaultReadMaxBytes),
		connect.WithInterceptors(
			auth.NewInterceptor(auth.AllowAnonymous(profilev1connect.ProfileServiceGetPublicProfileProcedure)),
			validator,
		),
	)
	mux := http.NewServeMux()
	mux.Handle(path, handler)
	st.bare = mux
	gw, err := gateway.New(app.Services, gateway.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	gw.Handle(path, handler)
	st.gateway = gw

	// The floor of the preflight: the gateway's own answer, replayed.
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, preflightRequest().httptest())
	if rec.Code != http.StatusNoContent {
		return nil, fmt.Errorf("seed preflight: status %d, want 204", rec.Code)
	}
	st.preflightHeader = rec.Header().Clone()
	st.fixed = fixed204(st.preflightHeader)

	return st, nil
}

// fixed204 returns a handler that answers 204 with header, assigning the
// precomputed values under their canonical keys.
func fixed204(header http.Header) http.Handler {
	keys := slices.Sorted(maps.Keys(header))
	values := make([][]string, len(keys))
	for i, k := range keys {
		values[i] = header[k]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		for i, k := range keys {
			h[k] = values[i]
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (st *stack) close() {
	for _, c := range slices.Backward(st.closers) {
		_ = c()
	}
	st.closers = nil
}

// A comparison is a loadgen comparison with its protocol and the check that
// both sides answer alike.
type comparison struct {
	loadgen.Comparison
	protocol loadgen.Protocol
	// same checks the two sides' answers to one request before the load.
	same func(a, b *http.Response, aBody, bBody []byte) error
}

// request builds a loadgen request and its httptest twin.
type request loadgen.Request

func (r request) httptest() *http.Request {
	hr := httptest.NewRequest(r.Method, r.Path, bytes.NewReader(r.Body))
	hr.Header = r.Header.Clone()
	return hr
}

func preflightRequest() request {
	return request{
		Method: http.MethodOptions,
		Path:   preflightPath,
		Header: http.Header{
			"Origin":                         {appOrigin},
			"Access-Control-Request-Method":  {http.MethodPost},
			"Access-Control-Request-Headers": {seedACRH},
		},
		WantStatus: http.StatusNoContent,
	}
}

func unaryRequest(codec, origin string) (request, error) {
	msg := &profilev1.GetPublicProfileRequest{Id: subject}
	r := request{Method: http.MethodPost, Path: unaryPath, Header: http.Header{
		"Connect-Protocol-Version": {"1"},
	}}
	switch codec {
	case "json":
		r.Header["Content-Type"] = []string{"application/json"}
		r.Body = []byte(`{"id":"` + subject + `"}`)
	case "proto":
		r.Header["Content-Type"] = []string{"application/proto"}
		var err error
		if r.Body, err = proto.Marshal(msg); err != nil {
			return r, err
		}
	}
	if origin != "" {
		r.Header["Origin"] = []string{origin}
	}
	return r, nil
}

// comparisons serves the stack's handlers, each on its own listener, and
// returns the comparisons o selects, checked.
func (st *stack) comparisons(ctx context.Context, o *options) ([]comparison, error) {
	errorLog := log.New(os.Stderr, "loadgen: server: ", 0)
	targets := make(map[string]loadgen.Target)
	// target serves h once per protocol, so that no two targets share a
	// listener or a connection pool.
	target := func(name string, h http.Handler, p loadgen.Protocol) (loadgen.Target, error) {
		key := name + "/" + p.String()
		if t, ok := targets[key]; ok {
			return t, nil
		}
		srv, err := loadgen.Serve(h, errorLog)
		if err != nil {
			return loadgen.Target{}, err
		}
		tr := loadgen.NewTransport(p, o.cfg.Concurrency)
		st.closers = append(st.closers, func() error { tr.CloseIdleConnections(); return srv.Close() })
		t := loadgen.Target{Name: name, URL: srv.URL, Transport: tr}
		targets[key] = t
		return t, nil
	}
	noOrigin, err := unaryRequest(o.codec, "")
	if err != nil {
		return nil, err
	}
	withOrigin, err := unaryRequest(o.codec, appOrigin)
	if err != nil {
		return nil, err
	}
	type spec struct {
		name    string
		a, b    string
		ha, hb  http.Handler
		req     request
		same    func(a, b *http.Response, aBody, bBody []byte) error
		control bool // HTTP/1.1 only
	}
	specs := []spec{
		{"unary-" + o.codec + "-no-origin", "bare", "gateway", st.bare, st.gateway, noOrigin, sameUnary(false), false},
		{"unary-" + o.codec + "-origin", "bare", "gateway", st.bare, st.gateway, withOrigin, sameUnary(true), false},
		{"preflight", "fixed-204", "gateway", st.fixed, st.gateway, preflightRequest(), samePreflight, false},
	}
	if o.control {
		// A/A: the fixed 204 against a second copy of itself, on its own
		// listener: how far from 1 the machine alone moves a ratio.
		specs = append(specs, spec{"control-fixed-204", "fixed-204", "fixed-204-copy", st.fixed, st.fixed, preflightRequest(), samePreflight, true})
	}
	var out []comparison
	for _, p := range []loadgen.Protocol{loadgen.HTTP1, loadgen.H2C} {
		for _, s := range specs {
			name := s.name + "/" + p.String()
			if !o.only.MatchString(name) || s.control && p != loadgen.HTTP1 {
				continue
			}
			ta, err := target(s.a, s.ha, p)
			if err != nil {
				return nil, err
			}
			tb, err := target(s.b, s.hb, p)
			if err != nil {
				return nil, err
			}
			c := comparison{
				Comparison: loadgen.Comparison{Name: name, A: ta, B: tb, Request: loadgen.Request(s.req)},
				protocol:   p,
				same:       s.same,
			}
			if err := c.check(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// check sends the request to both sides once and compares the answers.
func (c comparison) check(ctx context.Context) error {
	ra, ba, err := c.A.Fetch(ctx, c.Request)
	if err != nil {
		return fmt.Errorf("%s: %w", c.A.Name, err)
	}
	rb, bb, err := c.B.Fetch(ctx, c.Request)
	if err != nil {
		return fmt.Errorf("%s: %w", c.B.Name, err)
	}
	if want := map[loadgen.Protocol]int{loadgen.HTTP1: 1, loadgen.H2C: 2}[c.protocol]; ra.ProtoMajor != want || rb.ProtoMajor != want {
		return fmt.Errorf("answered over HTTP/%d and HTTP/%d, want HTTP/%d", ra.ProtoMajor, rb.ProtoMajor, want)
	}
	return c.same(ra, rb, ba, bb)
}

// sameUnary checks that both sides return the same message, and that only
// the gateway adds CORS headers, when the request has an Origin.
func sameUnary(withOrigin bool) func(a, b *http.Response, aBody, bBody []byte) error {
	return func(a, b *http.Response, aBody, bBody []byte) error {
		if !bytes.Equal(aBody, bBody) {
			return fmt.Errorf("bodies differ: %q and %q", aBody, bBody)
		}
		if !bytes.Contains(aBody, []byte("Alice")) {
			return fmt.Errorf("body %q: no profile", aBody)
		}
		acao := b.Header.Get("Access-Control-Allow-Origin")
		if withOrigin && acao == "" {
			return errors.New("gateway: no Access-Control-Allow-Origin")
		}
		if !withOrigin && acao != "" {
			return fmt.Errorf("gateway: Access-Control-Allow-Origin %q without Origin", acao)
		}
		if got := a.Header.Get("Access-Control-Allow-Origin"); got != "" {
			return fmt.Errorf("bare: Access-Control-Allow-Origin %q", got)
		}
		return nil
	}
}

// samePreflight checks that the fixed handler's answer is the gateway's,
// header for header (Date aside).
func samePreflight(a, b *http.Response, _, _ []byte) error {
	ha, hb := a.Header.Clone(), b.Header.Clone()
	ha.Del("Date")
	hb.Del("Date")
	if !maps.EqualFunc(ha, hb, slices.Equal) {
		return fmt.Errorf("headers differ:\n%s\n%s", dump(ha), dump(hb))
	}
	if hb.Get("Access-Control-Allow-Origin") != appOrigin {
		return fmt.Errorf("preflight not approved:\n%s", dump(hb))
	}
	return nil
}

func dump(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return b.String()
}
