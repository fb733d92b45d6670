/*
 * config_aliases: what `mailport config check` says about the aliases
 * file and the SRS secret (config_aliases.c).
 */
#ifndef MP_CONFIG_ALIASES_H
#define MP_CONFIG_ALIASES_H

#include "config.h"

/* 0, or -1 after "FILE:LINE: problem; fix" lines on stderr. path: the config's. */
int config_check_aliases(const struct config *cfg, const char *path);

#endif
