#!/usr/bin/env bash
# Checks the universal macOS dylib built here (it cannot be run here):
# both slices present, each exports the entry symbol, links only against
# libSystem, CoreFoundation and Security, has an @rpath install name; the
# arm64 slice carries a code signature (macOS refuses unsigned arm64 code).
set -u
lib=${1:?usage: check.sh LIB.dylib}
lipo=$(command -v llvm-lipo-14 llvm-lipo | head -n1)
objdump=$(command -v llvm-objdump-14 llvm-objdump | head -n1)
nm=$(command -v llvm-nm-14 llvm-nm | head -n1)
fail=0
bad() { echo "FAIL macOS dylib: $*"; fail=1; }
archs=$("$lipo" -archs "$lib" 2>&1)
[ "$(echo $archs | tr ' ' '\n' | sort | paste -sd' ')" = "arm64 x86_64" ] || bad "architectures are '$archs', want x86_64 and arm64"
allowed='^(/usr/lib/libSystem\.B\.dylib|/System/Library/Frameworks/CoreFoundation\.framework/Versions/A/CoreFoundation|/System/Library/Frameworks/Security\.framework/Versions/A/Security)$'
for a in x86_64 arm64; do
	"$nm" --arch="$a" -gU "$lib" 2>/dev/null | grep -qE ' T _gowebsocket_library_init$' || bad "$a slice does not export _gowebsocket_library_init"
	id=$("$objdump" --macho --arch="$a" --dylib-id "$lib" 2>/dev/null | sed -n '2p')
	case "$id" in @rpath/*) ;; *) bad "$a install name is '$id', want @rpath/..." ;; esac
	used=$("$objdump" --macho --arch="$a" --dylibs-used "$lib" 2>/dev/null | tail -n +2 | awk '{print $1}')
	[ -n "$used" ] || bad "$a links against nothing (or could not be read)"
	others=$(echo "$used" | grep -vE "$allowed" | grep -vxF "$id" || true)
	[ -z "$others" ] || bad "$a links against more than libSystem, CoreFoundation and Security: $others"
	echo "$used" | grep -q libSystem || bad "$a does not link libSystem"
done
"$objdump" --macho --arch=arm64 --private-headers "$lib" 2>/dev/null | grep -q 'cmd LC_CODE_SIGNATURE' || bad "arm64 slice has no LC_CODE_SIGNATURE"
[ $fail = 0 ] && echo "PASS macOS dylib: x86_64 + arm64, entry exported, libSystem/CoreFoundation/Security only, @rpath install name, arm64 signed"
exit $fail
