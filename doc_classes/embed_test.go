package docclasses

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// classDoc is the part of Godot's class reference format checked here; the
// engine test (project/tests/test_docs.gd) compares it with ClassDB.
type classDoc struct {
	XMLName     xml.Name `xml:"class"`
	Name        string   `xml:"name,attr"`
	Inherits    string   `xml:"inherits,attr"`
	Brief       string   `xml:"brief_description"`
	Description string   `xml:"description"`
	Methods     []struct {
		Name        string `xml:"name,attr"`
		Description string `xml:"description"`
	} `xml:"methods>method"`
	Members []struct {
		Name string `xml:"name,attr"`
		Text string `xml:",chardata"`
	} `xml:"members>member"`
	Signals []struct {
		Name        string `xml:"name,attr"`
		Description string `xml:"description"`
	} `xml:"signals>signal"`
	Constants []struct {
		Name string `xml:"name,attr"`
		Text string `xml:",chardata"`
	} `xml:"constants>constant"`
}

// TestEmbeddedDocuments checks that every XML file of this folder is
// embedded, is well-formed, documents the class its file is named after, and
// describes every member it lists.
func TestEmbeddedDocuments(t *testing.T) {
	onDisk, err := filepath.Glob("*.xml")
	if err != nil || len(onDisk) == 0 {
		t.Fatalf("no XML files here (%v)", err)
	}
	docs := Documents()
	if len(docs) != len(onDisk) {
		t.Fatalf("%d documents embedded, %d XML files on disk", len(docs), len(onDisk))
	}
	slices.Sort(onDisk)
	for i, file := range onDisk {
		disk, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(disk, docs[i]) {
			t.Errorf("%s: embedded copy differs from the file", file)
		}
		var doc classDoc
		dec := xml.NewDecoder(bytes.NewReader(docs[i]))
		dec.Strict = true
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if want := strings.TrimSuffix(file, ".xml"); doc.Name != want || doc.Inherits == "" {
			t.Errorf("%s: <class name=%q inherits=%q>, want name %q and a parent", file, doc.Name, doc.Inherits, want)
		}
		described := func(kind, name, text string) {
			if len(strings.TrimSpace(text)) < 10 {
				t.Errorf("%s: %s %q has no description", file, kind, name)
			}
		}
		described("class", "brief_description", doc.Brief)
		described("class", "description", doc.Description)
		if !strings.Contains(doc.Description, "[codeblock]") {
			t.Errorf("%s: the class description has no [codeblock] example", file)
		}
		seen := map[string]bool{}
		unique := func(kind, name string) {
			if seen[kind+" "+name] {
				t.Errorf("%s: %s %q documented twice", file, kind, name)
			}
			seen[kind+" "+name] = true
		}
		for _, m := range doc.Methods {
			unique("method", m.Name)
			described("method", m.Name, m.Description)
		}
		for _, m := range doc.Members {
			unique("member", m.Name)
			described("member", m.Name, m.Text)
		}
		for _, s := range doc.Signals {
			unique("signal", s.Name)
			described("signal", s.Name, s.Description)
		}
		for _, c := range doc.Constants {
			unique("constant", c.Name)
			described("constant", c.Name, c.Text)
		}
	}
}
