/*
 * mailport passwd: read a password on stdin, print its crypt(3) hash for
 * the users file ("address:hash" lines, see users.h).
 *
 * The password is read with read(2) into one fixed buffer, never through
 * stdio, so no copy is left in a FILE buffer, and the buffer is wiped with
 * explicit_bzero before exit. On a terminal the prompt goes to stderr and
 * echo is off; a signal handler puts the terminal back if the user presses
 * Ctrl-C at the prompt. stdout carries only the hash (or the whole line
 * with --user), so "mailport passwd --user ADDR >> users" just works.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "self.h"
#include "str.h"
#include "users.h"

#define PASSWORD_MAX 1024 /* bytes, with the NUL; yescrypt takes any length */

/* The terminal settings to restore; only set while echo is off. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void
passwd_usage(FILE *out)
{
	fprintf(out,
		"usage: mailport passwd [--user ADDRESS]\n"
		"\n"
		"Reads one password on stdin (without echo on a terminal) and prints its\n"
		"crypt(3) hash (yescrypt, $y$) for the users file.\n"
		"\n"
		"  --user ADDRESS  print the whole users-file line, ADDRESS:HASH, e.g.\n"
		"                  (umask 077; %s passwd --user alice@example.test >> users)\n"
		"  -h, --help      show this help\n"
		"\n"
		"exit status: 0 ok, 64 bad usage, 65 empty or unreadable password\n",
		self_program());
}

/* Puts echo back and dies of the same signal, so the shell sees why. */
static void
restore_tty_and_die(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
echo_off(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct termios quiet;
	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return;
	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL; /* still show the newline of Enter */
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], restore_tty_and_die);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0)
		tty_changed = 1;
}

static void
echo_on(void)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = 0;
}

/*
 * One line from stdin into pw[PASSWORD_MAX] without its line end. Returns
 * 0, or an exit code with the message printed.
 */
static int
read_password(char *pw, size_t *len_r)
{
	bool tty = isatty(STDIN_FILENO);
	size_t len = 0;
	int rc = 0;
	if (tty) {
		fputs("Password: ", stderr);
		fflush(stderr);
		echo_off();
	}
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr,
				"mailport passwd: cannot read stdin: %s; pipe the password "
				"in, e.g. printf '%%s\\n' 'secret' | %s passwd\n",
				strerror(errno), self_program());
			rc = EX_IOERR;
			break;
		}
		if (n == 0 || c == '\n')
			break;
		if (len == PASSWORD_MAX - 1) {
			fprintf(stderr,
				"mailport passwd: the password is longer than %d bytes; "
				"use a shorter one\n",
				PASSWORD_MAX - 1);
			rc = EX_DATAERR;
			break;
		}
		pw[len++] = c;
	}
	if (tty)
		echo_on();
	if (len > 0 && pw[len - 1] == '\r')
		len--; /* a line typed on Windows, or pasted from it */
	pw[len] = '\0';
	*len_r = len;
	return rc;
}

/* The --user address, lower-cased; false (message printed) when unusable. */
static bool
check_user(char *addr)
{
	char *at = strrchr(addr, '@');
	const char *problem = NULL;
	if (at == NULL || at == addr || at[1] == '\0')
		problem = "is not an address; give local@domain, e.g. --user alice@example.test";
	else if (strpbrk(addr, ": \t\r\n") != NULL)
		problem = "contains ':' or a blank; give a plain address, e.g. alice@example.test";
	else if (memchr(addr, '+', (size_t)(at - addr)) != NULL)
		problem = "has a '+' in its local part; give the base address (alice+tag@ is "
			  "delivered to alice@ anyway)";
	if (problem != NULL) {
		char e[80];
		fprintf(stderr, "mailport passwd: \"%s\" %s\n",
			str_escape(e, sizeof e, addr, strlen(addr)), problem);
		return false;
	}
	str_lower(addr);
	return true;
}

/* Parses the options; returns -1 to go on, else the exit code. */
static int
parse_args(int argc, char **argv, char **user_r)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			passwd_usage(stdout);
			return 0;
		} else if (strcmp(a, "--user") == 0 && i + 1 < argc) {
			*user_r = argv[++i];
		} else if (strncmp(a, "--user=", 7) == 0) {
			*user_r = argv[i] + 7;
		} else {
			fprintf(stderr, "mailport passwd: %s \"%s\"; see below\n\n",
				strcmp(a, "--user") == 0 ? "missing address after"
							 : "unknown option",
				a);
			passwd_usage(stderr);
			return EX_USAGE;
		}
	}
	if (*user_r != NULL && !check_user(*user_r))
		return EX_USAGE;
	return -1;
}

int
cmd_passwd(int argc, char **argv)
{
	char *user = NULL, pw[PASSWORD_MAX];
	size_t len;
	int rc = parse_args(argc, argv, &user);
	if (rc >= 0)
		return rc;
	if ((rc = read_password(pw, &len)) != 0)
		goto out;
	if (len == 0 || memchr(pw, '\0', len) != NULL) {
		fprintf(stderr,
			"mailport passwd: the password is %s; type a password, or pipe "
			"one in: printf '%%s\\n' 'secret' | %s passwd\n",
			len == 0 ? "empty" : "cut by a NUL byte", self_program());
		rc = EX_DATAERR;
		goto out;
	}
	char *hash = users_hash_password(pw);
	if (hash == NULL) {
		fprintf(stderr,
			"mailport passwd: libcrypt could not make a hash (%s); check "
			"that libxcrypt is installed and allows its default method (yescrypt)\n",
			strerror(errno));
		rc = EX_SOFTWARE;
		goto out;
	}
	if (user != NULL)
		printf("%s:%s\n", user, hash);
	else
		printf("%s\n", hash);
	free(hash);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr,
			"mailport passwd: cannot write the hash: %s; check where stdout "
			"goes (a full disk?)\n",
			strerror(errno));
		rc = EX_IOERR;
		goto out;
	}
	if (isatty(STDERR_FILENO))
		fputs(user ? "append this line to the users file (mailport passwd --user "
			     "ADDR >> users), then reload (kill -HUP)\n"
			   : "add a line \"you@your.domain:<hash>\" to the users file, then "
			     "reload (kill -HUP)\n",
		      stderr);
out:
	explicit_bzero(pw, sizeof pw);
	return rc;
}
