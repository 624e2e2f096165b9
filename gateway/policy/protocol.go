package policy

import "fmt"

// A Protocol is a protocol browsers can call a method with. Its values are
// those of the portico.cors.v1.Protocol enum.
type Protocol int32

const (
	// ProtocolUnspecified is the zero value; it is never valid in a policy.
	ProtocolUnspecified Protocol = 0
	// ProtocolConnect is the Connect protocol, including Connect GET.
	ProtocolConnect Protocol = 1
	// ProtocolGRPCWeb is gRPC-Web.
	ProtocolGRPCWeb Protocol = 2
)

// String returns the protocol's enum value name.
func (p Protocol) String() string {
	switch p {
	case ProtocolUnspecified:
		return "PROTOCOL_UNSPECIFIED"
	case ProtocolConnect:
		return "PROTOCOL_CONNECT"
	case ProtocolGRPCWeb:
		return "PROTOCOL_GRPC_WEB"
	}
	return fmt.Sprintf("Protocol(%d)", int32(p))
}

// A StreamType is the shape of an RPC.
type StreamType int

const (
	// Unary is one request and one response.
	Unary StreamType = iota
	// ClientStream is a stream of requests and one response.
	ClientStream
	// ServerStream is one request and a stream of responses.
	ServerStream
	// BidiStream is a stream each way.
	BidiStream
)

// Request headers each protocol sends, as connect-web does. Content-Type is
// not CORS-safelisted for application/proto or application/connect+json
// (https://fetch.spec.whatwg.org/#cors-safelisted-request-header), so it must
// be allowed explicitly.
var (
	connectRequestHeaders       = []string{"Content-Type", "Connect-Protocol-Version", "Connect-Timeout-Ms"}
	connectStreamRequestHeaders = []string{"Connect-Content-Encoding", "Connect-Accept-Encoding"}
	grpcWebRequestHeaders       = []string{"Content-Type", "X-Grpc-Web", "X-User-Agent", "Grpc-Timeout"}
	// gRPC-Web carries the status in headers for trailers-only responses
	// (every unary error): unexposed, a browser sees a blank status.
	grpcWebResponseHeaders = []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}
)
