package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

func TestDecisionCounts(t *testing.T) {
	t.Parallel()
	g, _ := newTestGateway(t, WithDecisionCounts(), WithReportOnly("/portico.profile.v1.ProfileService/GetProfile", true, "env"))
	for range 3 {
		serve(g, http.MethodOptions, update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", seedACRH)
	}
	serve(g, http.MethodOptions, update, "Origin", evilOrigin, "Access-Control-Request-Method", "POST")
	serve(g, http.MethodOptions, update, "Origin", appOrigin, "Access-Control-Request-Method", "PUT")
	serve(g, http.MethodOptions, update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-nope")
	serve(g, http.MethodOptions, getProfile, "Origin", evilOrigin, "Access-Control-Request-Method", "POST")
	serve(g, http.MethodOptions, svcPath+"Nope", "Origin", appOrigin, "Access-Control-Request-Method", "POST")
	serve(g, http.MethodOptions, "/elsewhere/X", "Origin", appOrigin, "Access-Control-Request-Method", "POST")
	serve(g, http.MethodPost, update, "Origin", appOrigin)
	serve(g, http.MethodPost, update, "Origin", evilOrigin)
	serve(g, http.MethodPost, update)
	serve(g, http.MethodPost, update)

	var got []string
	for _, c := range g.DecisionCounts() {
		got = append(got, fmt.Sprintf("%s %s %s %s %d", c.Procedure, c.Request, c.Decision, c.Reason, c.Count))
	}
	want := []string{
		" preflight refused unknown_procedure 1",
		"/portico.profile.v1.ProfileService/ preflight refused unknown_procedure 1",
		"/portico.profile.v1.ProfileService/GetProfile preflight would_refuse origin_not_allowed 1",
		"/portico.profile.v1.ProfileService/UpdateProfile actual allowed allowed 1",
		"/portico.profile.v1.ProfileService/UpdateProfile actual refused origin_not_allowed 1",
		"/portico.profile.v1.ProfileService/UpdateProfile none not_cors not_cors 2",
		"/portico.profile.v1.ProfileService/UpdateProfile preflight allowed allowed 3",
		"/portico.profile.v1.ProfileService/UpdateProfile preflight refused header_not_allowed 1",
		"/portico.profile.v1.ProfileService/UpdateProfile preflight refused method_not_allowed 1",
		"/portico.profile.v1.ProfileService/UpdateProfile preflight refused origin_not_allowed 1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("counts\n%s\nwant\n%s", join(got), join(want))
	}
	// Explaining counts nothing.
	g.Explain(Query{Procedure: update, Origin: appOrigin})
	if n := len(g.DecisionCounts()); n != len(want) {
		t.Errorf("Explain changed the counts: %d rows", n)
	}
	if c := (&Gateway{}).DecisionCounts(); c != nil {
		t.Errorf("counts without WithDecisionCounts: %v", c)
	}
}

func join(lines []string) string {
	s := ""
	for _, l := range lines {
		s += "  " + l + "\n"
	}
	return s
}

func TestDecisionCountsDoNotAllocate(t *testing.T) {
	g, _ := newTestGateway(t, WithDecisionCounts())
	req := preflightRequest(appOrigin, seedACRH)()
	w := &discardWriter{header: http.Header{}}
	allocs := testing.AllocsPerRun(100, func() {
		clear(w.header)
		g.ServeHTTP(w, req)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per counted preflight, want 0", allocs)
	}
}
