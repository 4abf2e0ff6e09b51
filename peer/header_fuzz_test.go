package peer

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseHeaders: header lines given by a caller. Accepted headers must be
// safe to put in an HTTP request or response.
func FuzzParseHeaders(f *testing.F) {
	f.Add("X-Player: ada", "Cookie: a=1; b=2")
	f.Add("no colon", "")
	f.Add("Bad Name: x", "X: line\r\nInjected: yes")
	f.Add(": empty name", "X:")
	f.Fuzz(func(t *testing.T, a, b string) {
		h, err := ParseHeaders([]string{a, b})
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
			}
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

func TestParseHeaders(t *testing.T) {
	h, err := ParseHeaders([]string{"X-Player: ada ", "x-player:bob", "Cookie: a=1;\tb=2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Values("X-Player"); len(got) != 2 || got[0] != "ada" || got[1] != "bob" {
		t.Errorf("X-Player = %q", got)
	}
	if got := h.Get("Cookie"); got != "a=1;\tb=2" {
		t.Errorf("Cookie = %q", got)
	}
	for _, bad := range []string{"no colon", ": empty", "Bad Name: x", "X: a\r\nY: b", "X: \x00"} {
		if _, err := ParseHeaders([]string{bad}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseHeaders(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
}
