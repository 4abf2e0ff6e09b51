// Loads the extension like an engine whose every interface function is a
// stub, then runs only the EDITOR initialization level (which an editor runs
// after SCENE; export templates never do), to see the class reference XML
// reach editor_help_load_xml_from_utf8_chars_and_len. With "without", the
// engine lacks that function (as Godot before 4.3 does): the library must
// still load and the EDITOR level must do nothing.
//
// Every other function is one stub returning NULL, called through pointers of
// other types: fine for this check on x86_64 and arm64, where the caller
// cleans up and extra arguments are ignored.
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "gdextension_interface.h"

static int docs = 0;
static int bad = 0;

static void *stub(void) { return NULL; }

static void load_xml(const char *data, GDExtensionInt size) {
	docs++;
	const char *cls = size > 0 ? strstr(data, "<class name=\"") : NULL;
	if (size < 100 || strncmp(data, "<?xml", 5) != 0 || cls == NULL || cls - data > 200 || strcmp(data + size - 9, "</class>\n") != 0) {
		bad++;
		return;
	}
	cls += strlen("<class name=\"");
	printf("editor help: %.*s (%lld bytes)\n", (int)strcspn(cls, "\""), cls, (long long)size);
}

static int with_help = 1;

static GDExtensionInterfaceFunctionPtr get_proc(const char *name) {
	if (strcmp(name, "editor_help_load_xml_from_utf8_chars_and_len") == 0) {
		return with_help ? (GDExtensionInterfaceFunctionPtr)load_xml : NULL;
	}
	return (GDExtensionInterfaceFunctionPtr)stub;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: editorhelp LIB with|without\n");
		return 2;
	}
	with_help = strcmp(argv[2], "with") == 0;
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 3;
	}
	GDExtensionInitializationFunction entry = (GDExtensionInitializationFunction)dlsym(h, "gowebsocket_library_init");
	if (!entry) {
		fprintf(stderr, "no entry symbol\n");
		return 4;
	}
	GDExtensionInitialization init;
	memset(&init, 0, sizeof(init));
	if (!entry(get_proc, (GDExtensionClassLibraryPtr)0x1, &init) || init.initialize == NULL) {
		fprintf(stderr, "the entry refused an engine with every function\n");
		return 5;
	}
	if (init.minimum_initialization_level > GDEXTENSION_INITIALIZATION_EDITOR) {
		fprintf(stderr, "minimum level %d is above EDITOR\n", init.minimum_initialization_level);
		return 6;
	}
	init.initialize(init.userdata, GDEXTENSION_INITIALIZATION_EDITOR);
	init.deinitialize(init.userdata, GDEXTENSION_INITIALIZATION_EDITOR);
	printf("%d documents loaded, %d malformed\n", docs, bad);
	return bad == 0 ? 0 : 1;
}
