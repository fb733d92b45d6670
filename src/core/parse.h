/* The one return convention of incremental parsers (STYLE.md). */
#ifndef MP_PARSE_H
#define MP_PARSE_H

enum parse_rc {
	PARSE_DONE, /* a complete item was recognised */
	PARSE_MORE, /* need more input */
	PARSE_ERR,  /* the input is invalid; see the parser's error out-parameter */
};

#endif
