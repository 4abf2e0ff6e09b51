package main

import (
	"strings"
	"testing"
)

// FuzzParseHeaders: custom_headers / set_extra_headers lines. Accepted
// headers must be safe to put in an HTTP request or response.
func FuzzParseHeaders(f *testing.F) {
	f.Add("X-Player: ada", "Cookie: a=1; b=2")
	f.Add("no colon", "")
	f.Add("Bad Name: x", "X: line\r\nInjected: yes")
	f.Add(": empty name", "X:")
	f.Fuzz(func(t *testing.T, a, b string) {
		h, err := parseHeaders([]string{a, b})
		if err != nil {
			return
		}
		n := 0
		for name, values := range h {
			if !isToken(name) || strings.ContainsAny(name, " \t\r\n:()<>@,;\\\"/[]?={}") {
				t.Fatalf("accepted header name %q", name)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("accepted header value %q", v)
				}
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d headers from 2 lines", n)
		}
	})
}
