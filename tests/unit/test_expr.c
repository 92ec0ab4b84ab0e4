/*
 * test_expr.c - expressions over named columns (common/expr.c): what
 * compiles and what does not (with its message), and each rule of
 * evaluation, worked out from docs/expressions.md.
 */
#include "sl_impl.h"

#include "unit.h"

/* Evaluates text over "name=value;name=value" (a value may be empty). */
static int
eval(const char *text, const char *row)
{
	char err[SL_EXPR_ERR_MAX], names[16][32], vals[16][64];
	sl_slice v[16];
	const char *const *cols;
	sl_expr *e;
	size_t n = 0, i, k;
	int rv;

	while (*row && n < 16) {
		sscanf(row, "%31[^=]=%63[^;]", names[n], vals[n]);
		if (strchr(row, '=')[1] == ';' || strchr(row, '=')[1] == '\0')
			vals[n][0] = '\0';
		n++;
		row = strchr(row, ';') ? strchr(row, ';') + 1 : row + strlen(row);
	}
	rv = sl_expr_compile(text, &e, err);
	if (rv != SL_OK) {
		fprintf(stderr, "'%s': %s\n", text, err);
		CU_FAIL("does not compile");
		return -100;
	}
	k = sl_expr_columns(e, &cols);
	for (i = 0; i < k; i++) {
		size_t j;

		for (j = 0; j < n && strcmp(names[j], cols[i]) != 0; j++)
			;
		CU_ASSERT_FATAL(j < n);
		v[i].ptr = vals[j];
		v[i].len = strlen(vals[j]);
	}
	rv = sl_expr_eval(e, v, err);
	sl_expr_free(e);
	return rv;
}

static void
compile_bad(const char *text, const char *want)
{
	char err[SL_EXPR_ERR_MAX];
	sl_expr *e = NULL;

	ASSERT_EQ_INT(sl_expr_compile(text, &e, err), SL_EUSAGE);
	CU_ASSERT(e == NULL);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "'%s': got '%s', want '%s'\n", text, err, want);
	CU_ASSERT(strstr(err, want) != NULL);
}

static void
test_comparisons_of_numbers_and_texts(void)
{
	ASSERT_EQ_INT(eval("n > 9", "n=10"), 1);   /* numbers, not "10" < "9" */
	ASSERT_EQ_INT(eval("n = 1.50", "n=1.5"), 1);
	ASSERT_EQ_INT(eval("n >= -2", "n=-2.0"), 1);
	ASSERT_EQ_INT(eval("n < 1", "n=1"), 0);
	ASSERT_EQ_INT(eval("n != 3 and n <> 4", "n=5"), 1);
	ASSERT_EQ_INT(eval("a < b", "a=10;b=9"), 0); /* both numbers */
	ASSERT_EQ_INT(eval("a < b", "a=apple;b=banana"), 1);
	ASSERT_EQ_INT(eval("city = 'Paris'", "city=Paris"), 1);
	ASSERT_EQ_INT(eval("city = 'paris'", "city=Paris"), 0);
	ASSERT_EQ_INT(eval("s = 'it''s'", "s=it's"), 1);
	ASSERT_EQ_INT(eval("s > 'it''r'", "s=it's"), 1);
	ASSERT_EQ_INT(eval("\"unit price\" * qty > 100", "unit price=12.5;qty=9"),
		      1);
}

static void
test_arithmetic_is_exact(void)
{
	ASSERT_EQ_INT(eval("a + a + a = 0.3", "a=0.1"), 1);
	ASSERT_EQ_INT(eval("a * 3 = 0.30", "a=0.1"), 1);
	ASSERT_EQ_INT(eval("a - b = -0.01", "a=1.99;b=2"), 1);
	ASSERT_EQ_INT(eval("-a = 0 - a", "a=7"), 1);
	ASSERT_EQ_INT(eval("2 + 3 * 4 = 14", ""), 1);
	ASSERT_EQ_INT(eval("(2 + 3) * 4 = 20", ""), 1);
	ASSERT_EQ_INT(eval("a * a > 0", "a=99999999999999999999999999999"),
		      SL_EOVERFLOW);
}

static void
test_null_is_unknown_and_unknown_is_not_true(void)
{
	ASSERT_EQ_INT(eval("n > 1", "n="), 0);
	ASSERT_EQ_INT(eval("not n > 1", "n="), 0);      /* not unknown */
	ASSERT_EQ_INT(eval("n > 1 or m = 1", "n=;m=1"), 1);
	ASSERT_EQ_INT(eval("n > 1 and m = 2", "n=;m=1"), 0);
	ASSERT_EQ_INT(eval("not (n > 1 and m = 2)", "n=;m=1"), 1);
	ASSERT_EQ_INT(eval("n is null", "n="), 1);
	ASSERT_EQ_INT(eval("n is not null", "n="), 0);
	ASSERT_EQ_INT(eval("n + 1 is null", "n="), 1);
	ASSERT_EQ_INT(eval("NOT n IS NULL AND n > 0", "n=3"), 1);
}

static void
test_starts_with_compares_bytes(void)
{
	ASSERT_EQ_INT(eval("starts_with(url, 'https://')", "url=https://x"), 1);
	ASSERT_EQ_INT(eval("starts_with(url, 'https://')", "url=http://x"), 0);
	ASSERT_EQ_INT(eval("starts_with(url, '')", "url=a"), 1);
	ASSERT_EQ_INT(eval("starts_with(a, b)", "a=abc;b=abcd"), 0);
	ASSERT_EQ_INT(eval("starts_with(a, 'x')", "a="), 0);
	ASSERT_EQ_INT(eval("not starts_with(a, 'it''s')", "a=it's me"), 0);
}

static void
test_a_column_that_is_not_a_number_is_a_bad_record(void)
{
	char err[SL_EXPR_ERR_MAX];
	sl_slice v = { "12abc", 5 };
	sl_expr *e;

	ASSERT_EQ_INT(sl_expr_compile("price > 10", &e, err), SL_OK);
	ASSERT_EQ_INT(sl_expr_eval(e, &v, err), SL_EBADRECORD);
	ASSERT_EQ_STR(err, "column 'price': '12abc' is not a number");
	sl_expr_free(e);
}

static void
test_bad_expressions_are_refused_naming_the_byte(void)
{
	char deep[300];
	size_t i;

	compile_bad("", "expected a value at the end");
	compile_bad("price", "a value, not a condition");
	compile_bad("price > ", "at byte 9: expected a value at the end");
	compile_bad("price >> 3", "at byte 8: expected a value");
	compile_bad("a > 1 and", "expected a value at the end");
	compile_bad("a > 1 b", "unexpected 'b'");
	compile_bad("(a > 1", "expected ')'");
	compile_bad("a = 'open", "text without its closing '");
	compile_bad("\"a", "name without its closing \"");
	compile_bad("a = 1.2.3", "'1.2.3' is not a number");
	compile_bad("(a > 1) + 2 > 0", "needs a value, not a condition");
	compile_bad("a and b", "needs a condition");
	compile_bad("not a", "needs a condition");
	compile_bad("(a) > 1 and (b)", "needs a condition");
	compile_bad("a is 3", "expected 'null' after 'is'");
	compile_bad("starts_with(a)", "expected ','");
	for (i = 0; i < 200; i++)
		deep[i] = '(';
	strcpy(deep + 200, "a > 1");
	compile_bad(deep, "nested more than 64 deep");
}

static void
test_columns_are_listed_once_in_order(void)
{
	char err[SL_EXPR_ERR_MAX];
	const char *const *cols;
	sl_expr *e;

	ASSERT_EQ_INT(sl_expr_compile("b > 1 and a < b or \"c d\" = a", &e,
				      err), SL_OK);
	ASSERT_EQ_INT(sl_expr_columns(e, &cols), 3);
	ASSERT_EQ_STR(cols[0], "b");
	ASSERT_EQ_STR(cols[1], "a");
	ASSERT_EQ_STR(cols[2], "c d");
	sl_expr_free(e);
	sl_expr_free(NULL);
}

static const unit_case cases[] = {
	{ "comparisons of numbers and texts",
	  test_comparisons_of_numbers_and_texts },
	{ "arithmetic is exact", test_arithmetic_is_exact },
	{ "NULL is unknown and unknown is not true",
	  test_null_is_unknown_and_unknown_is_not_true },
	{ "starts_with compares bytes", test_starts_with_compares_bytes },
	{ "a column that is not a number is a bad record",
	  test_a_column_that_is_not_a_number_is_a_bad_record },
	{ "bad expressions are refused, naming the byte",
	  test_bad_expressions_are_refused_naming_the_byte },
	{ "columns are listed once, in order",
	  test_columns_are_listed_once_in_order },
	{ NULL, NULL }
};

UNIT_MAIN("expr", cases)
