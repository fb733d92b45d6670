/*
 * fuzz_config: libFuzzer harness for the mailport.conf parser.
 *
 * The parser takes NUL-terminated text, so the input is copied and
 * terminated first; an input with a NUL inside simply ends early, as a file
 * read by config_load_file would be refused. Every input must return 0 or
 * -1 with a terminated message, and must not crash, leak or overflow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg; /* large: keep it off the stack */
	char *text = malloc(size + 1);
	char err[256];
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	config_init(&cfg);
	int rc = config_parse(&cfg, text, "fuzz.conf", size % 2 ? "/base" : NULL, err, sizeof err);
	if (rc == 0)
		rc = config_validate(&cfg, "fuzz.conf", err, sizeof err);
	if (rc != 0 && (rc != -1 || memchr(err, '\0', sizeof err) == NULL))
		abort();
	for (size_t i = 0; i < cfg.nlisteners; i++)
		if (cfg.listeners[i].policy == NULL || cfg.listeners[i].port == 0)
			abort();
	if (cfg.ndomains > 0)
		(void)config_is_local_domain(&cfg, cfg.domains[0]);
	free(text);
	return 0;
}
