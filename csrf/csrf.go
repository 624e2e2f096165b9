// Package csrf guards Connect, gRPC-Web and gRPC handlers against
// cross-site request forgery: a browser sends cookies with requests that a
// page on another origin starts, so a state-changing call that arrives with
// a session cookie may not be what the user meant.
//
// The [Guard] builds on net/http's [http.CrossOriginProtection], which tells
// cross-origin browser requests apart by Sec-Fetch-Site, or by comparing
// Origin with Host in browsers too old to send it; it adds two things that
// an RPC API needs. First, a cross-origin request is still allowed when the
// procedure's CORS policy allows its Origin: the frontends a policy names
// are meant to call it, and the gateway already decided which they are, so
// the Guard asks it rather than keeping a second list of origins. Second,
// methods declared idempotency_level = NO_SIDE_EFFECTS are never guarded,
// whatever the HTTP method: they change nothing by contract, and Connect
// serves them by GET as well. Requests with neither Sec-Fetch-Site nor
// Origin, such as server-to-server gRPC, pass.
//
// A refused request gets permission_denied in the protocol of the request
// (a Connect error body, or a gRPC status), written before the handler
// runs; the CORS headers the gateway already set stay on it.
//
// Start with [New], then mount handlers with [Guard.Wrap].
package csrf

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/internal/logsafe"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// An OriginPolicy reports whether the CORS policy of procedure
// ("/pkg.Service/Method") allows origins, the values of the request's Origin
// header: (*gateway.Gateway).OriginAllowed is one. It must be safe for
// concurrent use.
type OriginPolicy func(procedure string, origins []string) bool

// errCrossOrigin is what a refused client is told.
var errCrossOrigin = errors.New("cross-origin request refused: this origin may not call this procedure")

// A Guard refuses state-changing cross-origin requests from origins that
// the procedure's CORS policy does not allow. It is safe for concurrent use.
type Guard struct {
	cop     *http.CrossOriginProtection
	allowed OriginPolicy
	safe    map[string]struct{} // procedures with NO_SIDE_EFFECTS
	errors  *connect.ErrorWriter
	logger  *slog.Logger
}

// New returns a Guard that asks allowed about cross-origin requests, and
// never guards the NO_SIDE_EFFECTS methods of services. It panics if
// allowed is nil.
func New(allowed OriginPolicy, services []protoreflect.ServiceDescriptor, opts ...Option) *Guard {
	if allowed == nil {
		panic("csrf: New called with a nil OriginPolicy")
	}
	cfg := config{logger: slog.Default()}
	for _, o := range opts {
		o.apply(&cfg)
	}
	g := &Guard{
		cop:     http.NewCrossOriginProtection(),
		allowed: allowed,
		safe:    make(map[string]struct{}),
		errors:  connect.NewErrorWriter(),
		logger:  cfg.logger,
	}
	for _, sd := range services {
		methods := sd.Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			opts, _ := md.Options().(*descriptorpb.MethodOptions)
			if opts.GetIdempotencyLevel() == descriptorpb.MethodOptions_NO_SIDE_EFFECTS {
				g.safe["/"+string(sd.FullName())+"/"+string(md.Name())] = struct{}{}
			}
		}
	}
	return g
}

// Wrap returns pattern and h guarded, so that a generated constructor can
// be wrapped in place:
//
//	gw.Handle(guard.Wrap(profilev1connect.NewProfileServiceHandler(svc)))
func (g *Guard) Wrap(pattern string, h http.Handler) (string, http.Handler) {
	return pattern, g.Handler(h)
}

// Handler returns h guarded.
func (g *Guard) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.permit(r) {
			h.ServeHTTP(w, r)
			return
		}
		g.refuse(w, r)
	})
}

// permit decides a request. CrossOriginProtection allows safe HTTP methods
// (GET, HEAD, OPTIONS), same-origin requests and requests without
// Sec-Fetch-Site or Origin.
func (g *Guard) permit(r *http.Request) bool {
	if _, ok := g.safe[r.URL.Path]; ok {
		return true
	}
	if g.cop.Check(r) == nil {
		return true
	}
	return g.allowed(r.URL.Path, r.Header["Origin"])
}

func (g *Guard) refuse(w http.ResponseWriter, r *http.Request) {
	if g.logger.Enabled(r.Context(), slog.LevelWarn) {
		g.log(r.Context(), r)
	}
	err := connect.NewError(connect.CodePermissionDenied, errCrossOrigin)
	if g.errors.IsSupported(r) {
		_ = g.errors.Write(w, r, err)
		return
	}
	http.Error(w, errCrossOrigin.Error(), http.StatusForbidden)
}

// log records a refusal; every value may come from the client, so each is
// bounded.
func (g *Guard) log(ctx context.Context, r *http.Request) {
	g.logger.LogAttrs(ctx, slog.LevelWarn, "csrf: cross-origin request refused",
		slog.String("procedure", logsafe.String(r.URL.Path)),
		slog.Any("origin", logsafe.Strings(r.Header["Origin"])),
		slog.String("sec_fetch_site", logsafe.String(r.Header.Get("Sec-Fetch-Site"))))
}
