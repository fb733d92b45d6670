/*
 * verify_input: the addresses `mailport verify` is given in a file, one
 * per line or as a CSV column, and the CSV itself, kept so that --csv can
 * write each input row back beside its result. Pure: text in, strings out.
 */
#ifndef MP_VERIFY_INPUT_H
#define MP_VERIFY_INPUT_H

#include <stddef.h>

/* The input CSV: its header, and the row of each address taken from it. */
struct verify_csv_in {
	char **head;
	size_t nhead;
	char ***rows; /* rows[i]: the fields of address i of the file */
	size_t *nfields;
	size_t nrows;
};

/*
 * Addresses from a file's text: one per line (blank lines and "#"
 * comments skipped), or, with column, a CSV whose header names the
 * column (case-insensitive). Each address is appended to *list (count
 * *n_r; the caller frees each string and the list). -1 with err when the
 * column is missing. With csv (and column), the header and the row of each
 * address are kept there, for verify_csv; free them with
 * verify_csv_in_free.
 */
int verify_read_input(const char *text, size_t len, const char *column, char ***list, size_t *n_r,
		      struct verify_csv_in *csv, char *err, size_t err_size);
void verify_csv_in_free(struct verify_csv_in *csv);

#endif
