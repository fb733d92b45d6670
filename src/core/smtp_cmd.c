/*
 * smtp_cmd: verbs (RFC 5321 4.1.1), MAIL/RCPT arguments (4.1.1.2, 4.1.1.3,
 * 4.1.2) and their ESMTP parameters: SIZE (RFC 1870 3), BODY (RFC 6152 2,
 * RFC 3030 3), SMTPUTF8 (RFC 6531 3.4), RET/ENVID (RFC 3461 4.3, 4.4),
 * NOTIFY/ORCPT (RFC 3461 4.1, 4.2), and BDAT (RFC 3030 2).
 *
 * MAIL's SMTPUTF8 decides whether the path may hold UTF-8, yet it comes
 * after the path; so the end of the path is found first with a scanner
 * that knows about quoted local parts, the parameters are parsed, and only
 * then the path, with the right utf8. Parameter keys and enumerated values
 * are case-insensitive; xtext values are kept as received. Parameters are
 * separated by one or more spaces, and trailing spaces are tolerated.
 * Results borrow nothing: paths and values are copied into the structs.
 */
#include "smtp_cmd.h"

#include <string.h>

static const char *const verb_names[SMTP_V_COUNT] = {
    [SMTP_V_UNKNOWN] = "UNKNOWN", [SMTP_V_HELO] = "HELO",	  [SMTP_V_EHLO] = "EHLO",
    [SMTP_V_MAIL] = "MAIL",	  [SMTP_V_RCPT] = "RCPT",	  [SMTP_V_DATA] = "DATA",
    [SMTP_V_BDAT] = "BDAT",	  [SMTP_V_RSET] = "RSET",	  [SMTP_V_NOOP] = "NOOP",
    [SMTP_V_QUIT] = "QUIT",	  [SMTP_V_HELP] = "HELP",	  [SMTP_V_VRFY] = "VRFY",
    [SMTP_V_EXPN] = "EXPN",	  [SMTP_V_STARTTLS] = "STARTTLS", [SMTP_V_AUTH] = "AUTH",
};

enum param_key {
	P_SIZE,
	P_BODY,
	P_SMTPUTF8,
	P_RET,
	P_ENVID,
	P_AUTH,
	P_NOTIFY,
	P_ORCPT,
	P_REQUIRETLS,
	P_NONE
};

static const struct {
	const char *name;
	enum param_key key;
	bool for_mail; /* else for RCPT */
} param_table[] = {
    {"SIZE", P_SIZE, true},    {"BODY", P_BODY, true},	 {"SMTPUTF8", P_SMTPUTF8, true},
    {"RET", P_RET, true},      {"ENVID", P_ENVID, true}, {"NOTIFY", P_NOTIFY, false},
    {"ORCPT", P_ORCPT, false}, {"AUTH", P_AUTH, true},	 {"REQUIRETLS", P_REQUIRETLS, true},
};

/* One parameter as split from the line; val is empty when there is no '='. */
struct param {
	struct strv key;
	struct strv val;
	bool has_val;
};

void
smtp_cmd_parse(struct strv line, struct smtp_cmd *cmd_r)
{
	const char *sp = line.len ? memchr(line.p, ' ', line.len) : NULL;
	size_t vlen = sp ? (size_t)(sp - line.p) : line.len;

	cmd_r->verb = SMTP_V_UNKNOWN;
	cmd_r->verb_text = (struct strv){line.p, vlen};
	cmd_r->args =
	    sp ? (struct strv){sp + 1, line.len - vlen - 1} : (struct strv){line.p + line.len, 0};
	for (int v = SMTP_V_UNKNOWN + 1; v < SMTP_V_COUNT; v++) {
		if (strv_eq_ci(cmd_r->verb_text, verb_names[v])) {
			cmd_r->verb = (enum smtp_verb)v;
			break;
		}
	}
}

const char *
smtp_verb_name(enum smtp_verb v)
{
	if ((int)v < 0 || v >= SMTP_V_COUNT)
		return verb_names[SMTP_V_UNKNOWN];
	return verb_names[v];
}

static struct strv
strv_tail(struct strv s, size_t from)
{
	return (struct strv){s.p + from, s.len - from};
}

/* Decimal digits only, at most 20, no overflow (RFC 1870 3, RFC 3030 2). */
static bool
parse_u64(struct strv s, uint64_t *v_r)
{
	return s.len <= 20 && str_parse_u64(s, v_r);
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* RFC 5322 3.2.3 atext (ASCII): the characters of an atom. */
static bool
is_atext(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 3461 4: xchar is '!'..'~' but '+' and '='; "+XX" encodes the others. */
static bool
is_xtext(struct strv s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '+') {
			if (i + 2 >= s.len || !is_hex(s.p[i + 1]) || !is_hex(s.p[i + 2]))
				return false;
			i += 2;
		} else if (c < '!' || c > '~' || c == '=') {
			return false;
		}
	}
	return true;
}

/* RFC 5321 4.1.2 esmtp-keyword: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"). */
static bool
is_keyword(struct strv s)
{
	if (s.len == 0 || s.p[0] == '-')
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

/*
 * Take the next parameter off *rest, which is what follows the path.
 * false at the end; PARAM_SYNTAX in *err_r when the text is not parameters.
 */
static bool
next_param(struct strv *rest, struct param *p, enum param_err *err_r)
{
	size_t i = 0, len;
	const char *eq;

	*err_r = PARAM_OK;
	while (i < rest->len && rest->p[i] == ' ')
		i++;
	if (i == rest->len)
		return false;
	if (i == 0) {
		*err_r = PARAM_SYNTAX; /* no space between the path and the parameters */
		return false;
	}
	*rest = strv_tail(*rest, i);
	const char *sp = memchr(rest->p, ' ', rest->len);
	len = sp ? (size_t)(sp - rest->p) : rest->len;
	eq = memchr(rest->p, '=', len);
	p->key = (struct strv){rest->p, eq ? (size_t)(eq - rest->p) : len};
	p->has_val = eq != NULL;
	p->val = eq ? (struct strv){eq + 1, len - p->key.len - 1} : (struct strv){rest->p + len, 0};
	*rest = strv_tail(*rest, len);
	if (!is_keyword(p->key)) {
		*err_r = PARAM_SYNTAX;
		return false;
	}
	return true;
}

static enum param_key
lookup_param(struct strv key, bool for_mail)
{
	for (size_t i = 0; i < sizeof param_table / sizeof param_table[0]; i++)
		if (param_table[i].for_mail == for_mail && strv_eq_ci(key, param_table[i].name))
			return param_table[i].key;
	return P_NONE;
}

/* RFC 3461 4.1: NEVER alone, or a list of SUCCESS, FAILURE, DELAY. */
static bool
parse_notify(struct strv v, unsigned *notify_r)
{
	*notify_r = 0;
	if (strv_eq_ci(v, "NEVER"))
		return true;
	for (;;) {
		const char *comma = memchr(v.p, ',', v.len);
		struct strv item = {v.p, comma ? (size_t)(comma - v.p) : v.len};
		if (strv_eq_ci(item, "SUCCESS"))
			*notify_r |= SMTP_NOTIFY_SUCCESS;
		else if (strv_eq_ci(item, "FAILURE"))
			*notify_r |= SMTP_NOTIFY_FAILURE;
		else if (strv_eq_ci(item, "DELAY"))
			*notify_r |= SMTP_NOTIFY_DELAY;
		else
			return false; /* also NEVER in a list, and empty items */
		if (comma == NULL)
			return true;
		v = strv_tail(v, item.len + 1);
	}
}

/* RFC 3461 4.2: addr-type ";" xtext, where addr-type is an atom. */
static bool
is_orcpt(struct strv v)
{
	const char *semi = v.len ? memchr(v.p, ';', v.len) : NULL;

	if (semi == NULL || semi == v.p || v.len > SMTP_ORCPT_MAX)
		return false;
	for (const char *c = v.p; c < semi; c++)
		if (!is_atext(*c))
			return false;
	struct strv x = strv_tail(v, (size_t)(semi - v.p) + 1);
	return x.len > 0 && is_xtext(x);
}

static bool
mail_value(struct smtp_mail_args *r, enum param_key k, const struct param *p)
{
	struct strv v = p->val;

	switch (k) {
	case P_SIZE:
		return (r->has_size = parse_u64(v, &r->size));
	case P_BODY:
		if (strv_eq_ci(v, "7BIT"))
			r->body = SMTP_BODY_7BIT;
		else if (strv_eq_ci(v, "8BITMIME"))
			r->body = SMTP_BODY_8BITMIME;
		else if (strv_eq_ci(v, "BINARYMIME"))
			r->body = SMTP_BODY_BINARYMIME;
		return r->body != SMTP_BODY_NONE;
	case P_SMTPUTF8:
		return (r->smtputf8 = !p->has_val);
	case P_REQUIRETLS: /* RFC 8689 3: no value */
		return (r->requiretls = !p->has_val);
	case P_RET:
		if (strv_eq_ci(v, "FULL"))
			r->ret = SMTP_RET_FULL;
		else if (strv_eq_ci(v, "HDRS"))
			r->ret = SMTP_RET_HDRS;
		return r->ret != SMTP_RET_NONE;
	case P_ENVID:
		return v.len > 0 && v.len <= SMTP_ENVID_MAX && is_xtext(v) &&
		       str_copy_n(r->envid, sizeof r->envid, v.p, v.len);
	case P_AUTH:
		/*
		 * RFC 4954 5: the original submitter, as a relaying MTA (Exim) sends
		 * it. Checked for syntax and then ignored: we trust only our own AUTH.
		 */
		return (v.len == 2 && v.p[0] == '<' && v.p[1] == '>') ||
		       (v.len > 0 && v.len <= SMTP_PATH_MAX && is_xtext(v));
	default:
		return false;
	}
}

static bool
rcpt_value(struct smtp_rcpt_args *r, enum param_key k, const struct param *p)
{
	switch (k) {
	case P_NOTIFY:
		return (r->notify_set = parse_notify(p->val, &r->notify));
	case P_ORCPT:
		return is_orcpt(p->val) &&
		       str_copy_n(r->orcpt, sizeof r->orcpt, p->val.p, p->val.len);
	default:
		return false;
	}
}

/* The parameters after a path; r is a struct smtp_mail_args or smtp_rcpt_args. */
static enum param_err
parse_params(struct strv rest, bool for_mail, void *r)
{
	unsigned seen = 0;
	enum param_err err;
	struct param p;

	while (next_param(&rest, &p, &err)) {
		enum param_key k = lookup_param(p.key, for_mail);
		if (k == P_NONE)
			return PARAM_UNKNOWN;
		if (seen & (1u << k))
			return PARAM_DUPLICATE;
		seen |= 1u << k;
		if (for_mail ? !mail_value(r, k, &p) : !rcpt_value(r, k, &p))
			return PARAM_BAD_VALUE;
	}
	return err;
}

/*
 * One past the '>' that closes the path at s.p[0] == '<', or 0. A quoted
 * local part may contain '>' and backslash pairs; no other part can.
 */
static size_t
path_end(struct strv s)
{
	bool quoted = false;

	if (s.len == 0 || s.p[0] != '<')
		return 0;
	for (size_t i = 1; i < s.len; i++) {
		if (quoted && s.p[i] == '\\')
			i++;
		else if (s.p[i] == '"')
			quoted = !quoted;
		else if (s.p[i] == '>' && !quoted)
			return i + 1;
	}
	return 0;
}

/*
 * After "FROM:" / "TO:": skip the one tolerated space, find the path, and
 * return what follows it in *params_r; *path_r is the path itself.
 */
static enum param_err
split_path(struct strv args, size_t prefix, struct strv *path_r, struct strv *params_r,
	   enum addr_err *addr_err_r)
{
	struct strv s = strv_tail(args, prefix);
	struct smtp_addr scratch;
	size_t end, used;

	if (s.len > 0 && s.p[0] == ' ')
		s = strv_tail(s, 1);
	end = path_end(s);
	if (end == 0) {
		/* Let the path parser name the problem; utf8 so it is not NEED_UTF8. */
		*addr_err_r = smtp_addr_parse_path(s, true, true, &scratch, &used);
		if (*addr_err_r == ADDR_OK)
			*addr_err_r = ADDR_SYNTAX;
		return PARAM_ADDR;
	}
	*path_r = (struct strv){s.p, end};
	*params_r = strv_tail(s, end);
	return PARAM_OK;
}

static enum param_err
parse_path_exact(struct strv path, bool allow_null, bool utf8, struct smtp_addr *a,
		 enum addr_err *addr_err_r)
{
	size_t used;

	*addr_err_r = smtp_addr_parse_path(path, allow_null, utf8, a, &used);
	if (*addr_err_r == ADDR_OK && used != path.len)
		*addr_err_r = ADDR_SYNTAX;
	return *addr_err_r == ADDR_OK ? PARAM_OK : PARAM_ADDR;
}

enum param_err
smtp_cmd_parse_mail(struct strv args, struct smtp_mail_args *r, enum addr_err *addr_err_r)
{
	struct strv path, params;
	enum param_err err;

	memset(r, 0, sizeof *r);
	*addr_err_r = ADDR_OK;
	if (!strv_prefix_ci(args, "FROM:"))
		return PARAM_SYNTAX;
	if ((err = split_path(args, 5, &path, &params, addr_err_r)) != PARAM_OK)
		goto fail;
	if ((err = parse_params(params, true, r)) != PARAM_OK)
		goto fail;
	if ((err = parse_path_exact(path, true, r->smtputf8, &r->from, addr_err_r)) != PARAM_OK)
		goto fail;
	return PARAM_OK;
fail:
	memset(r, 0, sizeof *r);
	return err;
}

enum param_err
smtp_cmd_parse_rcpt(struct strv args, bool utf8, struct smtp_rcpt_args *r,
		    enum addr_err *addr_err_r)
{
	struct strv path, params;
	enum param_err err;

	memset(r, 0, sizeof *r);
	*addr_err_r = ADDR_OK;
	if (!strv_prefix_ci(args, "TO:"))
		return PARAM_SYNTAX;
	if ((err = split_path(args, 3, &path, &params, addr_err_r)) != PARAM_OK)
		goto fail;
	if ((err = parse_path_exact(path, false, utf8, &r->to, addr_err_r)) != PARAM_OK)
		goto fail;
	if ((err = parse_params(params, false, r)) != PARAM_OK)
		goto fail;
	return PARAM_OK;
fail:
	memset(r, 0, sizeof *r);
	return err;
}

bool
smtp_cmd_parse_bdat(struct strv args, uint64_t *size_r, bool *last_r)
{
	size_t i = 0, j;

	*size_r = 0;
	*last_r = false;
	while (i < args.len && args.p[i] >= '0' && args.p[i] <= '9')
		i++;
	if (!parse_u64((struct strv){args.p, i}, size_r))
		return false;
	if (i < args.len && args.p[i] != ' ')
		return false;
	while (i < args.len && args.p[i] == ' ')
		i++;
	for (j = i; j < args.len && args.p[j] != ' '; j++)
		;
	if (j > i && !strv_eq_ci((struct strv){args.p + i, j - i}, "LAST"))
		return false;
	*last_r = j > i;
	while (j < args.len && args.p[j] == ' ')
		j++;
	return j == args.len;
}
