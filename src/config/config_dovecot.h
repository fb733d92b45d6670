/*
 * config_dovecot: the handlers of "deliver" and "auth" for config.c's
 * table (config_dovecot.c). Each fills cfg or returns -1 with what is
 * wrong and the fix in err (config.c adds FILE:LINE). For src/config only.
 */
#ifndef MP_CONFIG_DOVECOT_H
#define MP_CONFIG_DOVECOT_H

#include <stddef.h>

#include "config.h"

int config_parse_deliver(struct config *cfg, char **argv, int argc, char *err, size_t err_size);
int config_parse_auth(struct config *cfg, char **argv, int argc, char *err, size_t err_size);

#endif
