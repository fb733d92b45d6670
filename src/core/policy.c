/*
 * policy: what each listener's service offers and requires (STARTTLS, AUTH,
 * relay): the one table behind the doors (see the header).
 */
#include "policy.h"

#include <string.h>

static const struct policy policies[SVC_COUNT] = {
    [SVC_SMTP] = {SVC_SMTP, "smtp", 25, false, true, false, false, false, true},
    [SVC_SUBMISSION] = {SVC_SUBMISSION, "submission", 587, false, true, true, true, true, true},
    [SVC_SUBMISSIONS] = {SVC_SUBMISSIONS, "submissions", 465, true, false, true, true, true, true},
};

const struct policy *
policy_for(enum service svc)
{
	return &policies[svc];
}

const struct policy *
policy_by_name(const char *name)
{
	for (int i = 0; i < SVC_COUNT; i++)
		if (strcmp(policies[i].name, name) == 0)
			return &policies[i];
	return NULL;
}
