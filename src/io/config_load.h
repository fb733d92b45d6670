/*
 * config_load: read a mailport.conf from disk and parse it (config.h is
 * pure and takes text; this is the file-reading half, shared by "serve"
 * and "config check"). It reads files, so it is built with the effects, not the pure core.
 *
 * Relative paths in the file are resolved against the folder the file
 * really lives in (realpath, so a symlinked config still finds its files).
 */
#ifndef MP_CONFIG_LOAD_H
#define MP_CONFIG_LOAD_H

#include <stddef.h>

#include "config.h"

/* Largest config file accepted; a bigger one is surely not a config. */
#define CONFIG_LOAD_MAX (1024 * 1024)

/*
 * Read path, then config_init + config_parse + config_validate into cfg.
 * 0, or -1 with "PATH[:LINE]: what; fix" in err. Messages name path as
 * given, so they match what the user typed.
 */
int config_load_file(const char *path, struct config *cfg, char *err, size_t err_size);

#endif
