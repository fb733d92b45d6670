/* cmd_queue's parts in other files. */
#ifndef MP_CMD_QUEUE_INT_H
#define MP_CMD_QUEUE_INT_H

#include <stdbool.h>

/* `queue tls-report`: cmd_queue_tlsrpt.c. Returns the exit status. */
int queue_tls_report(const char *config_path, bool include_today);

#endif
