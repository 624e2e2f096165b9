package main

// The load that the soak and fault tests put on a running portico: concurrent
// clients, each a user of its own, mixing what browsers send (CORS
// preflights, Connect POST and GET, gRPC-Web, Connect streams) with what
// servers send (gRPC over h2c with grpc-go). Every response is checked as
// it arrives, CORS fields included, and so is every profile read against the
// client's own record of its acknowledged writes: a lost or half-written
// update is an error the moment it is seen, not only at the end.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// callTimeout bounds every call of the load. It is longer than the profile
// store's own call timeout (5s), so that a hung database shows as the
// server's unavailable, not as the client giving up.
const callTimeout = 10 * time.Second

// The messages of the server's retryable errors (service/errors.go,
// service/watch.go): an unavailable error with another message is the
// client's own, from a failed connection.
const (
	msgStoreUnavailable = "profile store unavailable: retry later"
	msgShuttingDown     = "server is shutting down: reconnect"
)

// An outcome is how one call ended.
type outcome int

const (
	// succeeded: the expected answer, checked.
	succeeded outcome = iota
	// unavailable: the server answered that the store (or the server) is
	// unavailable, with the CORS fields a browser needs to read that.
	unavailable
	// disconnected: the connection failed or was refused.
	disconnected
	// wrong: anything else, such as internal, a wrong status, missing CORS
	// fields, or a profile that is not the last acknowledged write.
	wrong
	numOutcomes
)

func (o outcome) String() string {
	return [...]string{"ok", "unavailable", "disconnected", "wrong"}[o]
}

// A load is a set of clients of one server and what they have seen.
type load struct {
	s        *server
	h1, h2c  *http.Client
	grpcConn *grpc.ClientConn
	grpcWeb  profilev1connect.ProfileServiceClient
	watcher  profilev1connect.ProfileServiceClient
	clients  []*loadClient
	// expected says whether an outcome other than success or wrong is
	// expected of a call that ran from start to end; nil expects success
	// only.
	expected func(start, end time.Time, o outcome) bool
	// okSince counts the successful calls that ended after since (in Unix
	// nanoseconds; 0 counts none), which a test may set while the load
	// runs.
	since   atomic.Int64
	okSince atomic.Int64

	mu         sync.Mutex
	unexpected []string // the first few unexpected outcomes, for the failure message
	nUnexp     int
}

// newLoad returns n clients of s, with their users' profiles not yet
// created. Connections are closed at tb's cleanup.
func newLoad(tb testing.TB, s *server, n int) *load {
	tb.Helper()
	var h1p, h2p http.Protocols
	h1p.SetHTTP1(true)
	h2p.SetUnencryptedHTTP2(true)
	dialer := &net.Dialer{Timeout: requestTimeout}
	h1 := &http.Transport{Protocols: &h1p, MaxIdleConnsPerHost: n, DialContext: dialer.DialContext}
	h2 := &http.Transport{Protocols: &h2p, DialContext: dialer.DialContext}
	l := &load{
		s:        s,
		h1:       &http.Client{Transport: h1, Timeout: callTimeout},
		h2c:      &http.Client{Transport: h2, Timeout: callTimeout},
		grpcConn: dialGRPC(tb, s),
	}
	l.grpcWeb = profilev1connect.NewProfileServiceClient(l.h1, s.base, connect.WithGRPCWeb())
	l.watcher = profilev1connect.NewProfileServiceClient(l.h2c, s.base)
	tb.Cleanup(l.closeIdle)
	for i := range n {
		subject := fmt.Sprintf("load-%d", i)
		l.clients = append(l.clients, &loadClient{
			l: l, id: i, bearer: s.bearer(tb, subject),
			r:   rand.New(rand.NewPCG(uint64(i), 42)),
			lat: map[string][]time.Duration{}, counts: map[string]*[numOutcomes]int{},
		})
	}
	return l
}

// closeIdle closes the clients' idle connections, so that the server's
// goroutines can return to their idle number.
func (l *load) closeIdle() {
	l.h1.CloseIdleConnections()
	l.h2c.CloseIdleConnections()
}

// run runs every client until ctx is done, and waits for them.
func (l *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range l.clients {
		wg.Go(func() { c.run(ctx) })
	}
	wg.Wait()
}

// note records an outcome other than success, or a wrong one.
func (l *load) note(start, end time.Time, op string, o outcome, detail string) {
	if since := l.since.Load(); o == succeeded && since != 0 && end.UnixNano() > since {
		l.okSince.Add(1)
	}
	if o == succeeded || l.expected != nil && o != wrong && l.expected(start, end, o) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nUnexp++
	if len(l.unexpected) < 10 {
		l.unexpected = append(l.unexpected, fmt.Sprintf("%s %s at %s: %s", op, o, start.Format("15:04:05.000"), detail))
	}
}

// A loadClient is one user: it sends one call at a time, and remembers its
// profile's last acknowledged write.
type loadClient struct {
	l      *load
	id     int
	bearer string
	r      *rand.Rand
	// attempts counts the client's writes; write n stores fields(n).
	attempts int
	// acked is the last write the server acknowledged, and ackedVersion
	// its version; 0 before the first.
	acked, ackedVersion int
	// pending is a write whose outcome the client does not know (it failed
	// with unavailable, or its connection broke), or 0. Until a read tells,
	// the stored profile may be that write, one version later.
	pending int

	lat    map[string][]time.Duration
	counts map[string]*[numOutcomes]int
}

// fields returns the profile of write n: every field names the write, so a
// profile mixing two writes is caught.
func (c *loadClient) fields(n int) (name, email, bio string) {
	return fmt.Sprintf("load %d write %d", c.id, n), fmt.Sprintf("load-%d-w%d@example.com", c.id, n), fmt.Sprintf("bio of write %d", n)
}

// The calls of the mix, with their weights.
var loadOps = []struct {
	name   string
	weight int
	call   func(c *loadClient, ctx context.Context) (outcome, string)
}{
	{"preflight http1", 12, func(c *loadClient, ctx context.Context) (outcome, string) { return c.preflight(ctx, c.l.h1) }},
	{"preflight h2c", 12, func(c *loadClient, ctx context.Context) (outcome, string) { return c.preflight(ctx, c.l.h2c) }},
	{"connect POST update", 18, (*loadClient).connectUpdate},
	{"connect GET get", 18, (*loadClient).connectGet},
	{"grpc-web get", 12, (*loadClient).grpcWebGet},
	{"grpc update", 10, (*loadClient).grpcUpdate},
	{"grpc get", 14, (*loadClient).grpcGet},
	{"connect watch", 4, (*loadClient).watch},
}

// createOp is the index in loadOps of the call that creates a profile.
const createOp = 2

var loadWeights = func() int {
	total := 0
	for _, op := range loadOps {
		total += op.weight
	}
	return total
}()

func (c *loadClient) run(ctx context.Context) {
	for ctx.Err() == nil {
		op := loadOps[len(loadOps)-1]
		for n, i := c.r.IntN(loadWeights), 0; i < len(loadOps); i++ {
			if n -= loadOps[i].weight; n < 0 {
				op = loadOps[i]
				break
			}
		}
		if c.ackedVersion == 0 && c.pending == 0 {
			// The first call of a user creates its profile.
			op = loadOps[createOp]
		}
		start := time.Now()
		callCtx, cancel := context.WithTimeout(context.Background(), callTimeout)
		o, detail := op.call(c, callCtx)
		cancel()
		end := time.Now()
		c.lat[op.name] = append(c.lat[op.name], end.Sub(start))
		if c.counts[op.name] == nil {
			c.counts[op.name] = new([numOutcomes]int)
		}
		c.counts[op.name][o]++
		c.l.note(start, end, op.name, o, detail)
		if o == unavailable || o == disconnected {
			// A client backs off before it retries, as connect-web and
			// grpc-go do.
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// etag returns the ETag the client expects of its profile.
func etagOf(version int) string { return `"profile-v` + strconv.Itoa(version) + `"` }

func versionOf(etag string) int {
	v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(etag, `"profile-v`), `"`))
	if err != nil {
		return -1
	}
	return v
}

// wrote records the answer to write n: a profile at version, or the
// failure o.
func (c *loadClient) wrote(n int, o outcome, version int, name string) (outcome, string) {
	switch o {
	case succeeded:
		wantName, _, _ := c.fields(n)
		if version != c.ackedVersion+1 || name != wantName {
			return wrong, fmt.Sprintf("write %d acknowledged as version %d %q; want version %d %q", n, version, name, c.ackedVersion+1, wantName)
		}
		c.acked, c.ackedVersion = n, version
	case unavailable, disconnected:
		c.pending = n
	}
	return o, ""
}

// read checks a profile the server returned (version 0 for none) against
// the client's acknowledged writes, and settles a pending write.
func (c *loadClient) read(version int, name, email, bio string) (outcome, string) {
	ok := func(n, v int) bool {
		wantName, wantEmail, wantBio := c.fields(n)
		return version == v && (v == 0 || name == wantName && email == wantEmail && bio == wantBio)
	}
	switch {
	case ok(c.acked, c.ackedVersion):
		c.pending = 0
	case c.pending != 0 && ok(c.pending, c.ackedVersion+1):
		// The write whose answer was lost did happen.
		c.acked, c.ackedVersion, c.pending = c.pending, c.ackedVersion+1, 0
	default:
		return wrong, fmt.Sprintf("read version %d %q %q %q; acknowledged write %d is version %d (pending write %d)",
			version, name, email, bio, c.acked, c.ackedVersion, c.pending)
	}
	return succeeded, ""
}

// browserHeader is what a browser on the app's origin sends with a call.
func (c *loadClient) browserHeader(h http.Header) {
	h.Set("Origin", appOrigin)
	h.Set("Authorization", c.bearer)
	h.Set("X-Client-Version", "web-42")
}

func (c *loadClient) preflight(ctx context.Context, client *http.Client) (outcome, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, c.l.s.url(procUpdateProfile), http.NoBody)
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,if-match,x-client-version")
	res, body, err := do(client, req)
	if err != nil {
		return disconnected, err.Error()
	}
	if res.StatusCode != http.StatusNoContent || !browserReadable(res.Header) || len(body) != 0 {
		return wrong, fmt.Sprintf("preflight: %d %v %q", res.StatusCode, res.Header, body)
	}
	return succeeded, ""
}

// browserReadable reports whether the app's origin may read a response.
func browserReadable(h http.Header) bool {
	return h.Get("Access-Control-Allow-Origin") == appOrigin && h.Get("Access-Control-Allow-Credentials") == "true" &&
		slices.Contains(listItems(h["Vary"], true), "Origin")
}

// connectBody is a Connect unary JSON answer: a profile or an error.
type connectBody struct {
	Profile struct {
		DisplayName string `json:"displayName"`
		Email       string `json:"email"`
		Bio         string `json:"bio"`
		Etag        string `json:"etag"`
	} `json:"profile"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// connectError classifies a Connect error answer.
func connectError(res *http.Response, body connectBody) (outcome, string) {
	detail := fmt.Sprintf("status %d code %q message %q", res.StatusCode, body.Code, body.Message)
	if !browserReadable(res.Header) {
		return wrong, "error without CORS fields: " + detail
	}
	if res.StatusCode == http.StatusServiceUnavailable && body.Code == "unavailable" &&
		(body.Message == msgStoreUnavailable || body.Message == msgShuttingDown) {
		return unavailable, detail
	}
	return wrong, detail
}

func (c *loadClient) connectUpdate(ctx context.Context) (outcome, string) {
	if c.pending != 0 {
		return c.connectGet(ctx) // settle the pending write first
	}
	c.attempts++
	n := c.attempts
	name, email, bio := c.fields(n)
	payload, _ := json.Marshal(map[string]string{"displayName": name, "email": email, "bio": bio})
	client := c.l.h1
	if n%2 == 0 {
		client = c.l.h2c
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.l.s.url(procUpdateProfile), bytes.NewReader(payload))
	c.browserHeader(req.Header)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	if c.ackedVersion > 0 {
		req.Header.Set("If-Match", etagOf(c.ackedVersion))
	}
	res, raw, err := do(client, req)
	if err != nil {
		return c.wrote(n, disconnected, 0, "")
	}
	var body connectBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return wrong, fmt.Sprintf("update: %d %q: %v", res.StatusCode, raw, err)
	}
	if res.StatusCode != http.StatusOK {
		o, detail := connectError(res, body)
		if o == unavailable {
			return c.wrote(n, o, 0, "")
		}
		return o, "update: " + detail
	}
	if !browserReadable(res.Header) || res.Header.Get("Etag") != body.Profile.Etag {
		return wrong, fmt.Sprintf("update: header %v, etag %q", res.Header, body.Profile.Etag)
	}
	return c.wrote(n, succeeded, versionOf(body.Profile.Etag), body.Profile.DisplayName)
}

func (c *loadClient) connectGet(ctx context.Context) (outcome, string) {
	target := c.l.s.url(procGetProfile) + "?connect=v1&encoding=json&message=" + url.QueryEscape("{}")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, http.NoBody)
	c.browserHeader(req.Header)
	res, raw, err := do(c.l.h1, req)
	if err != nil {
		return disconnected, err.Error()
	}
	var body connectBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return wrong, fmt.Sprintf("get: %d %q: %v", res.StatusCode, raw, err)
	}
	switch {
	case res.StatusCode == http.StatusNotFound && body.Code == "not_found" && browserReadable(res.Header):
		return c.read(0, "", "", "")
	case res.StatusCode != http.StatusOK:
		o, detail := connectError(res, body)
		return o, "get: " + detail
	case !browserReadable(res.Header) || res.Header.Get("Etag") != body.Profile.Etag:
		return wrong, fmt.Sprintf("get: header %v, etag %q", res.Header, body.Profile.Etag)
	}
	p := body.Profile
	return c.read(versionOf(p.Etag), p.DisplayName, p.Email, p.Bio)
}

// classifyRPC classifies a connect-go or grpc-go error.
func classifyRPC(code connect.Code, message string, err error) (outcome, string) {
	detail := fmt.Sprintf("%v: %v", code, err)
	switch {
	case clientSide(code, message, err):
		return disconnected, detail
	case code == connect.CodeUnavailable:
		return unavailable, detail
	}
	return wrong, detail
}

// clientSide reports whether an RPC error is the client's own, from a
// failed or closed connection, rather than the server's answer: connect-go
// and grpc-go report those as unavailable too, but not with the server's
// messages.
func clientSide(code connect.Code, message string, err error) bool {
	return isDisconnect(err) || code == connect.CodeUnavailable && message != msgStoreUnavailable && message != msgShuttingDown
}

func (c *loadClient) grpcWebGet(ctx context.Context) (outcome, string) {
	req := connect.NewRequest(&profilev1.GetProfileRequest{})
	c.browserHeader(req.Header())
	res, err := c.l.grpcWeb.GetProfile(ctx, req)
	if err != nil {
		var cerr *connect.Error
		switch {
		case clientSide(connect.CodeOf(err), connectMessage(err), err):
			return disconnected, err.Error()
		case errors.As(err, &cerr) && !browserReadable(cerr.Meta()):
			return wrong, fmt.Sprintf("grpc-web error without CORS fields: %v", err)
		case cerr != nil && cerr.Code() == connect.CodeNotFound:
			return c.read(0, "", "", "")
		}
		return classifyRPC(connect.CodeOf(err), connectMessage(err), err)
	}
	if !browserReadable(res.Header()) {
		return wrong, fmt.Sprintf("grpc-web: header %v", res.Header())
	}
	p := res.Msg.GetProfile()
	return c.read(versionOf(p.GetEtag()), p.GetDisplayName(), p.GetEmail(), p.GetBio())
}

func connectMessage(err error) string {
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		return cerr.Message()
	}
	return ""
}

func grpcClassify(err error) (outcome, string) {
	st, _ := status.FromError(err)
	return classifyRPC(connect.Code(st.Code()), st.Message(), err)
}

func (c *loadClient) grpcUpdate(ctx context.Context) (outcome, string) {
	if c.pending != 0 {
		return c.grpcGet(ctx)
	}
	c.attempts++
	n := c.attempts
	name, email, bio := c.fields(n)
	req := &profilev1.UpdateProfileRequest{DisplayName: name, Email: email, Bio: bio}
	if c.ackedVersion > 0 {
		req.Etag = etagOf(c.ackedVersion)
	}
	res := &profilev1.UpdateProfileResponse{}
	var header metadata.MD
	err := c.l.grpcConn.Invoke(metadata.AppendToOutgoingContext(ctx, "authorization", c.bearer), procUpdateProfile, req, res, grpc.Header(&header))
	if err != nil {
		o, detail := grpcClassify(err)
		if o == unavailable || o == disconnected {
			return c.wrote(n, o, 0, "")
		}
		return o, "grpc update: " + detail
	}
	if o, detail := noCORS(header); o != succeeded {
		return o, detail
	}
	p := res.GetProfile()
	return c.wrote(n, succeeded, versionOf(p.GetEtag()), p.GetDisplayName())
}

func (c *loadClient) grpcGet(ctx context.Context) (outcome, string) {
	res := &profilev1.GetProfileResponse{}
	var header metadata.MD
	err := c.l.grpcConn.Invoke(metadata.AppendToOutgoingContext(ctx, "authorization", c.bearer), procGetProfile,
		&profilev1.GetProfileRequest{}, res, grpc.Header(&header))
	if status.Code(err) == codes.NotFound {
		return c.read(0, "", "", "")
	}
	if err != nil {
		o, detail := grpcClassify(err)
		return o, "grpc get: " + detail
	}
	if o, detail := noCORS(header); o != succeeded {
		return o, detail
	}
	p := res.GetProfile()
	return c.read(versionOf(p.GetEtag()), p.GetDisplayName(), p.GetEmail(), p.GetBio())
}

// noCORS checks that a gRPC answer, to a request without Origin, has no
// Access-Control-* field.
func noCORS(md metadata.MD) (outcome, string) {
	for key := range md {
		if strings.HasPrefix(key, "access-control-") {
			return wrong, fmt.Sprintf("gRPC answer with %s", key)
		}
	}
	return succeeded, ""
}

// watch opens a WatchProfile stream as a browser would, checks its first
// message, and hangs up.
func (c *loadClient) watch(ctx context.Context) (outcome, string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := connect.NewRequest(&profilev1.WatchProfileRequest{})
	c.browserHeader(req.Header())
	stream, err := c.l.watcher.WatchProfile(ctx, req)
	if err != nil {
		return classifyRPC(connect.CodeOf(err), connectMessage(err), err)
	}
	defer stream.Close()
	received := stream.Receive()
	if err := stream.Err(); !received && err != nil && clientSide(connect.CodeOf(err), connectMessage(err), err) {
		return disconnected, err.Error()
	}
	if !browserReadable(stream.ResponseHeader()) {
		return wrong, fmt.Sprintf("watch: header %v: %v", stream.ResponseHeader(), stream.Err())
	}
	if !received {
		if err := stream.Err(); err != nil {
			return classifyRPC(connect.CodeOf(err), connectMessage(err), err)
		}
		return wrong, "watch: stream ended without a message"
	}
	p := stream.Msg().GetProfile()
	if p == nil {
		return c.read(0, "", "", "")
	}
	return c.read(versionOf(p.GetEtag()), p.GetDisplayName(), p.GetEmail(), p.GetBio())
}

// do sends req and reads the whole answer.
func do(client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, err
	}
	return res, body, nil
}

// isDisconnect reports whether err is a failed or broken connection.
func isDisconnect(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// A loadReport sums up the clients' calls.
type loadReport struct {
	elapsed time.Duration
	calls   int
	byOp    map[string]*[numOutcomes]int
	lat     []time.Duration // every call's, sorted
	opLat   map[string][]time.Duration
}

func (l *load) summary(elapsed time.Duration) loadReport {
	r := loadReport{elapsed: elapsed, byOp: map[string]*[numOutcomes]int{}, opLat: map[string][]time.Duration{}}
	for _, c := range l.clients {
		for op, counts := range c.counts {
			if r.byOp[op] == nil {
				r.byOp[op] = new([numOutcomes]int)
			}
			for o, n := range counts {
				r.byOp[op][o] += n
				r.calls += n
			}
		}
		for op, lat := range c.lat {
			r.opLat[op] = append(r.opLat[op], lat...)
			r.lat = append(r.lat, lat...)
		}
		clear(c.counts)
		clear(c.lat)
	}
	slices.Sort(r.lat)
	for _, lat := range r.opLat {
		slices.Sort(lat)
	}
	return r
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// String formats the report as the table RELIABILITY.md shows.
func (r loadReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls in %v: %.0f calls/s, p50 %v, p99 %v\n", r.calls, r.elapsed.Round(time.Millisecond),
		float64(r.calls)/r.elapsed.Seconds(), percentile(r.lat, 0.50).Round(10*time.Microsecond), percentile(r.lat, 0.99).Round(10*time.Microsecond))
	fmt.Fprintf(&b, "| call | calls | ok | unavailable | disconnected | wrong | p50 | p99 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, op := range loadOps {
		counts := r.byOp[op.name]
		if counts == nil {
			continue
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		lat := r.opLat[op.name]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %v | %v |\n", op.name, total, counts[succeeded], counts[unavailable],
			counts[disconnected], counts[wrong], percentile(lat, 0.5).Round(10*time.Microsecond), percentile(lat, 0.99).Round(10*time.Microsecond))
	}
	return b.String()
}

// check fails tb with the unexpected outcomes, if there were any.
func (l *load) check(tb testing.TB) {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nUnexp > 0 {
		tb.Errorf("%d unexpected outcomes; the first:\n  %s", l.nUnexp, strings.Join(l.unexpected, "\n  "))
	}
}
