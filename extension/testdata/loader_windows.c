// The Windows twin of loader.c, built with mingw and run under wine by
// TestWindowsDLLRefusesAnEngineWithoutInterface: LoadLibrary the DLL, find the
// entry symbol, call it with a get_proc_address that returns NULL for every
// name. The entry must refuse cleanly (return false), not crash.
#include <windows.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*fnptr)(void);
typedef fnptr (*get_proc_t)(const char *);
typedef uint8_t (*entry_t)(get_proc_t, void *, void *);

static int asked = 0;
static fnptr null_proc(const char *name) {
	(void)name;
	asked++;
	return NULL;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: loader LIB.dll\n");
		return 2;
	}
	HMODULE h = LoadLibraryA(argv[1]);
	if (!h) {
		fprintf(stderr, "LoadLibrary: error %lu\n", GetLastError());
		return 3;
	}
	entry_t entry = (entry_t)(void *)GetProcAddress(h, "gowebsocket_library_init");
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
	fflush(stdout);
	return (ok == 0 && ok2 == 0 && asked > 0) ? 0 : 1;
}
