/*
 * panic: the first of the three error bins (STYLE.md "Errors"), a bug.
 * MP_ASSERT(cond) and mp_panic(fmt, ...) write one line with the file, the
 * line and the reason to stderr, then abort, so a fuzzer or ASan run stops
 * right there with a core and a message. Never for what the environment or
 * a peer can cause: those return -1 with a logged error and a fix.
 */
#ifndef MP_PANIC_H
#define MP_PANIC_H

_Noreturn void mp_panic_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define mp_panic(...) mp_panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define MP_ASSERT(cond)                                                                            \
	((cond) ? (void)0 : mp_panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond))

#endif
