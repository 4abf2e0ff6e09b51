package peer

import (
	"fmt"
	"net/http"
	"strings"
)

// ParseHeaders reads header lines of the form "Name: value" (for
// Options.Header and Options.ExtraHeaders). A name that is not an HTTP token,
// a line without a colon, or a value holding control characters (CR, LF, NUL
// and the like; tab is allowed) is an error wrapping ErrInvalidArgument, so
// nothing accepted can inject a header line. Values are trimmed; a name may
// repeat.
func ParseHeaders(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) || strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return nil, fmt.Errorf("%w: header %q is not \"Name: value\"", ErrInvalidArgument, l)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// isToken reports whether s is an HTTP header field name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}
