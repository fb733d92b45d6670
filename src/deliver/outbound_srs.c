/*
 * outbound_srs: the envelope sender of mail we forward, rewritten with SRS
 * so the next hop's SPF check of it passes (see srs.h).
 */
#include <string.h>

#include "log.h"
#include "outbound_int.h"
#include "smtp_addr.h"
#include "srs.h"
#include "str.h"

/*
 * The sender a message goes out with: with an SRS secret, a sender of
 * another domain (mail we forward, RFC 7208 appendix D) becomes an SRS
 * address of ours, whose SPF our host passes. The null sender and our own
 * domains' stay; so does a sender whose SRS form passes 64 octets.
 */
void
outbound_srs_sender(struct outbound *ob, const struct spool_entry *e, int64_t now, char *out,
		    size_t size)
{
	const char *at = strrchr(e->from, '@');
	if (ob->cfg.srs_secret[0] == '\0' || ob->cfg.srs_domain[0] == '\0' || at == NULL ||
	    ob->cfg.is_local(at + 1, ob->cfg.arg))
		return;
	struct srs_key k = {(const unsigned char *)ob->cfg.srs_secret, strlen(ob->cfg.srs_secret)};
	char srs[SMTP_PATH_MAX + 64];
	enum srs_result r = srs_forward(&k, e->from, ob->cfg.srs_domain, now, srs, sizeof srs);
	if (r == SRS_OK && strlen(srs) < size) {
		log_info("id=%s event=srs from=<%s> srs=<%s>", e->id, e->from, srs);
		str_copy(out, size, srs);
	} else {
		log_warn("id=%s event=srs_skipped from=<%s> reason=\"%s\" fix=\"none needed: the "
			 "mail goes out with its own sender, which the next hop's SPF may fail\"",
			 e->id, e->from, srs_result_text(r));
	}
}
