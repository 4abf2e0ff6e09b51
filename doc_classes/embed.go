// Package docclasses embeds the class reference of the extension's classes:
// one Godot class reference XML document per class (the format of Godot's
// doc/class.xsd). The library hands them to the editor's help at the EDITOR
// initialization level; project/tests/test_docs.gd checks them against what
// the library registers.
package docclasses

import (
	"embed"
	"io/fs"
)

//go:embed *.xml
var files embed.FS

// Documents returns the XML documents, one per class, in file name order.
func Documents() [][]byte {
	names, _ := fs.Glob(files, "*.xml")
	docs := make([][]byte, 0, len(names))
	for _, name := range names {
		if b, err := files.ReadFile(name); err == nil {
			docs = append(docs, b)
		}
	}
	return docs
}
