package gateway

import "fmt"

// A BindingError reports an invalid origin set binding given to [New] with
// [WithOriginSet].
type BindingError struct {
	// Set is the origin set's name.
	Set string
	// Source is where the binding came from, such as an environment variable.
	Source string
	// Origin is the offending origin, if the error is about one.
	Origin string
	// Err is the reason.
	Err error
}

// Error implements error.
func (e *BindingError) Error() string {
	where := e.Source
	if where == "" {
		where = "origin set " + e.Set
	}
	if e.Origin != "" {
		return fmt.Sprintf("%s: %v", where, e.Err)
	}
	return fmt.Sprintf("%s: origin set %q: %v", where, e.Set, e.Err)
}

// Unwrap returns the reason.
func (e *BindingError) Unwrap() error { return e.Err }
