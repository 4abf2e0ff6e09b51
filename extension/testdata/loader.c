// Loads the extension like an engine too old (or broken) to provide any
// interface function would: get_proc_address returns NULL for every name.
// The entry must refuse cleanly (return false), not crash.
// Then like engines that lack one function: without an optional one
// (print_warning) the entry must succeed, without a required one
// (print_error) refuse. Those engines hand out a stub that does nothing and
// returns NULL, which is all the entry calls before initialization.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*fnptr)(void);
typedef fnptr (*get_proc_t)(const char *);
typedef uint8_t (*entry_t)(get_proc_t, void *, void *);

static int asked = 0;
static fnptr null_proc(const char *name) {
	asked++;
	return NULL;
}

static void *stub(void) { return NULL; }
static const char *lacking;
static fnptr lacking_proc(const char *name) {
	return strcmp(name, lacking) == 0 ? NULL : (fnptr)stub;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: loader LIB\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 3;
	}
	entry_t entry = (entry_t)dlsym(h, "gowebsocket_library_init");
	if (!entry) {
		fprintf(stderr, "no entry symbol\n");
		return 4;
	}
	unsigned char init[64];
	memset(init, 0, sizeof(init));
	uint8_t ok = entry(null_proc, (void *)0x1, init);
	// A NULL initialization struct must be refused too.
	uint8_t ok2 = entry(null_proc, (void *)0x1, NULL);
	printf("entry returned %d and %d after %d lookups\n", ok, ok2, asked);
	lacking = "print_warning";
	uint8_t ok3 = entry(lacking_proc, (void *)0x1, init);
	lacking = "print_error";
	uint8_t ok4 = entry(lacking_proc, (void *)0x1, init);
	printf("without print_warning (optional): %d; without print_error (required): %d\n", ok3, ok4);
	return (ok == 0 && ok2 == 0 && asked > 0 && ok3 == 1 && ok4 == 0) ? 0 : 1;
}
