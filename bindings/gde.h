// The GDExtension interface functions the library calls, loaded once by name
// (as godot-cpp's GDExtensionBinding::init does), and small C wrappers so Go
// can call them without going through godot-go's logging call wrappers.
#ifndef BINDINGS_GDE_H
#define BINDINGS_GDE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "include/gdextension_interface.h"

// Interface functions the library calls. The engine must provide every one:
// gde_load refuses to load otherwise. Add a function here only together with
// its first caller (TestRequiredFunctionsAreCalled checks that each is used).
#define GDE_REQUIRED(X) \
	X(PrintError, print_error) \
	X(VariantDestroy, variant_destroy) \
	X(VariantGetType, variant_get_type) \
	X(GetVariantFromTypeConstructor, get_variant_from_type_constructor) \
	X(VariantGetPtrBuiltinMethod, variant_get_ptr_builtin_method) \
	X(VariantGetPtrConstructor, variant_get_ptr_constructor) \
	X(VariantGetPtrDestructor, variant_get_ptr_destructor) \
	X(StringNewWithUtf8CharsAndLen2, string_new_with_utf8_chars_and_len2) \
	X(StringToUtf8Chars, string_to_utf8_chars) \
	X(StringNameNewWithUtf8CharsAndLen, string_name_new_with_utf8_chars_and_len) \
	X(PackedByteArrayOperatorIndex, packed_byte_array_operator_index) \
	X(PackedByteArrayOperatorIndexConst, packed_byte_array_operator_index_const) \
	X(PackedInt32ArrayOperatorIndex, packed_int32_array_operator_index) \
	X(PackedStringArrayOperatorIndex, packed_string_array_operator_index) \
	X(PackedStringArrayOperatorIndexConst, packed_string_array_operator_index_const) \
	X(DictionaryOperatorIndex, dictionary_operator_index) \
	X(ArrayOperatorIndex, array_operator_index) \
	X(ObjectMethodBindCall, object_method_bind_call) \
	X(ObjectMethodBindPtrcall, object_method_bind_ptrcall) \
	X(ObjectDestroy, object_destroy) \
	X(ObjectSetInstance, object_set_instance) \
	X(RefSetObject, ref_set_object) \
	X(ClassdbConstructObject2, classdb_construct_object2) \
	X(ClassdbGetMethodBind, classdb_get_method_bind) \
	X(ClassdbRegisterExtensionClass5, classdb_register_extension_class5) \
	X(ClassdbRegisterExtensionClassMethod, classdb_register_extension_class_method) \
	X(ClassdbRegisterExtensionClassIntegerConstant, classdb_register_extension_class_integer_constant) \
	X(ClassdbRegisterExtensionClassProperty, classdb_register_extension_class_property) \
	X(ClassdbRegisterExtensionClassSignal, classdb_register_extension_class_signal) \
	X(ClassdbUnregisterExtensionClass, classdb_unregister_extension_class)

// Interface functions the library can do without: an engine lacking one
// still loads us, and every caller checks for NULL first.
#define GDE_OPTIONAL(X) \
	X(PrintWarning, print_warning) \
	X(EditorHelpLoadXmlFromUtf8CharsAndLen, editor_help_load_xml_from_utf8_chars_and_len)

// The header spells this one type "GDExtensions..."; the X macros need the usual name.
typedef GDExtensionsInterfaceEditorHelpLoadXmlFromUtf8CharsAndLen GDExtensionInterfaceEditorHelpLoadXmlFromUtf8CharsAndLen;

#define GDE_FUNCS(X) GDE_REQUIRED(X) GDE_OPTIONAL(X)

typedef struct {
#define GDE_FIELD(T, n) GDExtensionInterface##T n;
	GDE_FUNCS(GDE_FIELD)
#undef GDE_FIELD
	GDExtensionClassLibraryPtr library;
} gde_iface_t;

extern gde_iface_t gde;

#define GDE_MAX_ARGS 8

// A registered method's signature, in C memory; its address is the
// method_userdata the engine hands back on every call.
typedef struct {
	uintptr_t index; // into the Go method table
	int argc;
	int required;
	int has_ret;
	int ret_type; // GDExtensionVariantType, NIL = returns a Variant
	int types[GDE_MAX_ARGS];
	void *defaults[GDE_MAX_ARGS]; // native values for the optional arguments
} gde_sig_t;

const char *gde_lookup_binds(void);
void gde_string_new_into(void *dst, const char *p, int64_t n);
void gde_string_assign(void *dst, const char *p, int64_t n);
int64_t gde_string_utf8(const void *s, char *buf, int64_t cap);
void gde_destroy(int type, void *p);
void gde_construct_default(int type, void *p);
typedef struct {
	const uint8_t *p;
	int64_t n;
} gde_bytes_t;
gde_bytes_t gde_pba_view(const void *arr);
void gde_pba_set(void *arr, const uint8_t *data, int64_t n);
void gde_pia_set(void *arr, const int32_t *data, int64_t n);
int64_t gde_psa_size(const void *arr);
void gde_psa_resize(void *arr, int64_t n);
void gde_psa_set(void *arr, int64_t i, const char *p, int64_t n);
const void *gde_psa_at(const void *arr, int64_t i);
void gde_dict_set(void *dict, const char *key, int64_t keylen, int type, void *value);
void gde_dict_assign(void *dst, const void *src);
// One value of an Array built by gde_array_fill: type is a
// GDExtensionVariantType. BOOL and INT: the value in a. PACKED_BYTE_ARRAY:
// bytes at offset a of the data block, b of them. ARRAY: a nested Array of
// the a values that follow (nested ones counting as one).
typedef struct {
	int32_t type;
	int64_t a, b;
} gde_val_t;
void gde_array_fill(void *arr, const gde_val_t *vals, int64_t count, const uint8_t *data);
GDExtensionBool gde_ref_call(GDExtensionObjectPtr obj, int which);
void gde_notify(GDExtensionObjectPtr obj, int64_t what);
GDExtensionBool gde_has_connections(GDExtensionObjectPtr obj, const void *signal);
void gde_emit(GDExtensionObjectPtr obj, const void *signal, int argc, const int *types, void *const *values);
void gde_ptrcall(GDExtensionMethodBindPtr m, GDExtensionObjectPtr obj, const void *const *args, void *ret);

// Fills `gde`. Returns NULL on success, or the name of the first required
// function the engine does not provide (nothing is registered then).
// Optional functions the engine lacks stay NULL.
const char *gde_load(GDExtensionInterfaceGetProcAddress gpa, GDExtensionClassLibraryPtr library);

// Fills the initialization struct with our C trampolines.
void gde_fill_init(GDExtensionInitialization *init);

// Callbacks for the class creation info and method info.
GDExtensionObjectPtr gde_create_instance(void *class_userdata, GDExtensionBool notify_postinitialize);
void gde_free_instance(void *class_userdata, GDExtensionClassInstancePtr instance);
void *gde_get_virtual_call_data(void *class_userdata, GDExtensionConstStringNamePtr name, uint32_t hash);
void gde_call_virtual_with_data(GDExtensionClassInstancePtr instance, GDExtensionConstStringNamePtr name, void *userdata, const GDExtensionConstTypePtr *args, GDExtensionTypePtr ret);
void gde_method_call(void *method_userdata, GDExtensionClassInstancePtr instance, const GDExtensionConstVariantPtr *args, GDExtensionInt argc, GDExtensionVariantPtr ret, GDExtensionCallError *err);
void gde_method_ptrcall(void *method_userdata, GDExtensionClassInstancePtr instance, const GDExtensionConstTypePtr *args, GDExtensionTypePtr ret);

// --- wrappers (cgo cannot call C function pointers) ---
static inline void gde_print_error(const char *d, const char *fn, const char *file, int32_t line) { gde.print_error(d, fn, file, line, 0); }
// Falls back to an error when the engine has no print_warning.
static inline void gde_print_warning(const char *d, const char *fn, const char *file, int32_t line) {
	if (gde.print_warning != NULL) {
		gde.print_warning(d, fn, file, line, 0);
	} else {
		gde.print_error(d, fn, file, line, 0);
	}
}

// Returns 0 when the engine has no editor help (before 4.3).
static inline int gde_editor_help_load(const char *p, int64_t n) {
	if (gde.editor_help_load_xml_from_utf8_chars_and_len == NULL) {
		return 0;
	}
	gde.editor_help_load_xml_from_utf8_chars_and_len(p, n);
	return 1;
}

static inline void gde_variant_destroy(GDExtensionVariantPtr v) { gde.variant_destroy(v); }

static inline void gde_string_name_new(GDExtensionUninitializedStringNamePtr s, const char *p, GDExtensionInt n) { gde.string_name_new_with_utf8_chars_and_len(s, p, n); }


static inline void gde_object_destroy(GDExtensionObjectPtr o) { gde.object_destroy(o); }
static inline void gde_object_set_instance(GDExtensionObjectPtr o, GDExtensionConstStringNamePtr c, uintptr_t i) { gde.object_set_instance(o, c, (GDExtensionClassInstancePtr)i); }
static inline void gde_ref_set(GDExtensionRefPtr r, GDExtensionObjectPtr o) { gde.ref_set_object(r, o); }
static inline GDExtensionObjectPtr gde_construct(GDExtensionConstStringNamePtr c) { return gde.classdb_construct_object2(c); }
static inline GDExtensionMethodBindPtr gde_method_bind(GDExtensionConstStringNamePtr c, GDExtensionConstStringNamePtr m, GDExtensionInt h) { return gde.classdb_get_method_bind(c, m, h); }

static inline GDExtensionVariantFromTypeConstructorFunc gde_from_type(int t) { return gde.get_variant_from_type_constructor((GDExtensionVariantType)t); }
static inline void gde_call_from_type(GDExtensionVariantFromTypeConstructorFunc f, GDExtensionUninitializedVariantPtr v, GDExtensionTypePtr p) { f(v, p); }

void gde_register_class(GDExtensionConstStringNamePtr name, GDExtensionConstStringNamePtr parent, uintptr_t class_userdata, int has_virtuals);
static inline void gde_register_method(GDExtensionConstStringNamePtr c, const GDExtensionClassMethodInfo *m) { gde.classdb_register_extension_class_method(gde.library, c, m); }
static inline void gde_register_constant(GDExtensionConstStringNamePtr c, GDExtensionConstStringNamePtr e, GDExtensionConstStringNamePtr n, GDExtensionInt v) { gde.classdb_register_extension_class_integer_constant(gde.library, c, e, n, v, 0); }
static inline void gde_register_property(GDExtensionConstStringNamePtr c, const GDExtensionPropertyInfo *p, GDExtensionConstStringNamePtr s, GDExtensionConstStringNamePtr g) { gde.classdb_register_extension_class_property(gde.library, c, p, s, g); }
static inline void gde_register_signal(GDExtensionConstStringNamePtr c, GDExtensionConstStringNamePtr s, const GDExtensionPropertyInfo *a, GDExtensionInt n) { gde.classdb_register_extension_class_signal(gde.library, c, s, a, n); }
static inline void gde_unregister_class(GDExtensionConstStringNamePtr c) { gde.classdb_unregister_extension_class(gde.library, c); }

#endif
