/*
 * secret: passwords and OAuth2 tokens for the client commands, from a file,
 * an environment variable or a command's output — never from the command
 * line, where `ps` and shell history would show them.
 */
#ifndef MP_SECRET_H
#define MP_SECRET_H

#include <stddef.h>

enum secret_source { SECRET_NONE, SECRET_FILE, SECRET_ENV, SECRET_CMD };

/*
 * The first line of the file, the variable's value, or the first line the
 * command prints (run with /bin/sh -c). Trailing CR/LF removed. 0, or -1
 * with a message in err that names the source (never the secret).
 */
int secret_get(enum secret_source src, const char *spec, char *out, size_t size, char *err,
	       size_t err_size);

#endif
