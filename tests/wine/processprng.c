/* Test harness only, never shipped: Rust's standard library on Windows imports ProcessPrng from
 * bcryptprimitives.dll, which Wine 8.0 lacks. This stand-in, placed beside concbench.exe when it
 * runs under Wine, answers it with BCryptGenRandom. Built by .ci/run:
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll processprng.c processprng.def -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
