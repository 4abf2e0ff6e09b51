// C side of the bindings: interface loading, the callbacks the engine calls
// (each a trampoline into one exported Go function), and the call-mode
// adapter that turns a Variant call into the ptrcall convention so Go has one
// code path per method.
#include "gde.h"
#include "_cgo_export.h"

gde_iface_t gde;

static GDExtensionVariantGetInternalPtrFunc internal_getter[GDEXTENSION_VARIANT_TYPE_VARIANT_MAX];
static GDExtensionVariantFromTypeConstructorFunc from_type[GDEXTENSION_VARIANT_TYPE_VARIANT_MAX];
static GDExtensionPtrConstructor default_ctor[GDEXTENSION_VARIANT_TYPE_VARIANT_MAX];
static GDExtensionPtrDestructor dtor[GDEXTENSION_VARIANT_TYPE_VARIANT_MAX];

const char *gde_load(GDExtensionInterfaceGetProcAddress gpa, GDExtensionClassLibraryPtr library) {
	memset(&gde, 0, sizeof(gde));
#define GDE_LOAD_REQUIRED(T, n)              \
	gde.n = (GDExtensionInterface##T)gpa(#n); \
	if (gde.n == NULL) {                      \
		return #n;                            \
	}
#define GDE_LOAD_OPTIONAL(T, n) gde.n = (GDExtensionInterface##T)gpa(#n);
	GDE_REQUIRED(GDE_LOAD_REQUIRED)
	GDE_OPTIONAL(GDE_LOAD_OPTIONAL)
#undef GDE_LOAD_REQUIRED
#undef GDE_LOAD_OPTIONAL
	GDExtensionInterfaceGetVariantGetInternalPtrFunc getter =
			(GDExtensionInterfaceGetVariantGetInternalPtrFunc)gpa("variant_get_ptr_internal_getter");
	if (getter == NULL) {
		return "variant_get_ptr_internal_getter";
	}
	for (int t = 1; t < GDEXTENSION_VARIANT_TYPE_VARIANT_MAX; t++) {
		internal_getter[t] = getter((GDExtensionVariantType)t);
		from_type[t] = gde.get_variant_from_type_constructor((GDExtensionVariantType)t);
		default_ctor[t] = gde.variant_get_ptr_constructor((GDExtensionVariantType)t, 0);
		dtor[t] = gde.variant_get_ptr_destructor((GDExtensionVariantType)t);
	}
	gde.library = library;
	return NULL;
}

static void gde_initialize(void *userdata, GDExtensionInitializationLevel level) {
	goInitialize((int)level);
}

static void gde_deinitialize(void *userdata, GDExtensionInitializationLevel level) {
	goDeinitialize((int)level);
}

void gde_fill_init(GDExtensionInitialization *init) {
	init->minimum_initialization_level = GDEXTENSION_INITIALIZATION_SCENE;
	init->userdata = NULL;
	init->initialize = gde_initialize;
	init->deinitialize = gde_deinitialize;
}

GDExtensionObjectPtr gde_create_instance(void *class_userdata, GDExtensionBool notify_postinitialize) {
	return goCreateInstance((uintptr_t)class_userdata, notify_postinitialize);
}

void gde_free_instance(void *class_userdata, GDExtensionClassInstancePtr instance) {
	goFreeInstance((uintptr_t)class_userdata, (uintptr_t)instance);
}

void *gde_get_virtual_call_data(void *class_userdata, GDExtensionConstStringNamePtr name, uint32_t hash) {
	return (void *)goGetVirtual((uintptr_t)class_userdata, *(const uintptr_t *)name);
}

void gde_call_virtual_with_data(GDExtensionClassInstancePtr instance, GDExtensionConstStringNamePtr name, void *userdata, const GDExtensionConstTypePtr *args, GDExtensionTypePtr ret) {
	goCallVirtual((uintptr_t)instance, (uintptr_t)userdata, (void *)args, ret);
}

void gde_register_class(GDExtensionConstStringNamePtr name, GDExtensionConstStringNamePtr parent, uintptr_t class_userdata, int has_virtuals) {
	GDExtensionClassCreationInfo5 info;
	memset(&info, 0, sizeof(info));
	info.is_exposed = 1;
	info.create_instance_func = gde_create_instance;
	info.free_instance_func = gde_free_instance;
	if (has_virtuals) {
		info.get_virtual_call_data_func = gde_get_virtual_call_data;
		info.call_virtual_with_data_func = gde_call_virtual_with_data;
	}
	info.class_userdata = (void *)class_userdata;
	gde.classdb_register_extension_class5(gde.library, name, parent, &info);
}

// --- methods ---

void gde_method_ptrcall(void *method_userdata, GDExtensionClassInstancePtr instance, const GDExtensionConstTypePtr *args, GDExtensionTypePtr ret) {
	gde_sig_t *sig = (gde_sig_t *)method_userdata;
	goMethodCall(sig->index, (uintptr_t)instance, (void *)args, ret);
}

// Variant call: check and convert the arguments, fill in defaults, call the
// method in ptrcall convention, and wrap the native return value.
void gde_method_call(void *method_userdata, GDExtensionClassInstancePtr instance, const GDExtensionConstVariantPtr *args, GDExtensionInt argc, GDExtensionVariantPtr r_return, GDExtensionCallError *err) {
	gde_sig_t *sig = (gde_sig_t *)method_userdata;
	if (argc > sig->argc) {
		err->error = GDEXTENSION_CALL_ERROR_TOO_MANY_ARGUMENTS;
		err->expected = sig->argc;
		return;
	}
	if (argc < sig->required) {
		err->error = GDEXTENSION_CALL_ERROR_TOO_FEW_ARGUMENTS;
		err->expected = sig->required;
		return;
	}
	const void *pargs[GDE_MAX_ARGS];
	union {
		int64_t i;
		double f;
		void *p;
	} conv[GDE_MAX_ARGS];
	for (int i = 0; i < sig->argc; i++) {
		if (i >= argc) {
			pargs[i] = sig->defaults[i];
			continue;
		}
		GDExtensionVariantPtr v = (GDExtensionVariantPtr)args[i];
		int have = (int)gde.variant_get_type(v);
		int want = sig->types[i];
		if (have == want) {
			pargs[i] = internal_getter[have](v);
		} else if (want == GDEXTENSION_VARIANT_TYPE_FLOAT && have == GDEXTENSION_VARIANT_TYPE_INT) {
			conv[i].f = (double)*(int64_t *)internal_getter[have](v);
			pargs[i] = &conv[i];
		} else if (want == GDEXTENSION_VARIANT_TYPE_INT && have == GDEXTENSION_VARIANT_TYPE_FLOAT) {
			conv[i].i = (int64_t)*(double *)internal_getter[have](v);
			pargs[i] = &conv[i];
		} else if (want == GDEXTENSION_VARIANT_TYPE_BOOL && have == GDEXTENSION_VARIANT_TYPE_INT) {
			conv[i].i = 0;
			*(uint8_t *)&conv[i] = *(int64_t *)internal_getter[have](v) != 0;
			pargs[i] = &conv[i];
		} else if (want == GDEXTENSION_VARIANT_TYPE_OBJECT && have == GDEXTENSION_VARIANT_TYPE_NIL) {
			conv[i].p = NULL;
			pargs[i] = &conv[i];
		} else {
			err->error = GDEXTENSION_CALL_ERROR_INVALID_ARGUMENT;
			err->argument = i;
			err->expected = want;
			return;
		}
	}
	if (!sig->has_ret) {
		goMethodCall(sig->index, (uintptr_t)instance, (void *)pargs, NULL);
		return;
	}
	// Native return storage: 16 bytes covers every type we return.
	union {
		uint8_t b[16];
		int64_t i;
		double f;
		void *p;
	} rbuf;
	memset(&rbuf, 0, sizeof(rbuf));
	int rt = sig->ret_type;
	if (rt == GDEXTENSION_VARIANT_TYPE_NIL) {
		// Returns a Variant: the method writes it directly.
		goMethodCall(sig->index, (uintptr_t)instance, (void *)pargs, r_return);
		return;
	}
	if (dtor[rt] != NULL) {
		default_ctor[rt](&rbuf, NULL);
	}
	goMethodCall(sig->index, (uintptr_t)instance, (void *)pargs, &rbuf);
	from_type[rt](r_return, &rbuf);
	if (rt == GDEXTENSION_VARIANT_TYPE_OBJECT) {
		if (rbuf.p != NULL) {
			gde.ref_set_object(&rbuf, NULL); // drop the reference the Ref return took
		}
	} else if (dtor[rt] != NULL) {
		dtor[rt](&rbuf);
	}
}

// --- builtin value helpers ---

static GDExtensionPtrBuiltInMethod pba_size, pba_resize, psa_size, psa_resize, pia_resize, array_resize;
static GDExtensionMethodBindPtr mb_emit_signal, mb_has_connections, mb_reference, mb_unreference, mb_init_ref, mb_notification;

static GDExtensionPtrBuiltInMethod builtin(int type, const char *name, int64_t hash) {
	uint8_t sn[8] = {0};
	gde.string_name_new_with_utf8_chars_and_len(&sn, name, (GDExtensionInt)strlen(name));
	GDExtensionPtrBuiltInMethod m = gde.variant_get_ptr_builtin_method((GDExtensionVariantType)type, &sn, hash);
	dtor[GDEXTENSION_VARIANT_TYPE_STRING_NAME](&sn);
	return m;
}

static GDExtensionMethodBindPtr bind(const char *cls, const char *name, int64_t hash) {
	uint8_t c[8] = {0}, n[8] = {0};
	gde.string_name_new_with_utf8_chars_and_len(&c, cls, (GDExtensionInt)strlen(cls));
	gde.string_name_new_with_utf8_chars_and_len(&n, name, (GDExtensionInt)strlen(name));
	GDExtensionMethodBindPtr m = gde.classdb_get_method_bind(&c, &n, hash);
	dtor[GDEXTENSION_VARIANT_TYPE_STRING_NAME](&c);
	dtor[GDEXTENSION_VARIANT_TYPE_STRING_NAME](&n);
	return m;
}

// Looks up the builtin methods and method binds we call. Returns the name of
// the first one missing, or NULL.
const char *gde_lookup_binds(void) {
	if (!(pba_size = builtin(GDEXTENSION_VARIANT_TYPE_PACKED_BYTE_ARRAY, "size", 3173160232))) return "PackedByteArray.size";
	if (!(pba_resize = builtin(GDEXTENSION_VARIANT_TYPE_PACKED_BYTE_ARRAY, "resize", 848867239))) return "PackedByteArray.resize";
	if (!(psa_size = builtin(GDEXTENSION_VARIANT_TYPE_PACKED_STRING_ARRAY, "size", 3173160232))) return "PackedStringArray.size";
	if (!(psa_resize = builtin(GDEXTENSION_VARIANT_TYPE_PACKED_STRING_ARRAY, "resize", 848867239))) return "PackedStringArray.resize";
	if (!(array_resize = builtin(GDEXTENSION_VARIANT_TYPE_ARRAY, "resize", 848867239))) return "Array.resize";
	if (!(pia_resize = builtin(GDEXTENSION_VARIANT_TYPE_PACKED_INT32_ARRAY, "resize", 848867239))) return "PackedInt32Array.resize";
	if (!(mb_emit_signal = bind("Object", "emit_signal", 4047867050))) return "Object.emit_signal";
	if (!(mb_has_connections = bind("Object", "has_connections", 2619796661))) return "Object.has_connections";
	if (!(mb_notification = bind("Object", "notification", 4023243586))) return "Object.notification";
	if (!(mb_init_ref = bind("RefCounted", "init_ref", 2240911060))) return "RefCounted.init_ref";
	if (!(mb_reference = bind("RefCounted", "reference", 2240911060))) return "RefCounted.reference";
	if (!(mb_unreference = bind("RefCounted", "unreference", 2240911060))) return "RefCounted.unreference";
	return NULL;
}

void gde_string_new_into(void *dst, const char *p, int64_t n) {
	gde.string_new_with_utf8_chars_and_len2(dst, p, n);
}

void gde_string_assign(void *dst, const char *p, int64_t n) {
	dtor[GDEXTENSION_VARIANT_TYPE_STRING](dst);
	gde.string_new_with_utf8_chars_and_len2(dst, p, n);
}

// Writes up to cap bytes of the String's UTF-8 into buf and returns the full length.
int64_t gde_string_utf8(const void *s, char *buf, int64_t cap) {
	int64_t n = gde.string_to_utf8_chars(s, NULL, 0);
	if (n <= cap) {
		gde.string_to_utf8_chars(s, buf, n);
	}
	return n;
}

void gde_destroy(int type, void *p) {
	dtor[type](p);
}

void gde_construct_default(int type, void *p) {
	default_ctor[type](p, NULL);
}

gde_bytes_t gde_pba_view(const void *arr) {
	gde_bytes_t b = { NULL, 0 };
	pba_size((void *)arr, NULL, &b.n, 0);
	if (b.n > 0) {
		b.p = gde.packed_byte_array_operator_index_const(arr, 0);
	}
	return b;
}

void gde_pba_set(void *arr, const uint8_t *data, int64_t n) {
	int64_t err = 0;
	const void *a[1] = { &n };
	pba_resize(arr, a, &err, 1);
	if (n > 0) {
		memcpy(gde.packed_byte_array_operator_index(arr, 0), data, (size_t)n);
	}
}

void gde_pia_set(void *arr, const int32_t *data, int64_t n) {
	int64_t err = 0;
	const void *a[1] = { &n };
	pia_resize(arr, a, &err, 1);
	if (n > 0) {
		memcpy(gde.packed_int32_array_operator_index(arr, 0), data, (size_t)n * 4);
	}
}

int64_t gde_psa_size(const void *arr) {
	int64_t n = 0;
	psa_size((void *)arr, NULL, &n, 0);
	return n;
}

void gde_psa_resize(void *arr, int64_t n) {
	int64_t err = 0;
	const void *a[1] = { &n };
	psa_resize(arr, a, &err, 1);
}

void gde_psa_set(void *arr, int64_t i, const char *p, int64_t n) {
	gde_string_assign(gde.packed_string_array_operator_index(arr, i), p, n);
}

const void *gde_psa_at(const void *arr, int64_t i) {
	return gde.packed_string_array_operator_index_const(arr, i);
}

// Dictionary[key] = value, key a String, value given as native of `type`.
void gde_dict_set(void *dict, const char *key, int64_t keylen, int type, void *value) {
	uint8_t k[8] = {0};
	uint8_t kv[24];
	gde.string_new_with_utf8_chars_and_len2(&k, key, keylen);
	from_type[GDEXTENSION_VARIANT_TYPE_STRING](&kv, &k);
	dtor[GDEXTENSION_VARIANT_TYPE_STRING](&k);
	GDExtensionVariantPtr slot = gde.dictionary_operator_index(dict, &kv);
	gde.variant_destroy(&kv);
	gde.variant_destroy(slot);
	from_type[type](slot, value);
}

void gde_dict_assign(void *dst, const void *src) {
	dtor[GDEXTENSION_VARIANT_TYPE_DICTIONARY](dst);
	GDExtensionPtrConstructor copy = gde.variant_get_ptr_constructor(GDEXTENSION_VARIANT_TYPE_DICTIONARY, 1);
	const void *a[1] = { src };
	copy(dst, a);
}

// Makes arr (an Array) hold the `count` values vals describes, nested
// Arrays included; returns the first value after them.
static const gde_val_t *array_fill(void *arr, const gde_val_t *v, int64_t count, const uint8_t *data) {
	int64_t err = 0;
	const void *a[1] = { &count };
	array_resize(arr, a, &err, 1);
	for (int64_t i = 0; i < count; i++) {
		GDExtensionVariantPtr slot = gde.array_operator_index(arr, i);
		if (v->type == GDEXTENSION_VARIANT_TYPE_BOOL || v->type == GDEXTENSION_VARIANT_TYPE_INT ||
				v->type == GDEXTENSION_VARIANT_TYPE_PACKED_BYTE_ARRAY || v->type == GDEXTENSION_VARIANT_TYPE_ARRAY) {
			gde.variant_destroy(slot); // what it held before (NIL after a resize)
		}
		switch (v->type) {
			case GDEXTENSION_VARIANT_TYPE_BOOL: {
				uint8_t b = v->a != 0;
				from_type[GDEXTENSION_VARIANT_TYPE_BOOL](slot, &b);
				v++;
				break;
			}
			case GDEXTENSION_VARIANT_TYPE_INT: {
				int64_t n = v->a;
				from_type[GDEXTENSION_VARIANT_TYPE_INT](slot, &n);
				v++;
				break;
			}
			case GDEXTENSION_VARIANT_TYPE_PACKED_BYTE_ARRAY: {
				uint8_t pba[16] = { 0 };
				default_ctor[GDEXTENSION_VARIANT_TYPE_PACKED_BYTE_ARRAY](pba, NULL);
				gde_pba_set(pba, data + v->a, v->b);
				from_type[GDEXTENSION_VARIANT_TYPE_PACKED_BYTE_ARRAY](slot, pba);
				dtor[GDEXTENSION_VARIANT_TYPE_PACKED_BYTE_ARRAY](pba);
				v++;
				break;
			}
			case GDEXTENSION_VARIANT_TYPE_ARRAY: {
				uint8_t sub[8] = { 0 };
				default_ctor[GDEXTENSION_VARIANT_TYPE_ARRAY](sub, NULL);
				v = array_fill(sub, v + 1, v->a, data);
				from_type[GDEXTENSION_VARIANT_TYPE_ARRAY](slot, sub);
				dtor[GDEXTENSION_VARIANT_TYPE_ARRAY](sub);
				break;
			}
			default: // never produced by ArrayBuilder: the slot is left as it was
				v++;
				break;
		}
	}
	return v;
}

void gde_array_fill(void *arr, const gde_val_t *vals, int64_t count, const uint8_t *data) {
	array_fill(arr, vals, count, data);
}

// --- objects ---

GDExtensionBool gde_ref_call(GDExtensionObjectPtr obj, int which) {
	uint8_t r = 0;
	GDExtensionMethodBindPtr m = which == 0 ? mb_init_ref : which == 1 ? mb_reference : mb_unreference;
	gde.object_method_bind_ptrcall(m, obj, NULL, &r);
	return r;
}

void gde_notify(GDExtensionObjectPtr obj, int64_t what) {
	uint8_t reversed = 0;
	const void *a[2] = { &what, &reversed };
	gde.object_method_bind_ptrcall(mb_notification, obj, a, NULL);
}

GDExtensionBool gde_has_connections(GDExtensionObjectPtr obj, const void *signal) {
	uint8_t r = 0;
	const void *a[1] = { signal };
	gde.object_method_bind_ptrcall(mb_has_connections, obj, a, &r);
	return r;
}

// Emits `signal` with up to GDE_MAX_ARGS arguments given as natives.
void gde_emit(GDExtensionObjectPtr obj, const void *signal, int argc, const int *types, void *const *values) {
	uint8_t vars[GDE_MAX_ARGS + 1][24];
	const void *ptrs[GDE_MAX_ARGS + 1];
	from_type[GDEXTENSION_VARIANT_TYPE_STRING_NAME](&vars[0], (void *)signal);
	ptrs[0] = &vars[0];
	for (int i = 0; i < argc && i < GDE_MAX_ARGS; i++) {
		from_type[types[i]](&vars[i + 1], values[i]);
		ptrs[i + 1] = &vars[i + 1];
	}
	uint8_t ret[24];
	GDExtensionCallError err;
	memset(&err, 0, sizeof(err));
	gde.object_method_bind_call(mb_emit_signal, obj, ptrs, argc + 1, &ret, &err);
	gde.variant_destroy(&ret);
	for (int i = 0; i <= argc; i++) {
		gde.variant_destroy(&vars[i]);
	}
}

// Calls an engine method in ptrcall convention: args point at native values,
// ret at native storage for the return type (or is NULL).
void gde_ptrcall(GDExtensionMethodBindPtr m, GDExtensionObjectPtr obj, const void *const *args, void *ret) {
	gde.object_method_bind_ptrcall(m, obj, (const GDExtensionConstTypePtr *)args, ret);
}
