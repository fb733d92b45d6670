/*
 * self: facts about this process that cost a system call each time they
 * are asked (getpid, gethostname) and that a busy server would otherwise
 * ask several times per message, for log lines and Maildir file names;
 * and the name the program was started by, for hints.
 */
#ifndef MP_SELF_H
#define MP_SELF_H

/* getpid(), read once per process (again in a forked child). */
int self_pid(void);
/* gethostname(), read once ("localhost" when it fails); never NULL. */
const char *self_hostname(void);

/*
 * The program as the person typed it, for the commands hints print:
 * "build/mailport" when run as build/mailport, "mailport" when found on
 * the PATH or run as sendmail. main sets it from argv[0]; never NULL.
 */
void self_set_program(const char *argv0);
const char *self_program(void);

#endif
