package origin

import (
	"fmt"
	"strings"
)

// maxListedPorts bounds a port list: a pattern naming more ports than a
// developer runs servers on is more likely a typo than a wish.
const maxListedPorts = 32

// ParseList parses an origin pattern that may end in a port list in
// brackets, as Spring's allowedOriginPatterns writes it:
// "http://localhost:[5173,8080]" stands for "http://localhost:5173" and
// "http://localhost:8080". It returns one [Pattern] per port, each checked by
// [Parse]; a pattern without a list gives the one [Parse] returns. Ports must
// be unique, and at most 32.
func ParseList(raw string) ([]Pattern, error) {
	open := strings.LastIndex(raw, ":[")
	if open < 0 || !strings.HasSuffix(raw, "]") || !strings.Contains(raw[:open], "://") {
		p, err := Parse(raw)
		if err != nil {
			return nil, err
		}
		return []Pattern{p}, nil
	}
	base, list := raw[:open], raw[open+2:len(raw)-1]
	if list == "" {
		return nil, invalid(raw, "empty port list")
	}
	ports := strings.Split(list, ",")
	if len(ports) > maxListedPorts {
		return nil, invalid(raw, "%d ports listed, at most %d", len(ports), maxListedPorts)
	}
	patterns := make([]Pattern, 0, len(ports))
	seen := make(map[string]bool, len(ports))
	for _, port := range ports {
		if port == "" || strings.TrimSpace(port) != port {
			return nil, invalid(raw, "empty or padded item in port list: write it as [5173,8080]")
		}
		if seen[port] {
			return nil, invalid(raw, "port %s listed twice", port)
		}
		seen[port] = true
		one := base + ":" + port
		p, err := Parse(one)
		if err != nil {
			// Say what is wrong once, under the pattern as written.
			reason := strings.TrimPrefix(err.Error(), fmt.Sprintf("%v %q: ", ErrInvalid, one))
			return nil, invalid(raw, "port %s: %s", port, reason)
		}
		patterns = append(patterns, p)
	}
	return patterns, nil
}
