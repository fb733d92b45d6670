/*
 * self: this process's pid, host name and program name, read once (see the
 * header).
 */
#include "self.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static atomic_int cached_pid;

static void
forget_pid(void)
{
	atomic_store(&cached_pid, 0);
}

static void
register_atfork(void)
{
	pthread_atfork(NULL, NULL, forget_pid);
}

int
self_pid(void)
{
	int pid = atomic_load(&cached_pid);
	if (pid == 0) {
		static pthread_once_t once = PTHREAD_ONCE_INIT;
		pthread_once(&once, register_atfork);
		pid = (int)getpid();
		atomic_store(&cached_pid, pid);
	}
	return pid;
}

static char hostname[256];

static void
read_hostname(void)
{
	if (gethostname(hostname, sizeof hostname) < 0 || hostname[0] == '\0')
		strcpy(hostname, "localhost");
	hostname[sizeof hostname - 1] = '\0';
}

const char *
self_hostname(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, read_hostname);
	return hostname;
}

static char program[256] = "mailport";

void
self_set_program(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	/* On the PATH the bare name works; as sendmail, hints name the real program. */
	if (slash == NULL || strcmp(slash + 1, "sendmail") == 0 ||
	    strlen(argv0) >= sizeof program || strpbrk(argv0, " \t'\"\\$`") != NULL)
		return;
	strcpy(program, argv0);
}

const char *
self_program(void)
{
	return program;
}
