// TEST-ONLY STAND-IN. NEVER SHIP THIS (not in the addon, not in dist/).
//
// Wine 8.0 has no bcryptprimitives.dll, and Go's Windows runtime loads it at
// start for ProcessPrng, so every Go program (and our DLL) dies at once under
// wine. tools/testonly/wineprefix.sh builds this file with mingw into the
// system32 of a throwaway WINEPREFIX used only by `make test`. Real Windows
// (8.1 and later) has the genuine DLL.
#include <windows.h>

typedef BOOLEAN(WINAPI *rtl_gen_random_t)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	static rtl_gen_random_t gen;
	if (!gen) {
		HMODULE advapi = LoadLibraryA("advapi32.dll");
		gen = advapi ? (rtl_gen_random_t)(void *)GetProcAddress(advapi, "SystemFunction036") : NULL;
		if (!gen)
			return FALSE;
	}
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!gen(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
