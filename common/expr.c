/*
 * expr.c - expressions over named columns (sluice.h, docs/expressions.md):
 * a recursive-descent parser into a tree of nodes, type-checked when it
 * is built (a condition is made of comparisons, a comparison of values),
 * and an evaluator over the columns' text with exact decimals.
 *
 * The tree lives in one array of nodes (children by index), so that
 * sl_expr_free is two frees whatever the size. Evaluation allocates
 * nothing: a value is a tagged union of a number and a slice of the input
 * (or of the expression's text, for literals). Depth is bounded
 * (EXPR_MAX_DEPTH) so that hostile text cannot exhaust the stack.
 *
 * Thread-safe once compiled: evaluation reads the tree only.
 */
#include "sl_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_MAX_DEPTH 64   /* nesting of parentheses and operators */
#define EXPR_MAX_NODES 4096 /* nodes of one expression */
#define EXPR_MAX_COLS 256   /* distinct columns of one expression */

typedef enum expr_op {
	OP_NUM,      /* a number literal: num */
	OP_STR,      /* a text literal: str */
	OP_COL,      /* a column: col */
	OP_NEG,      /* - a */
	OP_ADD, OP_SUB, OP_MUL,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_ISNULL, OP_NOTNULL,
	OP_PREFIX,   /* starts_with(a, b) */
	OP_AND, OP_OR, OP_NOT,
} expr_op;

typedef struct expr_node {
	uint8_t op;        /* expr_op */
	bool cond;         /* a condition (true/false/unknown), not a value */
	bool numeric;      /* a value: a number, whatever its columns hold */
	uint32_t a, b;     /* children, by index */
	sl_decimal num;    /* OP_NUM */
	sl_slice str;      /* OP_STR: into text (quotes doubled: see strq) */
	bool strq;         /* OP_STR holds '' pairs to undo */
	uint32_t col;      /* OP_COL: index into cols */
} expr_node;

struct sl_expr {
	char *text;         /* a copy of the source */
	expr_node *nodes;
	uint32_t nnodes;
	size_t nalloc;
	uint32_t root;
	char **cols;        /* distinct column names, first use first */
	size_t ncols;
	size_t calloc_n;
};

/* The parser's state. */
typedef struct expr_parser {
	sl_expr *e;
	const char *p;      /* next byte */
	int depth;
	char *err;          /* SL_EXPR_ERR_MAX bytes */
	int rv;             /* SL_OK until an error */
} expr_parser;

static int
expr_fail(expr_parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->rv != SL_OK)
		return ps->rv;
	n = snprintf(ps->err, SL_EXPR_ERR_MAX, "at byte %zu: ",
		     (size_t)(ps->p - ps->e->text) + 1);
	va_start(ap, fmt);
	vsnprintf(ps->err + n, SL_EXPR_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	ps->rv = SL_EUSAGE;
	return ps->rv;
}

static void
expr_skip(expr_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	       *ps->p == '\r')
		ps->p++;
}

static bool
expr_ident_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Whether the next word is keyword kw (any case); consumes it if so. */
static bool
expr_keyword(expr_parser *ps, const char *kw)
{
	size_t n = strlen(kw), i;

	expr_skip(ps);
	for (i = 0; i < n; i++) {
		char c = ps->p[i];

		if ((c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c) != kw[i])
			return false;
	}
	if (expr_ident_char(ps->p[n], false))
		return false;
	ps->p += n;
	return true;
}

/* Whether the next bytes are symbol sym; consumes them if so. */
static bool
expr_symbol(expr_parser *ps, const char *sym)
{
	size_t n = strlen(sym);

	expr_skip(ps);
	if (strncmp(ps->p, sym, n) != 0)
		return false;
	ps->p += n;
	return true;
}

/* A new node; its index, or UINT32_MAX with ps->rv set. */
static uint32_t
expr_node_new(expr_parser *ps, expr_op op, bool cond, uint32_t a,
	      uint32_t b)
{
	sl_expr *e = ps->e;
	expr_node *n;

	if (ps->rv != SL_OK)
		return UINT32_MAX;
	if (e->nnodes == EXPR_MAX_NODES) {
		expr_fail(ps, "expression too long (%d parts at most)",
			  EXPR_MAX_NODES);
		return UINT32_MAX;
	}
	if (sl_array_grow(&e->nodes, &e->nalloc, e->nnodes + 1,
			  sizeof(*e->nodes)) != SL_OK) {
		ps->rv = SL_ENOMEM;
		return UINT32_MAX;
	}
	n = &e->nodes[e->nnodes];
	memset(n, 0, sizeof(*n));
	n->op = (uint8_t)op;
	n->cond = cond;
	n->a = a;
	n->b = b;
	return e->nnodes++;
}

static uint32_t expr_cond(expr_parser *ps);
static uint32_t expr_value(expr_parser *ps);

/* One level deeper, or false (an error) past EXPR_MAX_DEPTH; a true
 * return is paired with ps->depth-- on the way out. */
static bool
expr_deeper(expr_parser *ps)
{
	if (++ps->depth <= EXPR_MAX_DEPTH)
		return true;
	ps->depth--;
	expr_fail(ps, "nested more than %d deep", EXPR_MAX_DEPTH);
	return false;
}

/* Checks that node i is a value (want_cond false) or a condition. */
static bool
expr_want(expr_parser *ps, uint32_t i, bool want_cond, const char *where)
{
	if (ps->rv != SL_OK)
		return false;
	if (ps->e->nodes[i].cond == want_cond)
		return true;
	expr_fail(ps, want_cond ? "%s needs a condition (a comparison), not "
				  "a value"
				: "%s needs a value, not a condition", where);
	return false;
}

static uint32_t
expr_column(expr_parser *ps, const char *name, size_t len)
{
	sl_expr *e = ps->e;
	uint32_t i = expr_node_new(ps, OP_COL, false, 0, 0);
	size_t c;

	if (i == UINT32_MAX)
		return i;
	for (c = 0; c < e->ncols; c++)
		if (strlen(e->cols[c]) == len &&
		    memcmp(e->cols[c], name, len) == 0)
			break;
	if (c == e->ncols) {
		char *copy;

		if (c == EXPR_MAX_COLS) {
			expr_fail(ps, "more than %d columns", EXPR_MAX_COLS);
			return UINT32_MAX;
		}
		if (sl_array_grow(&e->cols, &e->calloc_n, e->ncols + 1,
				  sizeof(*e->cols)) != SL_OK ||
		    (copy = malloc(len + 1)) == NULL) {
			ps->rv = SL_ENOMEM;
			return UINT32_MAX;
		}
		memcpy(copy, name, len);
		copy[len] = '\0';
		e->cols[e->ncols++] = copy;
	}
	e->nodes[i].col = (uint32_t)c;
	return i;
}

/* primary := NUMBER | 'TEXT' | NAME | "NAME" | ( value ) */
static uint32_t
expr_primary(expr_parser *ps)
{
	const char *start;
	uint32_t i;

	expr_skip(ps);
	start = ps->p;
	if ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.') {
		sl_decimal d;
		int rv;

		while ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.')
			ps->p++;
		rv = sl_dec_parse(start, (size_t)(ps->p - start), &d);
		if (rv != SL_OK) {
			int len = (int)(ps->p - start);

			ps->p = start;
			expr_fail(ps, "'%.*s' is not a number%s", len, start,
				  rv == SL_EOVERFLOW ? " in range" : "");
			return UINT32_MAX;
		}
		i = expr_node_new(ps, OP_NUM, false, 0, 0);
		if (i != UINT32_MAX) {
			ps->e->nodes[i].num = d;
			ps->e->nodes[i].numeric = true;
		}
		return i;
	}
	if (*ps->p == '\'' || *ps->p == '"') {
		char q = *ps->p++;
		bool doubled = false;

		for (;;) {
			if (*ps->p == '\0') {
				ps->p = start;
				expr_fail(ps, "%s without its closing %c",
					  q == '\'' ? "text" : "name", q);
				return UINT32_MAX;
			}
			if (*ps->p == q && ps->p[1] == q) {
				doubled = true;
				ps->p += 2;
				continue;
			}
			if (*ps->p == q)
				break;
			ps->p++;
		}
		ps->p++;
		if (q == '"') {
			if (doubled) {
				ps->p = start;
				expr_fail(ps, "a \"name\" with a \" in it");
				return UINT32_MAX;
			}
			return expr_column(ps, start + 1,
					   (size_t)(ps->p - start - 2));
		}
		i = expr_node_new(ps, OP_STR, false, 0, 0);
		if (i != UINT32_MAX) {
			ps->e->nodes[i].str.ptr = start + 1;
			ps->e->nodes[i].str.len = (size_t)(ps->p - start - 2);
			ps->e->nodes[i].strq = doubled;
		}
		return i;
	}
	if (expr_ident_char(*ps->p, true)) {
		while (expr_ident_char(*ps->p, false))
			ps->p++;
		return expr_column(ps, start, (size_t)(ps->p - start));
	}
	if (*ps->p == '(') {
		/* a value or a condition: the type check tells them apart */
		ps->p++;
		i = expr_cond(ps);
		if (ps->rv == SL_OK && !expr_symbol(ps, ")"))
			expr_fail(ps, "expected ')'");
		return ps->rv == SL_OK ? i : UINT32_MAX;
	}
	expr_fail(ps, *ps->p ? "expected a value at '%.16s'"
			     : "expected a value at the end", ps->p);
	return UINT32_MAX;
}

/* unary := - unary | primary */
static uint32_t
expr_unary(expr_parser *ps)
{
	uint32_t a;

	if (!expr_deeper(ps))
		return UINT32_MAX;
	if (expr_symbol(ps, "-")) {
		a = expr_unary(ps);
		a = a == UINT32_MAX ? a : expr_node_new(ps, OP_NEG, false, a, 0);
		if (a != UINT32_MAX)
			ps->e->nodes[a].numeric = true;
	} else {
		a = expr_primary(ps);
	}
	ps->depth--;
	return a;
}

/* value := product ((+|-) product)*, product := unary (* unary)* */
static uint32_t
expr_arith(expr_parser *ps, bool product)
{
	uint32_t a = product ? expr_unary(ps) : expr_arith(ps, true), b;
	expr_op op;

	while (ps->rv == SL_OK) {
		if (product && expr_symbol(ps, "*"))
			op = OP_MUL;
		else if (!product && expr_symbol(ps, "+"))
			op = OP_ADD;
		else if (!product && expr_symbol(ps, "-"))
			op = OP_SUB;
		else
			break;
		b = product ? expr_unary(ps) : expr_arith(ps, true);
		if (b == UINT32_MAX)
			return b;
		a = expr_node_new(ps, op, false, a, b);
		if (a != UINT32_MAX)
			ps->e->nodes[a].numeric = true;
	}
	return ps->rv == SL_OK ? a : UINT32_MAX;
}

static uint32_t
expr_value(expr_parser *ps)
{
	uint32_t a;

	if (!expr_deeper(ps))
		return UINT32_MAX;
	a = expr_arith(ps, false);
	ps->depth--;
	return a;
}

/* test := value CMP value | value is [not] null | starts_with(v, v)
 *       | ( cond ), which expr_value reads as a primary; a value alone
 * is returned as it is, for ( value ) and for the type check to refuse
 * elsewhere */
static uint32_t
expr_test(expr_parser *ps)
{
	static const struct {
		const char *sym;
		expr_op op;
	} cmps[] = { { "<=", OP_LE }, { ">=", OP_GE }, { "!=", OP_NE },
		     { "<>", OP_NE }, { "=", OP_EQ }, { "<", OP_LT },
		     { ">", OP_GT } };
	uint32_t a, b;
	size_t k;

	expr_skip(ps);
	if (expr_keyword(ps, "starts_with")) {
		if (!expr_symbol(ps, "("))
			return expr_fail(ps, "expected '(' after starts_with"),
			       UINT32_MAX;
		a = expr_value(ps);
		if (ps->rv == SL_OK && !expr_symbol(ps, ","))
			expr_fail(ps, "expected ',' in starts_with(TEXT, "
				  "PREFIX)");
		b = ps->rv == SL_OK ? expr_value(ps) : UINT32_MAX;
		if (ps->rv == SL_OK && !expr_symbol(ps, ")"))
			expr_fail(ps, "expected ')' after starts_with's "
				  "arguments");
		return expr_node_new(ps, OP_PREFIX, true, a, b);
	}
	a = expr_value(ps);
	if (ps->rv != SL_OK)
		return UINT32_MAX;
	if (expr_keyword(ps, "is")) {
		bool neg = expr_keyword(ps, "not");

		if (!expr_keyword(ps, "null"))
			return expr_fail(ps, "expected 'null' after 'is'"),
			       UINT32_MAX;
		return expr_node_new(ps, neg ? OP_NOTNULL : OP_ISNULL, true, a,
				     0);
	}
	for (k = 0; k < sizeof(cmps) / sizeof(cmps[0]); k++)
		if (expr_symbol(ps, cmps[k].sym))
			break;
	if (k == sizeof(cmps) / sizeof(cmps[0]))
		return a; /* ( cond ), or a value the type check refuses */
	b = expr_value(ps);
	return expr_node_new(ps, cmps[k].op, true, a, b);
}

/* not := not not | test */
static uint32_t
expr_not(expr_parser *ps)
{
	uint32_t a;

	if (!expr_deeper(ps))
		return UINT32_MAX;
	if (expr_keyword(ps, "not")) {
		a = expr_not(ps);
		a = a == UINT32_MAX ? a : expr_node_new(ps, OP_NOT, true, a, 0);
	} else {
		a = expr_test(ps);
	}
	ps->depth--;
	return a;
}

/* cond := and (or and)*, and := not (and not)* */
static uint32_t
expr_logic(expr_parser *ps, bool conj)
{
	uint32_t a = conj ? expr_not(ps) : expr_logic(ps, true), b;

	while (ps->rv == SL_OK &&
	       expr_keyword(ps, conj ? "and" : "or")) {
		b = conj ? expr_not(ps) : expr_logic(ps, true);
		if (b == UINT32_MAX)
			return b;
		a = expr_node_new(ps, conj ? OP_AND : OP_OR, true, a, b);
	}
	return ps->rv == SL_OK ? a : UINT32_MAX;
}

static uint32_t
expr_cond(expr_parser *ps)
{
	uint32_t a;

	if (!expr_deeper(ps))
		return UINT32_MAX;
	a = expr_logic(ps, false);
	ps->depth--;
	return a;
}

void
sl_expr_free(sl_expr *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->ncols; i++)
		free(e->cols[i]);
	free(e->cols);
	free(e->nodes);
	free(e->text);
	free(e);
}

/* The type rules, from the leaves up (the parser built children first). */
static bool
expr_check(expr_parser *ps)
{
	uint32_t i;

	for (i = 0; i < ps->e->nnodes; i++) {
		const expr_node *n = &ps->e->nodes[i];

		switch (n->op) {
		case OP_NEG: case OP_ADD: case OP_SUB: case OP_MUL:
		case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT:
		case OP_GE: case OP_PREFIX:
			if (!expr_want(ps, n->a, false, "an operator") ||
			    (n->op != OP_NEG &&
			     !expr_want(ps, n->b, false, "an operator")))
				return false;
			break;
		case OP_ISNULL: case OP_NOTNULL:
			if (!expr_want(ps, n->a, false, "'is null'"))
				return false;
			break;
		case OP_AND: case OP_OR:
			if (!expr_want(ps, n->b, true, "'and' and 'or'"))
				return false;
			/* fall through */
		case OP_NOT:
			if (!expr_want(ps, n->a, true, "'and', 'or' and 'not'"))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

int
sl_expr_compile(const char *text, sl_expr **out, char err[SL_EXPR_ERR_MAX])
{
	expr_parser ps = { .err = err };
	sl_expr *e = calloc(1, sizeof(*e));

	*out = NULL;
	err[0] = '\0';
	if (e == NULL || (e->text = strdup(text)) == NULL) {
		free(e);
		snprintf(err, SL_EXPR_ERR_MAX, "out of memory");
		return SL_ENOMEM;
	}
	ps.e = e;
	ps.p = e->text;
	e->root = expr_cond(&ps);
	expr_skip(&ps);
	if (ps.rv == SL_OK && *ps.p)
		expr_fail(&ps, "unexpected '%.16s'", ps.p);
	if (ps.rv == SL_OK && expr_check(&ps) && !e->nodes[e->root].cond) {
		ps.p = e->text;
		expr_fail(&ps, "a value, not a condition: compare it "
			  "(=, <, ...)");
	}
	if (ps.rv != SL_OK) {
		if (ps.rv == SL_ENOMEM)
			snprintf(err, SL_EXPR_ERR_MAX, "out of memory");
		sl_expr_free(e);
		return ps.rv;
	}
	*out = e;
	return SL_OK;
}

size_t
sl_expr_columns(const sl_expr *e, const char *const **names)
{
	*names = (const char *const *)e->cols;
	return e->ncols;
}

/* --- evaluation ---------------------------------------------------------- */

typedef enum { V_NULL, V_NUM, V_STR } expr_vtype;

typedef struct expr_val {
	expr_vtype t;
	sl_decimal num;    /* V_NUM */
	sl_slice str;      /* V_STR */
	uint32_t col;      /* V_STR of a column: which, for messages; or
			      UINT32_MAX */
	bool strq;         /* V_STR with '' pairs (a literal) */
} expr_val;

/* Three-valued results of conditions. */
enum { T_FALSE = 0, T_TRUE = 1, T_UNKNOWN = 2 };

typedef struct expr_eval {
	const sl_expr *e;
	const sl_slice *vals;
	char *err;
	int rv;
} expr_eval;

static int
expr_eval_fail(expr_eval *ev, int rv, const char *fmt, ...)
{
	va_list ap;

	if (ev->rv == SL_OK) {
		va_start(ap, fmt);
		vsnprintf(ev->err, SL_EXPR_ERR_MAX, fmt, ap);
		va_end(ap);
		ev->rv = rv;
	}
	return rv;
}

/* The number of v, which must be one; false with ev->rv set if not. */
static bool
expr_number(expr_eval *ev, const expr_val *v, sl_decimal *out)
{
	int rv;

	if (v->t == V_NUM) {
		*out = v->num;
		return true;
	}
	rv = sl_dec_parse(v->str.ptr, v->str.len, out);
	if (rv == SL_OK)
		return true;
	if (v->col != UINT32_MAX)
		expr_eval_fail(ev, SL_EBADRECORD, "column '%s': '%.*s' is not "
			       "a number", ev->e->cols[v->col],
			       (int)(v->str.len > 64 ? 64 : v->str.len),
			       v->str.ptr);
	else
		expr_eval_fail(ev, SL_EBADRECORD, "'%.*s' is not a number",
			       (int)(v->str.len > 64 ? 64 : v->str.len),
			       v->str.ptr);
	return false;
}

static void expr_value_of(expr_eval *ev, uint32_t i, expr_val *out);

static void
expr_arith_of(expr_eval *ev, const expr_node *n, expr_val *out)
{
	expr_val a, b;
	sl_decimal x, y;
	int rv = SL_OK;

	expr_value_of(ev, n->a, &a);
	if (n->op != OP_NEG)
		expr_value_of(ev, n->b, &b);
	out->t = V_NULL;
	if (ev->rv != SL_OK || a.t == V_NULL ||
	    (n->op != OP_NEG && b.t == V_NULL))
		return;
	if (!expr_number(ev, &a, &x) ||
	    (n->op != OP_NEG && !expr_number(ev, &b, &y)))
		return;
	switch (n->op) {
	case OP_NEG:
		x.mant = -x.mant; /* the range is symmetric */
		break;
	case OP_SUB:
		y.mant = -y.mant;
		/* fall through */
	case OP_ADD:
		rv = sl_dec_add(&x, y);
		break;
	default:
		rv = sl_dec_mul(&x, y);
		break;
	}
	if (rv != SL_OK) {
		expr_eval_fail(ev, SL_EOVERFLOW, "arithmetic overflows (more "
			       "than 38 digits, or 18 decimals)");
		return;
	}
	out->t = V_NUM;
	out->num = x;
}

static void
expr_value_of(expr_eval *ev, uint32_t i, expr_val *out)
{
	const expr_node *n = &ev->e->nodes[i];

	out->col = UINT32_MAX;
	out->strq = false;
	switch (n->op) {
	case OP_NUM:
		out->t = V_NUM;
		out->num = n->num;
		return;
	case OP_STR:
		out->t = V_STR;
		out->str = n->str;
		out->strq = n->strq;
		return;
	case OP_COL:
		out->str = ev->vals[n->col];
		out->t = out->str.len ? V_STR : V_NULL;
		out->col = n->col;
		return;
	default:
		expr_arith_of(ev, n, out);
		return;
	}
}

/* Byte comparison of two texts, '' pairs of literals read as one '. */
static int
expr_text_cmp(const expr_val *a, const expr_val *b, bool prefix)
{
	size_t i = 0, j = 0;

	while (i < a->str.len && j < b->str.len) {
		unsigned char x = (unsigned char)a->str.ptr[i];
		unsigned char y = (unsigned char)b->str.ptr[j];

		if (x != y)
			return x < y ? -1 : 1;
		i += 1 + (a->strq && x == '\'');
		j += 1 + (b->strq && y == '\'');
	}
	if (prefix)
		return j >= b->str.len ? 0 : 1;
	return (i < a->str.len) - (j < b->str.len);
}

static int
expr_truth(expr_eval *ev, uint32_t i)
{
	const expr_node *n = &ev->e->nodes[i];
	expr_val a, b;
	sl_decimal x, y;
	int c, l, r;

	switch (n->op) {
	case OP_AND:
	case OP_OR:
		l = expr_truth(ev, n->a);
		r = expr_truth(ev, n->b);
		if (n->op == OP_AND)
			return l == T_FALSE || r == T_FALSE ? T_FALSE
			       : l == T_TRUE && r == T_TRUE ? T_TRUE
							    : T_UNKNOWN;
		return l == T_TRUE || r == T_TRUE ? T_TRUE
		       : l == T_FALSE && r == T_FALSE ? T_FALSE
						      : T_UNKNOWN;
	case OP_NOT:
		l = expr_truth(ev, n->a);
		return l == T_UNKNOWN ? T_UNKNOWN : !l;
	case OP_ISNULL:
	case OP_NOTNULL:
		expr_value_of(ev, n->a, &a);
		return (a.t == V_NULL) == (n->op == OP_ISNULL);
	default:
		break;
	}
	expr_value_of(ev, n->a, &a);
	expr_value_of(ev, n->b, &b);
	if (ev->rv != SL_OK || a.t == V_NULL || b.t == V_NULL)
		return T_UNKNOWN;
	if (n->op == OP_PREFIX) {
		if (a.t == V_NUM || b.t == V_NUM) {
			expr_eval_fail(ev, SL_EBADRECORD, "starts_with takes "
				       "texts, not numbers");
			return T_UNKNOWN;
		}
		return expr_text_cmp(&a, &b, true) == 0;
	}
	if (a.t == V_NUM || b.t == V_NUM ||
	    (sl_dec_parse(a.str.ptr, a.str.len, &x) == SL_OK &&
	     sl_dec_parse(b.str.ptr, b.str.len, &y) == SL_OK)) {
		if (!expr_number(ev, &a, &x) || !expr_number(ev, &b, &y))
			return T_UNKNOWN;
		c = sl_dec_cmp(x, y);
	} else {
		c = expr_text_cmp(&a, &b, false);
	}
	switch (n->op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	default: return c >= 0;
	}
}

int
sl_expr_eval(const sl_expr *e, const sl_slice *vals,
	     char err[SL_EXPR_ERR_MAX])
{
	expr_eval ev = { .e = e, .vals = vals, .err = err, .rv = SL_OK };
	int t = expr_truth(&ev, e->root);

	if (ev.rv != SL_OK)
		return ev.rv;
	return t == T_TRUE;
}
