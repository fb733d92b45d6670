/*
 * probe_report: the verdict over a probe's result (which door to use, the
 * exit code, the TLS mode each door turned out to use) and the small names
 * both renderings share (see the header).
 */
#include "probe_report.h"

#include <stdio.h>
#include <sysexits.h>

static int
door_rank(struct door d)
{
	switch (d.port) {
	case 587:
		return 0;
	case 465:
		return 1;
	case 2525:
		return 2;
	case 25:
		return 4;
	default:
		/* A relay door (STARTTLS if offered) is for servers, not for users. */
		return d.tls == CLIENT_TLS_OPPORTUNISTIC ? 4 : 3;
	}
}

int
probe_recommend(const struct probe_report *r)
{
	int best = -1;
	for (size_t i = 0; i < r->ndoors; i++)
		if (r->doors[i].outcome->id == OUTCOME_OK &&
		    (best < 0 || door_rank(r->doors[i].door) < door_rank(r->doors[best].door)))
			best = (int)i;
	return best;
}

/* How far a door got: the furthest failure says the most. */
static int
progress(enum outcome_status s)
{
	switch (s) {
	case OUTCOME_S_DNS_ERROR:
		return 0;
	case OUTCOME_S_TIMEOUT:
	case OUTCOME_S_REFUSED:
		return 1;
	case OUTCOME_S_NO_GREETING:
		return 2;
	case OUTCOME_S_TLS_FAILED:
	case OUTCOME_S_STARTTLS_MISSING:
		return 3;
	case OUTCOME_S_AUTH_MISSING:
	case OUTCOME_S_REJECTED:
		return 4;
	default:
		return 5;
	}
}

static int
doors_exit_code(const struct probe_report *r)
{
	if (r->recommended >= 0)
		return EX_OK;
	const struct probe_door *best = NULL;
	for (size_t i = 0; i < r->ndoors; i++)
		if (best == NULL ||
		    progress(r->doors[i].outcome->status) > progress(best->outcome->status))
			best = &r->doors[i];
	return best ? best->outcome->exit_code : EX_USAGE;
}

int
probe_exit_code(const struct probe_report *r)
{
	if (r->domain == NULL)
		return doors_exit_code(r);
	int doors = r->ndoors > 0 ? doors_exit_code(r) : EX_OK;
	return doors != EX_OK ? doors : domain_report_exit_code(r->domain);
}

const char *
probe_tls_mode(const struct probe_door *pd)
{
	switch (pd->door.tls) {
	case CLIENT_TLS_IMPLICIT:
		return "implicit";
	case CLIENT_TLS_STARTTLS:
		return "starttls";
	case CLIENT_TLS_OPPORTUNISTIC:
		/* A relay door is STARTTLS unless it turned out not to offer it. */
		return pd->tls_used || pd->tls_seen || pd->caps.starttls || !pd->greeted
			   ? "starttls"
			   : "none";
	case CLIENT_TLS_NONE:
		break;
	}
	return "none";
}

const char *
probe_severity_name(enum probe_severity s)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	return names[s];
}

void
probe_reply_text(const struct smtp_client_reply *r, char *out, size_t size)
{
	if (r->code == 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, size, "%d%s%s%s%s", r->code, r->esc[0] ? " " : "", r->esc,
		 r->text[0] ? " " : "", r->text);
}
