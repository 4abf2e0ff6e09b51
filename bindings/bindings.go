// Package bindings is the thin Go layer over the GDExtension C interface:
// class, method, property, constant, signal and virtual registration, value
// conversion, typed calls of engine methods, object lifetime and engine
// logging. It knows nothing about the product built on it: the name its
// messages carry is given to Init.
//
// The interface header is godot-go v0.3.21's bundled copy of Godot 4.5's
// gdextension_interface.h (include/). gde.c loads the interface functions by
// their real names: godot-go's own loader asks for three names Godot 4.5 does
// not have (classdb_register_extension_class_5, callable_custom_get_user_data,
// get_variant_get_internal_ptr_func, which Godot names
// classdb_register_extension_class5, callable_custom_get_userdata and
// variant_get_ptr_internal_getter). gde.h lists the required functions (the
// engine must have them) apart from the optional ones (used only when present).
//
// Registering a class: fill a Class (name, parent, New/Free, signals,
// constants), add methods, properties and virtuals through a Binder, which
// locks and unwraps the instance for every call, then call Register from the
// register function given to Init. Emit emits any signal, the class's own or
// one its engine parent defines.
package bindings

/*
#cgo CFLAGS: -O2
#include "gde.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"unsafe"
)

// VariantType is Godot's Variant::Type.
type VariantType int32

const (
	TypeNil               VariantType = 0 // as a method return: returns a Variant
	TypeBool              VariantType = 1
	TypeInt               VariantType = 2
	TypeFloat             VariantType = 3
	TypeString            VariantType = 4
	TypeStringName        VariantType = 21
	TypeObject            VariantType = 24
	TypeDictionary        VariantType = 27
	TypeArray             VariantType = 28
	TypePackedByteArray   VariantType = 29
	TypePackedInt32Array  VariantType = 30
	TypePackedStringArray VariantType = 34
)

// Object is an engine object pointer (never Go memory).
type Object unsafe.Pointer

// Property hints and usage flags used by this project.
const (
	hintResourceType  = 17
	usageDefault      = 6
	usageClassIsEnum  = 65536
	notifyPostinitial = 0
)

// Arg describes a method or signal argument. Default (int64, float64, bool,
// string or []string) makes it optional; optional arguments come last.
type Arg struct {
	Name    string
	Type    VariantType
	Class   string // object class, or "Class.Enum" for enum-typed ints
	Default any
}

// Method is a method GDScript can call. Call runs on the calling thread.
type Method struct {
	Name        string
	Args        []Arg
	Return      VariantType // TypeNil with HasReturn: returns a Variant
	ReturnClass string
	HasReturn   bool
	Const       bool
	Call        func(self any, c Call)
}

// Signal is a signal the class declares.
type Signal struct {
	Name string
	Args []Arg
}

// Constant is an integer constant, grouped in Enum when Enum is not "".
type Constant struct {
	Enum, Name string
	Value      int64
}

// Property ties a property to registered setter and getter methods.
type Property struct {
	Name           string
	Type           VariantType
	Class          string // resource class for object properties
	Setter, Getter string
}

// Virtual implements an engine virtual (e.g. PacketPeerExtension._get_packet).
type Virtual struct {
	Name string
	Call func(self any, c Call)
}

// Class is an extension class. New creates the Go side of a fresh engine
// object; Free is called when the engine destroys it.
type Class struct {
	Name, Parent string
	New          func(owner Object) any
	Free         func(self any)
	Methods      []Method
	Signals      []Signal
	Constants    []Constant
	Properties   []Property
	Virtuals     []Virtual

	name, parent StringName
	virtuals     []virtualEntry
	registered   bool
}

type virtualEntry struct {
	nameData uintptr // StringNames are interned: equal names share this pointer
	index    int
}

type instance struct {
	cls  *Class
	self any
	obj  Object
}

var (
	product    = "bindings" // prefix of this package's own messages (Init sets it)
	library    unsafe.Pointer
	onInit     func()
	onDeinit   func()
	classes    []*Class
	methods    []*Method
	virtuals   []*Virtual
	sigs       []*C.gde_sig_t
	defaults   []defaultValue
	nameMu     sync.Mutex
	names      = map[string]StringName{}
	initFailed bool
)

type defaultValue struct {
	t VariantType
	p unsafe.Pointer
}

// Init is the body of the extension's entry symbol. It loads the interface
// and fills the initialization struct; register is called at SCENE level.
// It returns false (and registers nothing) when the engine lacks a required
// function. name (the product's name) prefixes the messages this package
// prints, such as "name: this Godot lacks GDExtension function ...".
func Init(name string, getProc, lib, initStruct unsafe.Pointer, register, unregister func()) bool {
	if name != "" {
		product = name
	}
	if getProc == nil || initStruct == nil {
		return false
	}
	if missing := C.gde_load(C.GDExtensionInterfaceGetProcAddress(getProc), C.GDExtensionClassLibraryPtr(lib)); missing != nil {
		// Nothing can be printed through the engine yet.
		fmt.Printf("%s: this Godot lacks GDExtension function %s (Godot 4.5+ needed)\n", product, C.GoString(missing))
		return false
	}
	library = lib
	onInit, onDeinit = register, unregister
	C.gde_fill_init((*C.GDExtensionInitialization)(initStruct))
	return true
}

// SetEditorHelp sets the class reference documents (Godot's class reference
// XML, one class per document) handed to the editor's help when the engine
// initializes the EDITOR level, after SCENE registered the classes. Engines
// that never reach that level (export templates) or lack
// editor_help_load_xml_from_utf8_chars_and_len skip them. Call it before
// the engine initializes the library, from the entry symbol.
func SetEditorHelp(docs ...[]byte) { editorHelp = docs }

var editorHelp [][]byte

func loadEditorHelp() {
	for _, doc := range editorHelp {
		if len(doc) > 0 && C.gde_editor_help_load((*C.char)(unsafe.Pointer(&doc[0])), C.int64_t(len(doc))) == 0 {
			return // this engine has no editor help
		}
	}
}

//export goInitialize
func goInitialize(level C.int) {
	defer recoverTo("initialize")
	if level == C.GDEXTENSION_INITIALIZATION_EDITOR && !initFailed {
		loadEditorHelp()
	}
	if level != C.GDEXTENSION_INITIALIZATION_SCENE {
		return
	}
	if missing := C.gde_lookup_binds(); missing != nil {
		PushError(product + ": engine method missing: " + C.GoString(missing))
		initFailed = true
		return
	}
	onInit()
}

//export goDeinitialize
func goDeinitialize(level C.int) {
	defer recoverTo("deinitialize")
	if level != C.GDEXTENSION_INITIALIZATION_SCENE || initFailed {
		return
	}
	if onDeinit != nil {
		onDeinit()
	}
	for i := len(classes) - 1; i >= 0; i-- {
		if classes[i].registered {
			C.gde_unregister_class(classes[i].name.ptr())
		}
	}
	classes = nil
	for _, d := range defaults {
		if d.t == TypeString || d.t == TypePackedStringArray {
			C.gde_destroy(C.int(d.t), d.p)
		}
		C.free(d.p)
	}
	defaults = nil
	for _, s := range sigs {
		C.free(unsafe.Pointer(s))
	}
	sigs, methods, virtuals = nil, nil, nil
	nameMu.Lock()
	for _, n := range names {
		n.destroy()
	}
	names = map[string]StringName{}
	nameMu.Unlock()
}

// --- StringName ---

// StringName is an engine StringName in C memory, created once and kept until
// the extension is deinitialized.
type StringName struct{ p unsafe.Pointer }

func (s StringName) ptr() C.GDExtensionConstStringNamePtr {
	return C.GDExtensionConstStringNamePtr(s.p)
}

func (s StringName) destroy() {
	C.gde_destroy(C.int(TypeStringName), s.p)
	C.free(s.p)
}

// Name returns the cached StringName for s.
func Name(s string) StringName {
	nameMu.Lock()
	defer nameMu.Unlock()
	if n, ok := names[s]; ok {
		return n
	}
	p := C.calloc(1, 8)
	cs := C.CString(s)
	C.gde_string_name_new(C.GDExtensionUninitializedStringNamePtr(p), cs, C.GDExtensionInt(len(s)))
	C.free(unsafe.Pointer(cs))
	n := StringName{p}
	names[s] = n
	return n
}

// --- registration ---

// Register registers c with the engine. Call it from the register function
// given to Init.
func Register(c *Class) {
	c.name, c.parent = Name(c.Name), Name(c.Parent)
	classes = append(classes, c)
	C.gde_register_class(c.name.ptr(), c.parent.ptr(), C.uintptr_t(len(classes)), boolInt(len(c.Virtuals) > 0))
	c.registered = true
	for i := range c.Virtuals {
		virtuals = append(virtuals, &c.Virtuals[i])
		n := Name(c.Virtuals[i].Name)
		c.virtuals = append(c.virtuals, virtualEntry{*(*uintptr)(n.p), len(virtuals)})
	}
	for _, k := range c.Constants {
		C.gde_register_constant(c.name.ptr(), Name(k.Enum).ptr(), Name(k.Name).ptr(), C.GDExtensionInt(k.Value))
	}
	for i := range c.Methods {
		registerMethod(c, &c.Methods[i])
	}
	for _, s := range c.Signals {
		infos := newPropertyInfos(s.Args)
		C.gde_register_signal(c.name.ptr(), Name(s.Name).ptr(), infos.first(), C.GDExtensionInt(len(s.Args)))
		infos.free()
	}
	for _, p := range c.Properties {
		infos := newPropertyInfos([]Arg{{Name: p.Name, Type: p.Type, Class: p.Class}})
		if p.Class != "" {
			infos.setHint(0, hintResourceType, p.Class)
		}
		C.gde_register_property(c.name.ptr(), infos.first(), Name(p.Setter).ptr(), Name(p.Getter).ptr())
		infos.free()
	}
}

func registerMethod(c *Class, m *Method) {
	if len(m.Args) > C.GDE_MAX_ARGS {
		panic("too many arguments: " + c.Name + "." + m.Name)
	}
	methods = append(methods, m)
	sig := (*C.gde_sig_t)(C.calloc(1, C.sizeof_gde_sig_t))
	sigs = append(sigs, sig)
	sig.index = C.uintptr_t(len(methods) - 1)
	sig.argc = C.int(len(m.Args))
	sig.has_ret = boolInt(m.HasReturn)
	sig.ret_type = C.int(m.Return)
	required := 0
	var defVariants []unsafe.Pointer
	for i, a := range m.Args {
		sig.types[i] = C.int(a.Type)
		if a.Default == nil {
			required = i + 1
			continue
		}
		native := newNative(a.Type, a.Default)
		sig.defaults[i] = native
		defaults = append(defaults, defaultValue{a.Type, native})
		v := C.calloc(1, 24)
		C.gde_call_from_type(C.gde_from_type(C.int(a.Type)), C.GDExtensionUninitializedVariantPtr(v), C.GDExtensionTypePtr(native))
		defVariants = append(defVariants, v)
	}
	sig.required = C.int(required)

	args := newPropertyInfos(m.Args)
	meta := (*C.GDExtensionClassMethodArgumentMetadata)(C.calloc(C.size_t(len(m.Args)+1), C.sizeof_GDExtensionClassMethodArgumentMetadata))
	ret := newPropertyInfos([]Arg{{Type: m.Return, Class: m.ReturnClass}})
	if m.HasReturn && m.Return == TypeNil {
		ret.setUsage(0, 131072|usageDefault) // PROPERTY_USAGE_NIL_IS_VARIANT
	}
	defArr := (*unsafe.Pointer)(C.calloc(C.size_t(len(defVariants)+1), 8))
	for i, v := range defVariants {
		*(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(defArr), i*8)) = v
	}

	var info C.GDExtensionClassMethodInfo
	info.name = C.GDExtensionStringNamePtr(Name(m.Name).p)
	info.method_userdata = unsafe.Pointer(sig)
	info.call_func = C.GDExtensionClassMethodCall(C.gde_method_call)
	info.ptrcall_func = C.GDExtensionClassMethodPtrCall(C.gde_method_ptrcall)
	info.method_flags = C.GDEXTENSION_METHOD_FLAG_NORMAL
	if m.Const {
		info.method_flags |= C.GDEXTENSION_METHOD_FLAG_CONST
	}
	info.has_return_value = C.GDExtensionBool(boolInt(m.HasReturn))
	info.return_value_info = ret.first()
	info.argument_count = C.uint32_t(len(m.Args))
	info.arguments_info = args.first()
	info.arguments_metadata = meta
	info.default_argument_count = C.uint32_t(len(defVariants))
	info.default_arguments = (*C.GDExtensionVariantPtr)(unsafe.Pointer(defArr))
	C.gde_register_method(c.name.ptr(), &info)

	for _, v := range defVariants {
		C.gde_variant_destroy(C.GDExtensionVariantPtr(v))
		C.free(v)
	}
	C.free(unsafe.Pointer(defArr))
	C.free(unsafe.Pointer(meta))
	args.free()
	ret.free()
}

// newNative makes a native value of type t in C memory (for default arguments).
func newNative(t VariantType, v any) unsafe.Pointer {
	p := C.calloc(1, 16)
	switch t {
	case TypeInt:
		*(*int64)(p) = toInt64(v)
	case TypeFloat:
		*(*float64)(p) = v.(float64)
	case TypeBool:
		if v.(bool) {
			*(*uint8)(p) = 1
		}
	case TypeString:
		s := v.(string)
		cs := C.CString(s)
		C.gde_string_new_into(p, cs, C.int64_t(len(s)))
		C.free(unsafe.Pointer(cs))
	case TypePackedStringArray:
		if len(v.([]string)) != 0 {
			panic("only empty PackedStringArray defaults are supported")
		}
		C.gde_construct_default(C.int(t), p)
	case TypeObject:
		// nil object
	default:
		panic(fmt.Sprintf("unsupported default argument type %d", t))
	}
	return p
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case int32:
		return int64(x)
	}
	panic(fmt.Sprintf("not an integer default: %T", v))
}

// propertyInfos is a C array of GDExtensionPropertyInfo whose names live
// only for one registration call (the engine copies them).
type propertyInfos struct {
	arr   *C.GDExtensionPropertyInfo
	n     int
	owned []unsafe.Pointer // StringNames and Strings to destroy
	types []VariantType
}

func newPropertyInfos(args []Arg) *propertyInfos {
	pi := &propertyInfos{n: len(args)}
	pi.arr = (*C.GDExtensionPropertyInfo)(C.calloc(C.size_t(len(args)+1), C.sizeof_GDExtensionPropertyInfo))
	for i, a := range args {
		info := pi.at(i)
		info._type = C.GDExtensionVariantType(a.Type)
		info.name = C.GDExtensionStringNamePtr(pi.stringName(a.Name))
		class, usage := a.Class, uint32(usageDefault)
		if a.Type == TypeInt && class != "" {
			usage |= usageClassIsEnum
		}
		info.class_name = C.GDExtensionStringNamePtr(pi.stringName(class))
		info.hint_string = C.GDExtensionStringPtr(pi.string(""))
		info.usage = C.uint32_t(usage)
	}
	return pi
}

func (pi *propertyInfos) at(i int) *C.GDExtensionPropertyInfo {
	return (*C.GDExtensionPropertyInfo)(unsafe.Add(unsafe.Pointer(pi.arr), i*C.sizeof_GDExtensionPropertyInfo))
}

func (pi *propertyInfos) first() *C.GDExtensionPropertyInfo { return pi.arr }

func (pi *propertyInfos) setHint(i int, hint uint32, hintString string) {
	pi.at(i).hint = C.uint32_t(hint)
	pi.at(i).hint_string = C.GDExtensionStringPtr(pi.string(hintString))
}

func (pi *propertyInfos) setUsage(i int, usage uint32) { pi.at(i).usage = C.uint32_t(usage) }

func (pi *propertyInfos) stringName(s string) unsafe.Pointer {
	p := C.calloc(1, 8)
	cs := C.CString(s)
	C.gde_string_name_new(C.GDExtensionUninitializedStringNamePtr(p), cs, C.GDExtensionInt(len(s)))
	C.free(unsafe.Pointer(cs))
	pi.owned = append(pi.owned, p)
	pi.types = append(pi.types, TypeStringName)
	return p
}

func (pi *propertyInfos) string(s string) unsafe.Pointer {
	p := C.calloc(1, 8)
	cs := C.CString(s)
	C.gde_string_new_into(p, cs, C.int64_t(len(s)))
	C.free(unsafe.Pointer(cs))
	pi.owned = append(pi.owned, p)
	pi.types = append(pi.types, TypeString)
	return p
}

func (pi *propertyInfos) free() {
	for i, p := range pi.owned {
		C.gde_destroy(C.int(pi.types[i]), p)
		C.free(p)
	}
	C.free(unsafe.Pointer(pi.arr))
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// --- instances ---

func newInstance(c *Class) (Object, *instance) {
	obj := Object(C.gde_construct(c.parent.ptr()))
	in := &instance{cls: c, obj: obj}
	in.self = c.New(obj)
	h := cgo.NewHandle(in)
	C.gde_object_set_instance(C.GDExtensionObjectPtr(obj), c.name.ptr(), C.uintptr_t(h))
	return obj, in
}

//export goCreateInstance
func goCreateInstance(classIndex C.uintptr_t, notify C.GDExtensionBool) (obj C.GDExtensionObjectPtr) {
	defer recoverTo("create_instance")
	o, _ := newInstance(classes[classIndex-1])
	if notify != 0 {
		C.gde_notify(C.GDExtensionObjectPtr(o), notifyPostinitial)
	}
	return C.GDExtensionObjectPtr(o)
}

//export goFreeInstance
func goFreeInstance(classIndex C.uintptr_t, handle C.uintptr_t) {
	defer recoverTo("free_instance")
	h := cgo.Handle(handle)
	in := h.Value().(*instance)
	h.Delete()
	if in.cls.Free != nil {
		in.cls.Free(in.self)
	}
}

// Instantiate creates an engine object of extension class c from Go and
// returns it holding one reference owned by the caller (release it with
// Unref). c must derive from RefCounted.
func Instantiate(c *Class) (Object, any) {
	obj, in := newInstance(c)
	C.gde_notify(C.GDExtensionObjectPtr(obj), notifyPostinitial)
	C.gde_ref_call(C.GDExtensionObjectPtr(obj), 0) // init_ref: our reference
	return obj, in.self
}

// Ref takes a reference on a RefCounted engine object.
func Ref(obj Object) {
	if obj != nil {
		C.gde_ref_call(C.GDExtensionObjectPtr(obj), 1)
	}
}

// Unref drops a reference taken by Ref or Instantiate, destroying the object
// when it was the last one.
func Unref(obj Object) {
	if obj != nil && C.gde_ref_call(C.GDExtensionObjectPtr(obj), 2) != 0 {
		C.gde_object_destroy(C.GDExtensionObjectPtr(obj))
	}
}

// --- calls ---

//export goMethodCall
func goMethodCall(index C.uintptr_t, handle C.uintptr_t, args, ret unsafe.Pointer) {
	m := methods[index]
	defer recoverTo(m.Name)
	in := cgo.Handle(handle).Value().(*instance)
	m.Call(in.self, Call{args, ret})
}

//export goGetVirtual
func goGetVirtual(classIndex C.uintptr_t, nameData C.uintptr_t) C.uintptr_t {
	for _, v := range classes[classIndex-1].virtuals {
		if v.nameData == uintptr(nameData) {
			return C.uintptr_t(v.index)
		}
	}
	return 0
}

//export goCallVirtual
func goCallVirtual(handle C.uintptr_t, index C.uintptr_t, args, ret unsafe.Pointer) {
	v := virtuals[index-1]
	defer recoverTo(v.Name)
	in := cgo.Handle(handle).Value().(*instance)
	v.Call(in.self, Call{args, ret})
}

// Call gives a method its arguments and return slot in ptrcall convention
// (variant calls are converted to it in C before Go sees them).
type Call struct {
	args unsafe.Pointer // const void *const *
	ret  unsafe.Pointer
}

// Arg returns the native pointer of argument i.
func (c Call) Arg(i int) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(c.args, i*int(unsafe.Sizeof(uintptr(0)))))
}

func (c Call) Int(i int) int64     { return *(*int64)(c.Arg(i)) }
func (c Call) Float(i int) float64 { return *(*float64)(c.Arg(i)) }
func (c Call) Bool(i int) bool     { return *(*uint8)(c.Arg(i)) != 0 }

// Object returns an object argument (nil when null).
func (c Call) Object(i int) Object { return Object(*(*unsafe.Pointer)(c.Arg(i))) }

// Pointer returns the raw pointer stored in argument i (virtuals with
// pointer arguments such as _get_packet's `const uint8_t **`).
func (c Call) Pointer(i int) unsafe.Pointer { return *(*unsafe.Pointer)(c.Arg(i)) }

func (c Call) String(i int) string { return goString(c.Arg(i)) }

// Bytes returns a view of a PackedByteArray argument, valid only during the call.
func (c Call) Bytes(i int) []byte {
	b := C.gde_pba_view(c.Arg(i))
	if b.n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(b.p)), int(b.n))
}

// Strings copies a PackedStringArray argument.
func (c Call) Strings(i int) []string {
	arr := c.Arg(i)
	n := int(C.gde_psa_size(arr))
	out := make([]string, n)
	for k := range out {
		out[k] = goString(C.gde_psa_at(arr, C.int64_t(k)))
	}
	return out
}

func (c Call) ReturnInt(v int64)     { *(*int64)(c.ret) = v }
func (c Call) ReturnFloat(v float64) { *(*float64)(c.ret) = v }
func (c Call) ReturnBool(v bool) {
	if v {
		*(*uint8)(c.ret) = 1
	} else {
		*(*uint8)(c.ret) = 0
	}
}

func (c Call) ReturnString(s string) {
	C.gde_string_assign(c.ret, cstr(s), C.int64_t(len(s)))
}

func (c Call) ReturnBytes(b []byte) {
	var p *C.uint8_t
	if len(b) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	C.gde_pba_set(c.ret, p, C.int64_t(len(b)))
}

func (c Call) ReturnInt32s(v []int32) {
	var p *C.int32_t
	if len(v) > 0 {
		p = (*C.int32_t)(unsafe.Pointer(&v[0]))
	}
	C.gde_pia_set(c.ret, p, C.int64_t(len(v)))
}

func (c Call) ReturnStrings(v []string) {
	C.gde_psa_resize(c.ret, C.int64_t(len(v)))
	for i, s := range v {
		C.gde_psa_set(c.ret, C.int64_t(i), cstr(s), C.int64_t(len(s)))
	}
}

// ReturnObject returns a RefCounted object (nil for null).
func (c Call) ReturnObject(obj Object) {
	C.gde_ref_set(C.GDExtensionRefPtr(c.ret), C.GDExtensionObjectPtr(obj))
}

// ReturnDictionary copies d into the return slot (d stays the caller's).
func (c Call) ReturnDictionary(d Dictionary) { C.gde_dict_assign(c.ret, d.p) }

// cstr points at a Go string's bytes for a C call that copies them (the bytes
// hold no Go pointers, so this is allowed by the cgo rules).
func cstr(s string) *C.char {
	if len(s) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

func goString(str unsafe.Pointer) string {
	var buf [128]byte
	n := C.gde_string_utf8(str, (*C.char)(unsafe.Pointer(&buf[0])), C.int64_t(len(buf)))
	if int(n) <= len(buf) {
		return string(buf[:n])
	}
	big := make([]byte, n)
	C.gde_string_utf8(str, (*C.char)(unsafe.Pointer(&big[0])), n)
	return string(big)
}

// --- Dictionary ---

// Dictionary is an engine Dictionary in C memory. Free it when done.
type Dictionary struct{ p unsafe.Pointer }

func NewDictionary() Dictionary {
	p := C.calloc(1, 8)
	C.gde_construct_default(C.int(TypeDictionary), p)
	return Dictionary{p}
}

func (d Dictionary) Free() {
	C.gde_destroy(C.int(TypeDictionary), d.p)
	C.free(d.p)
}

func (d Dictionary) set(key string, t VariantType, v unsafe.Pointer) {
	C.gde_dict_set(d.p, cstr(key), C.int64_t(len(key)), C.int(t), v)
}

func (d Dictionary) SetInt(key string, v int64) {
	p := (*int64)(C.malloc(8))
	*p = v
	d.set(key, TypeInt, unsafe.Pointer(p))
	C.free(unsafe.Pointer(p))
}

func (d Dictionary) SetFloat(key string, v float64) {
	p := (*float64)(C.malloc(8))
	*p = v
	d.set(key, TypeFloat, unsafe.Pointer(p))
	C.free(unsafe.Pointer(p))
}

func (d Dictionary) SetString(key, v string) {
	p := C.calloc(1, 8)
	C.gde_string_new_into(p, cstr(v), C.int64_t(len(v)))
	d.set(key, TypeString, p)
	C.gde_destroy(C.int(TypeString), p)
	C.free(p)
}

func (d Dictionary) SetDictionary(key string, v Dictionary) { d.set(key, TypeDictionary, v.p) }

// --- Array ---

// ArrayBuilder collects the values of an engine Array (ints, bools,
// PackedByteArrays and nested Arrays) in C memory, then builds the Array in
// one call into the engine (Return): one cgo call for the whole Array, not
// one per element. Its memory is kept for the next Array; Free releases it.
// Not safe for concurrent use.
//
//	b.Begin() // a nested Array: [7, PackedByteArray("hi"), true]
//	b.Int(7)
//	b.Bytes([]byte("hi"))
//	b.Bool(true)
//	b.End()
//	b.Return(c) // c's method returns [[7, ..., true]]
type ArrayBuilder struct {
	vals       *C.gde_val_t // C array of capVals
	n, capVals int
	data       unsafe.Pointer // C block of capData bytes, used up to used
	used, cap  int
	top        int64 // values at the outermost level
	open       []int // indexes in vals of the Begin values not yet ended
}

// arrayKeep is the data block an ArrayBuilder keeps between Arrays; a larger
// one (an Array of large packets) is freed after its Return.
const arrayKeep = 1 << 20

func (b *ArrayBuilder) val(t VariantType) *C.gde_val_t {
	if b.n == b.capVals {
		b.capVals = max(2*b.capVals, 64)
		b.vals = (*C.gde_val_t)(C.realloc(unsafe.Pointer(b.vals), C.size_t(b.capVals)*C.sizeof_gde_val_t))
		if b.vals == nil {
			panic("out of memory")
		}
	}
	v := (*C.gde_val_t)(unsafe.Add(unsafe.Pointer(b.vals), b.n*C.sizeof_gde_val_t))
	b.n++
	if k := len(b.open); k > 0 {
		(*C.gde_val_t)(unsafe.Add(unsafe.Pointer(b.vals), b.open[k-1]*C.sizeof_gde_val_t)).a++
	} else {
		b.top++
	}
	v._type, v.a, v.b = C.int32_t(t), 0, 0
	return v
}

// Int adds an int.
func (b *ArrayBuilder) Int(x int64) { b.val(TypeInt).a = C.int64_t(x) }

// Bool adds a bool.
func (b *ArrayBuilder) Bool(x bool) {
	if x {
		b.val(TypeBool).a = 1
	} else {
		b.val(TypeBool)
	}
}

// Bytes adds a PackedByteArray holding a copy of p.
func (b *ArrayBuilder) Bytes(p []byte) {
	if b.used+len(p) > b.cap {
		b.cap = max(2*b.cap, b.used+len(p), 4096)
		b.data = C.realloc(b.data, C.size_t(b.cap))
		if b.data == nil {
			panic("out of memory")
		}
	}
	copy(unsafe.Slice((*byte)(unsafe.Add(b.data, b.used)), len(p)), p)
	v := b.val(TypePackedByteArray)
	v.a, v.b = C.int64_t(b.used), C.int64_t(len(p))
	b.used += len(p)
}

// Begin starts a nested Array: the values added until its End are its elements.
func (b *ArrayBuilder) Begin() {
	b.val(TypeArray)
	b.open = append(b.open, b.n-1)
}

// End ends the innermost nested Array.
func (b *ArrayBuilder) End() {
	if len(b.open) == 0 {
		panic("ArrayBuilder.End without Begin")
	}
	b.open = b.open[:len(b.open)-1]
}

// Reset drops what was added since the last Return.
func (b *ArrayBuilder) Reset() { b.n, b.used, b.top, b.open = 0, 0, 0, b.open[:0] }

// Len is the number of values at the outermost level so far.
func (b *ArrayBuilder) Len() int { return int(b.top) }

// Return makes the method's return value (an Array) hold the values added
// since the last Return, and starts a new Array.
func (b *ArrayBuilder) Return(c Call) {
	if len(b.open) != 0 {
		panic("ArrayBuilder.Return inside a nested Array (Begin without End)")
	}
	C.gde_array_fill(c.ret, b.vals, C.int64_t(b.top), (*C.uint8_t)(b.data))
	b.Reset()
	if b.cap > arrayKeep {
		C.free(b.data)
		b.data, b.cap = nil, 0
	}
}

// Free releases the builder's C memory (it stays usable).
func (b *ArrayBuilder) Free() {
	C.free(unsafe.Pointer(b.vals))
	C.free(b.data)
	*b = ArrayBuilder{}
}

// --- signals ---

// HasConnections reports whether anything is connected to signal on obj;
// emitting to nobody can then be skipped.
func HasConnections(obj Object, signal StringName) bool {
	return C.gde_has_connections(C.GDExtensionObjectPtr(obj), signal.p) != 0
}

// Emit emits signal on obj: one of the class's own signals or one its
// engine parent defines (e.g. MultiplayerPeer's peer_connected). Arguments
// are given as for MethodBind.Call.
func Emit(obj Object, signal StringName, args ...any) {
	a := packArgs(args)
	C.gde_emit(C.GDExtensionObjectPtr(obj), signal.p, C.int(len(args)), a.types(), a.ptrs())
	a.free()
}

// args holds call arguments as native values in C memory (cgo pointer
// rules): a slot of 8 bytes per argument plus one for a return value, the
// pointer array and the type array.
type args struct {
	block unsafe.Pointer
	n     int
	strs  []unsafe.Pointer // Strings to destroy
}

// packArgs converts int, int32, int64 (int), float64 (float), bool, string
// (String), Object and Dictionary arguments to natives.
func packArgs(vals []any) args {
	n := len(vals)
	if n > C.GDE_MAX_ARGS {
		panic("too many arguments")
	}
	a := args{block: C.calloc(C.size_t(n+1), 8+8+4), n: n}
	for i, v := range vals {
		slot := a.slot(i)
		ptr := slot
		var t VariantType
		switch v := v.(type) {
		case int:
			t, *(*int64)(slot) = TypeInt, int64(v)
		case int32:
			t, *(*int64)(slot) = TypeInt, int64(v)
		case int64:
			t, *(*int64)(slot) = TypeInt, v
		case float64:
			t, *(*float64)(slot) = TypeFloat, v
		case bool:
			t = TypeBool
			if v {
				*(*uint8)(slot) = 1
			}
		case string:
			t = TypeString
			C.gde_string_new_into(slot, cstr(v), C.int64_t(len(v)))
			a.strs = append(a.strs, slot)
		case Object:
			t, *(*unsafe.Pointer)(slot) = TypeObject, unsafe.Pointer(v)
		case Dictionary:
			t, ptr = TypeDictionary, v.p // the caller's, in C memory; it frees it
		default:
			panic(fmt.Sprintf("unsupported argument type %T", v))
		}
		*(*C.int)(unsafe.Add(a.block, (n+1)*16+i*4)) = C.int(t)
		*(*unsafe.Pointer)(unsafe.Add(a.block, (n+1)*8+i*8)) = ptr
	}
	return a
}

// slot is argument i's native storage; slot(n) is the return value's.
func (a args) slot(i int) unsafe.Pointer { return unsafe.Add(a.block, i*8) }
func (a args) ptrs() *unsafe.Pointer     { return (*unsafe.Pointer)(unsafe.Add(a.block, (a.n+1)*8)) }
func (a args) types() *C.int             { return (*C.int)(unsafe.Add(a.block, (a.n+1)*16)) }

func (a args) free() {
	for _, s := range a.strs {
		C.gde_destroy(C.int(TypeString), s)
	}
	C.free(a.block)
}

// --- calling engine methods ---

// MethodBind is a cached engine method (look it up once, call it often).
type MethodBind struct{ p C.GDExtensionMethodBindPtr }

// GetMethodBind looks up an engine method by class, name and hash (the hash
// of the method's signature in extension_api.json). Check Valid: a wrong
// hash or an engine without the method gives an invalid bind.
func GetMethodBind(class, method string, hash int64) MethodBind {
	return MethodBind{C.gde_method_bind(Name(class).ptr(), Name(method).ptr(), C.GDExtensionInt(hash))}
}

// Valid reports whether the method was found.
func (m MethodBind) Valid() bool { return m.p != nil }

// ptrcall calls the method with args converted by packArgs; ret is called
// with the native return storage (8 zeroed bytes) before it is freed.
func (m MethodBind) ptrcall(obj Object, vals []any, ret func(p unsafe.Pointer)) {
	if m.p == nil {
		panic("call of an invalid MethodBind")
	}
	a := packArgs(vals)
	r := a.slot(a.n)
	C.gde_ptrcall(m.p, C.GDExtensionObjectPtr(obj), a.ptrs(), r)
	if ret != nil {
		ret(r)
	}
	a.free()
}

// Call calls the method on obj in ptrcall convention, ignoring any return
// value. Arguments are int, int32, int64 (for int), float64, bool, string
// (for String) and Object, in the method's order and types: the engine does
// not convert them.
func (m MethodBind) Call(obj Object, args ...any) { m.ptrcall(obj, args, nil) }

// CallInt calls a method returning int (or an enum).
func (m MethodBind) CallInt(obj Object, args ...any) (v int64) {
	m.ptrcall(obj, args, func(p unsafe.Pointer) { v = *(*int64)(p) })
	return v
}

// CallFloat calls a method returning float.
func (m MethodBind) CallFloat(obj Object, args ...any) (v float64) {
	m.ptrcall(obj, args, func(p unsafe.Pointer) { v = *(*float64)(p) })
	return v
}

// CallBool calls a method returning bool.
func (m MethodBind) CallBool(obj Object, args ...any) (v bool) {
	m.ptrcall(obj, args, func(p unsafe.Pointer) { v = *(*uint8)(p) != 0 })
	return v
}

// CallString calls a method returning String.
func (m MethodBind) CallString(obj Object, args ...any) (v string) {
	m.ptrcall(obj, args, func(p unsafe.Pointer) {
		v = goString(p)
		C.gde_destroy(C.int(TypeString), p)
	})
	return v
}

// CallObject calls a method returning an Object (nil for null). When the
// result is RefCounted the caller owns one reference: release it with Unref.
func (m MethodBind) CallObject(obj Object, args ...any) (v Object) {
	m.ptrcall(obj, args, func(p unsafe.Pointer) { v = Object(*(*unsafe.Pointer)(p)) })
	return v
}

// --- logging ---

// PushError prints an engine error (like GDScript's push_error) naming the
// Go function that called it.
func PushError(msg string) { report(msg, false) }

// PushWarning prints an engine warning.
func PushWarning(msg string) { report(msg, true) }

func report(msg string, warning bool) {
	fn, file, line := "?", "?", 0
	if pc, f, l, ok := runtime.Caller(2); ok {
		file, line = f, l
		if rf := runtime.FuncForPC(pc); rf != nil {
			fn = rf.Name()
			if i := strings.LastIndexByte(fn, '/'); i >= 0 {
				fn = fn[i+1:]
			}
		}
	}
	cm, cf, cfile := C.CString(msg), C.CString(fn), C.CString(file)
	if warning {
		C.gde_print_warning(cm, cf, cfile, C.int32_t(line))
	} else {
		C.gde_print_error(cm, cf, cfile, C.int32_t(line))
	}
	C.free(unsafe.Pointer(cm))
	C.free(unsafe.Pointer(cf))
	C.free(unsafe.Pointer(cfile))
}

// recoverTo keeps a Go panic from crossing into the engine: it is reported
// as an engine error and the call returns.
func recoverTo(where string) {
	if r := recover(); r != nil {
		buf := make([]byte, 4096)
		buf = buf[:runtime.Stack(buf, false)]
		msg := fmt.Sprintf("%s: panic in %s: %v\n%s", product, where, r, buf)
		if library != nil {
			report(msg, false)
		} else {
			fmt.Println(msg)
		}
	}
}

// --- C buffers handed to the engine ---

// CBuffer is a C-memory buffer reused for data the engine reads after a call
// returns (PacketPeerExtension._get_packet). Free it when its owner dies.
type CBuffer struct {
	p   unsafe.Pointer
	cap int
}

// Set copies b into the buffer (growing it) and returns its C address.
func (cb *CBuffer) Set(b []byte) unsafe.Pointer {
	if len(b) > cb.cap || cb.p == nil {
		n := max(len(b), 256)
		cb.p = C.realloc(cb.p, C.size_t(n))
		cb.cap = n
	}
	copy(unsafe.Slice((*byte)(cb.p), cb.cap), b)
	return cb.p
}

// Free releases the buffer.
func (cb *CBuffer) Free() {
	C.free(cb.p)
	cb.p, cb.cap = nil, 0
}
