/*
 * secret: reads a secret from where the user keeps it (see secret.h).
 */
#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "str.h"

static void
chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

static int
first_line(FILE *fp, char *out, size_t size)
{
	if (fgets(out, (int)size, fp) == NULL)
		return -1;
	chomp(out);
	return 0;
}

int
secret_get(enum secret_source src, const char *spec, char *out, size_t size, char *err,
	   size_t err_size)
{
	out[0] = '\0';
	switch (src) {
	case SECRET_NONE:
		return 0;
	case SECRET_ENV: {
		const char *v = getenv(spec);
		if (v == NULL || v[0] == '\0') {
			snprintf(err, err_size,
				 "the environment variable %s is not set (or empty); export it, "
				 "or use --password-file",
				 spec);
			return -1;
		}
		str_copy(out, size, v);
		chomp(out);
		return 0;
	}
	case SECRET_FILE: {
		FILE *fp = fopen(spec, "r");
		if (fp == NULL || first_line(fp, out, size) < 0) {
			snprintf(err, err_size, "cannot read the secret from %s: %s", spec,
				 fp ? "the file is empty" : strerror(errno));
			if (fp)
				fclose(fp);
			return -1;
		}
		fclose(fp);
		return 0;
	}
	case SECRET_CMD: {
		FILE *fp = popen(spec, "r");
		int rc = fp ? first_line(fp, out, size) : -1;
		int status = fp ? pclose(fp) : -1;
		if (rc < 0 || status != 0 || out[0] == '\0') {
			snprintf(
			    err, err_size,
			    "the secret command failed or printed nothing (exit status %d): %s",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1, spec);
			explicit_bzero(out, size);
			return -1;
		}
		return 0;
	}
	}
	return -1;
}
