/* unwind_abi_owner - which library the process's exception-ABI functions come from.
 *
 * GCC's unwinder (libgcc_s) calls _Unwind_GetLanguageSpecificData, among others, through the
 * process's symbol search order, from the personality routine that runs C cleanups when a
 * thread is cancelled or an exception crosses C frames. libunwind.so defines the same names
 * for an unwinder of its own, whose context is another structure: a process where libunwind's
 * come first hands libgcc_s's context to libunwind's code. The program looks the name up as
 * libgcc_s would (RTLD_DEFAULT) and prints the file that defines it ("none" when nothing
 * loaded does, as in a C program run alone).
 * Expected verdict, under lockgraph: no report; "from libgcc_s.so.1"; exit 0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
  void *f = dlsym(RTLD_DEFAULT, "_Unwind_GetLanguageSpecificData");
  Dl_info info;
  const char *file = "none";

  if (f != NULL && dladdr(f, &info) != 0 && info.dli_fname != NULL) {
    const char *slash = strrchr(info.dli_fname, '/');
    file = slash != NULL ? slash + 1 : info.dli_fname;
  }
  printf("unwind_abi_owner: _Unwind_GetLanguageSpecificData from %s\n", file);
  printf("unwind_abi_owner: done\n");
  return 0;
}
