package loadgen

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const wrkReport = `Running 2s test @ http://127.0.0.1:40000/portico.profile.v1.ProfileService/UpdateProfile
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.31us  401.27us  12.03ms   90.11%
    Req/Sec    27.01k     2.01k   30.33k    75.00%
  Latency Distribution
     50%  520.00us
     75%  701.00us
     90%    0.97ms
     99%    2.11ms
  107520 requests in 2.00s, 40.32MB read
Requests/sec:  53701.42
Transfer/sec:     20.14MB
`

func TestParseWrk(t *testing.T) {
	t.Parallel()
	s, err := parseWrk([]byte(wrkReport))
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 107520 || s.P50 != 520*time.Microsecond || s.P99 != 2110*time.Microsecond {
		t.Errorf("got %+v", s)
	}
	if rps := s.RPS(); rps < 53701 || rps > 53702 {
		t.Errorf("RPS() = %v, want 53701.42", rps)
	}

	withErrors := strings.Replace(wrkReport, "Requests/sec", "  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 5\nRequests/sec", 1)
	s, err = parseWrk([]byte(withErrors))
	if err == nil || s.Errors != 8 {
		t.Errorf("with errors: got %+v, %v; want 8 errors", s, err)
	}
	if _, err := parseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused\n")); err == nil {
		t.Error("garbage: no error")
	}
}

func TestWrkScript(t *testing.T) {
	t.Parallel()
	got := string(wrkScript(Request{
		Method: http.MethodPost,
		Header: http.Header{"Content-Type": {"application/proto"}},
		Body:   []byte("\n\x05al\"ce\\\xff"),
	}))
	want := `wrk.method = "POST"
wrk.body = "\010\005al\"ce\\\255"
wrk.headers["Content-Type"] = "application/proto"
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
