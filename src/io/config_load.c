/*
 * config_load: the file half of the config parser (see config_load.h).
 *
 * The whole file is read into memory (it is small: CONFIG_LOAD_MAX caps
 * it) and handed to the pure parser. A NUL byte inside is refused here,
 * because the parser would otherwise stop at it without a word.
 */
#include "config_load.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"
#include "xmalloc.h"

/* The file's bytes, NUL-terminated, owned by the caller; NULL with err. */
static char *
read_text(const char *path, char *err, size_t err_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	const char *fix = "check the path, or pass another file with -c FILE";
	if (fd < 0) {
		if (errno == EACCES)
			fix = "run as a user who may read it (often root), or fix its mode";
		goto fail;
	}
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_LOAD_MAX) {
		snprintf(err, err_size, "%s: %s; pass the mailport.conf file with -c FILE", path,
			 S_ISREG(st.st_mode) ? "is too big to be a config file (over 1 MB)"
					     : "is not a regular file");
		close(fd);
		return NULL;
	}
	text = xmalloc((size_t)st.st_size + 1);
	size_t len = 0;
	ssize_t n;
	while (len < (size_t)st.st_size &&
	       (n = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, err_size,
			 "%s: contains a NUL byte, so it is not a text file; pass "
			 "the mailport.conf file with -c FILE",
			 path);
		free(text);
		return NULL;
	}
	return text;
fail:
	snprintf(err, err_size, "%s: cannot read the config file: %s; %s", path, strerror(errno),
		 fix);
	if (fd >= 0)
		close(fd);
	free(text);
	return NULL;
}

int
config_load_file(const char *path, struct config *cfg, char *err, size_t err_size)
{
	char *text = read_text(path, err, err_size);
	if (text == NULL)
		return -1;
	char *real = realpath(path, NULL);
	const char *dir = real ? dirname(real) : ".";
	config_init(cfg);
	int rc = config_parse(cfg, text, path, dir, err, err_size);
	if (rc == 0)
		rc = config_validate(cfg, path, err, err_size);
	free(real);
	free(text);
	return rc;
}
