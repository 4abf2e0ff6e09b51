package peer

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// trustSet is Options.TrustedProxies parsed: addresses become one-address
// prefixes. IPv4-mapped IPv6 addresses are compared as IPv4.
type trustSet []netip.Prefix

// parseTrusted parses addresses ("10.0.0.1", "::1", "[::1]") and CIDR ranges
// ("10.0.0.0/8", "fd00::/8").
func parseTrusted(list []string) (trustSet, error) {
	var t trustSet
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%w: trusted proxy %q is not an address or CIDR range", ErrInvalidArgument, s)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			t = append(t, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
		if err != nil {
			return nil, fmt.Errorf("%w: trusted proxy %q is not an address or CIDR range", ErrInvalidArgument, s)
		}
		a = a.Unmap().WithZone("")
		t = append(t, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

func (t trustSet) contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hop is one address of a forwarding chain; port 0 when unknown.
type hop struct {
	addr netip.Addr
	port int
}

func (h hop) host() string {
	if !h.addr.IsValid() {
		return ""
	}
	return h.addr.Unmap().String()
}

// clientAddr is the address a request came from: peer (the TCP peer, or
// what its PROXY header said) unless peer is a trusted proxy; then the
// right-most hop of Forwarded (or else X-Forwarded-For, or else X-Real-IP)
// that is not itself trusted. When every hop is trusted it is the left-most;
// a hop that is not an address ("unknown", an obfuscated name) ends the walk
// at the trusted hop to its right.
func clientAddr(t trustSet, peer hop, h http.Header) hop {
	if !t.contains(peer.addr) {
		return peer
	}
	var chain []string
	var parse func(string) (hop, bool)
	switch {
	case len(h.Values("Forwarded")) > 0:
		chain, parse = forwardedFor(h.Values("Forwarded")), parseNode
	case len(h.Values("X-Forwarded-For")) > 0:
		chain, parse = listValues(h.Values("X-Forwarded-For")), parseNode
	case h.Get("X-Real-IP") != "":
		chain, parse = []string{strings.TrimSpace(h.Get("X-Real-IP"))}, parseNode
	default:
		return peer
	}
	cur := peer
	for i := len(chain) - 1; i >= 0; i-- {
		next, ok := parse(chain[i])
		if !ok {
			return cur
		}
		cur = next
		if !t.contains(cur.addr) {
			return cur
		}
	}
	return cur
}

// listValues splits comma-separated header values, in order.
func listValues(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, e := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// forwardedFor is the for= value of each element of RFC 7239 Forwarded
// headers, in order ("" for an element without one).
func forwardedFor(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, elem := range splitQuoted(v, ',') {
			f := ""
			for _, pair := range splitQuoted(elem, ';') {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					f = strings.Trim(strings.TrimSpace(val), `"`)
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == '\\' && quoted:
			i++
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseNode parses "1.2.3.4", "1.2.3.4:5678", "::1", "[::1]" or
// "[::1]:5678" (X-Forwarded-For and X-Real-IP values, Forwarded for= nodes).
func parseNode(s string) (hop, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return hop{addr: a.Unmap()}, true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Zone() == "" {
			return hop{addr: a.Unmap()}, true
		}
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return hop{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return hop{}, false
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 || port[0] == '+' {
		return hop{}, false
	}
	return hop{addr: a.Unmap(), port: p}, true
}

// remoteHop parses an http.Request.RemoteAddr.
func remoteHop(s string) hop {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return hop{addr: ap.Addr().Unmap().WithZone(""), port: int(ap.Port())}
	}
	h, _ := parseNode(s)
	return h
}

// requestInfo is what the server records of an upgrade request, with the
// client's address resolved.
func (s *Server) requestInfo(r *http.Request) RequestInfo {
	peer := remoteHop(r.RemoteAddr)
	if p, ok := r.Context().Value(proxiedKey{}).(hop); ok {
		peer = p
	}
	c := clientAddr(s.infra.trusted, peer, r.Header)
	return RequestInfo{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Host: c.host(), Port: c.port}
}

// setRemote replaces the address RemoteHost/RemotePort report (attach set
// the TCP peer's) with the resolved client's.
func (c *Conn) setRemote(host string, port int) {
	old := c.info.Load()
	if host == "" || (old.host == host && old.port == port) {
		return
	}
	info := *old
	info.host, info.port = host, port
	c.info.Store(&info)
}
