package bindings

import (
	"fmt"
	"testing"
	"unsafe"
)

// values lists what b would hand to gde_array_fill, one "type:a:b" each,
// bytes as their text.
func (b *ArrayBuilder) values() string {
	out := fmt.Sprintf("top=%d", b.top)
	for i := range b.n {
		v := (*[3]int64)(unsafe.Add(unsafe.Pointer(b.vals), i*24)) // int32 type (padded), a, b
		t := VariantType(int32(v[0]))
		if t == TypePackedByteArray {
			out += fmt.Sprintf(" bytes:%q", unsafe.Slice((*byte)(unsafe.Add(b.data, v[1])), v[2]))
		} else {
			out += fmt.Sprintf(" %d:%d", t, v[1])
		}
	}
	return out
}

func TestArrayBuilderEncoding(t *testing.T) {
	var b ArrayBuilder
	defer b.Free()
	b.Int(-5)
	b.Begin()
	b.Int(7)
	b.Bytes([]byte("hi"))
	b.Begin()
	b.Bool(true)
	b.End()
	b.Bytes(nil)
	b.Bool(false)
	b.End()
	b.Bytes([]byte("x"))
	want := `top=3 2:-5 28:5 2:7 bytes:"hi" 28:1 1:1 bytes:"" 1:0 bytes:"x"`
	if got := b.values(); got != want || b.Len() != 3 {
		t.Fatalf("got  %s (Len %d)\nwant %s", got, b.Len(), want)
	}
	b.Reset()
	// Growth past the first blocks keeps earlier values.
	big := make([]byte, 5000)
	for i := range 100 {
		b.Int(int64(i))
		b.Bytes(big)
	}
	if b.Len() != 200 || b.used != 100*5000 {
		t.Fatalf("Len %d, %d data bytes", b.Len(), b.used)
	}
	for i := range 100 {
		v := (*[3]int64)(unsafe.Add(unsafe.Pointer(b.vals), 2*i*24))
		if v[1] != int64(i) {
			t.Fatalf("value %d is %d after growth", 2*i, v[1])
		}
	}
}

func TestArrayBuilderUnbalanced(t *testing.T) {
	var b ArrayBuilder
	defer b.Free()
	defer func() {
		if recover() == nil {
			t.Fatal("End without Begin did not panic")
		}
	}()
	b.End()
}
