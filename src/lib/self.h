/*
 * self: facts about this process that cost a system call each time they
 * are asked (getpid, gethostname) and that a busy server would otherwise
 * ask several times per message, for log lines and Maildir file names.
 */
#ifndef MP_SELF_H
#define MP_SELF_H

/* getpid(), read once per process (again in a forked child). */
int self_pid(void);
/* gethostname(), read once ("localhost" when it fails); never NULL. */
const char *self_hostname(void);

#endif
