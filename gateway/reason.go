package gateway

// A reason says why the gateway refused a CORS request. It appears in log
// lines, so its text is stable and precise.
type reason int

const (
	allowed reason = iota
	unknownProcedure
	notBrowserCallable
	originMissing
	originMultiple
	originNull
	originList
	originNotAllowed
	methodNotAllowed
	methodMultiple
	headerNotAllowed
	headersTooLong
	headersTooManyEmpty
	privateNetworkNotAllowed
	// notCORS is the "decision" on a request without an Origin header.
	notCORS

	numReasons
)

func (r reason) String() string {
	switch r {
	case allowed:
		return "allowed"
	case unknownProcedure:
		return "unknown procedure"
	case notBrowserCallable:
		return "procedure is not browser-callable"
	case originMissing:
		return "empty Origin"
	case originMultiple:
		return "more than one Origin header"
	case originNull:
		return `Origin "null" is never allowed`
	case originList:
		return "Origin holds a list, not one origin"
	case originNotAllowed:
		return "origin not allowed"
	case methodNotAllowed:
		return "method not allowed"
	case methodMultiple:
		return "more than one Access-Control-Request-Method header"
	case headerNotAllowed:
		return "request header not allowed"
	case headersTooLong:
		return "Access-Control-Request-Headers too long"
	case headersTooManyEmpty:
		return "Access-Control-Request-Headers has too many empty items"
	case privateNetworkNotAllowed:
		return "private network access not allowed"
	case notCORS:
		return "not a CORS request"
	}
	return "unknown reason"
}

// code is the reason as a metric label value.
func (r reason) code() string {
	switch r {
	case allowed:
		return "allowed"
	case unknownProcedure:
		return "unknown_procedure"
	case notBrowserCallable:
		return "not_browser_callable"
	case originMissing:
		return "origin_empty"
	case originMultiple:
		return "origin_multiple"
	case originNull:
		return "origin_null"
	case originList:
		return "origin_list"
	case originNotAllowed:
		return "origin_not_allowed"
	case methodNotAllowed:
		return "method_not_allowed"
	case methodMultiple:
		return "method_multiple"
	case headerNotAllowed:
		return "header_not_allowed"
	case headersTooLong:
		return "headers_too_long"
	case headersTooManyEmpty:
		return "headers_too_many_empty"
	case privateNetworkNotAllowed:
		return "private_network_not_allowed"
	case notCORS:
		return "not_cors"
	}
	return "unknown"
}
