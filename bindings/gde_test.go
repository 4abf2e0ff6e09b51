package bindings

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRequiredFunctionsAreCalled checks that every interface function gde.h
// requires at load is called somewhere: directly in gde.c, or by a gde.h
// wrapper that Go calls. An engine lacking a function the library never calls
// must still load it (such a function belongs in GDE_OPTIONAL, NULL-checked,
// or nowhere).
func TestRequiredFunctionsAreCalled(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	header, csrc := read("gde.h"), read("gde.c")
	var gosrc strings.Builder
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			gosrc.WriteString(read(f))
		}
	}
	block := regexp.MustCompile(`(?s)#define GDE_REQUIRED\(X\)(.*?)\n\n`).FindStringSubmatch(header)
	if block == nil {
		t.Fatal("no GDE_REQUIRED list in gde.h")
	}
	names := regexp.MustCompile(`X\(\w+, (\w+)\)`).FindAllStringSubmatch(block[1], -1)
	if len(names) < 10 {
		t.Fatalf("only %d required functions found: the parse is wrong", len(names))
	}
	wrappers := regexp.MustCompile(`static inline [^\n]*?\b(gde_\w+)\(([^\n]*)\n`).FindAllStringSubmatch(header, -1)
	for _, n := range names {
		use := regexp.MustCompile(`\bgde\.` + n[1] + `\(`)
		if use.MatchString(csrc) {
			continue
		}
		called := false
		for _, w := range wrappers {
			if use.MatchString(w[2]) && strings.Contains(gosrc.String(), "C."+w[1]+"(") {
				called = true
			}
		}
		if !called {
			t.Errorf("%s is required at load but never called: move it to GDE_OPTIONAL (NULL-checked) or remove it", n[1])
		}
	}
}
