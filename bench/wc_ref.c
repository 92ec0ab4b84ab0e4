/*
 * wc_ref.c - the hand-written word count that sluice's benchmark measures
 * sluice against: as fast as one careful program on one machine can go.
 *
 *   wc_ref [-t THREADS] FILE > out
 *
 * prints "word\tcount\n" for every distinct word of FILE, sorted by word
 * bytes (memcmp), with sluice's word: a maximal run of bytes other than
 * space \t \n \v \f \r, case-sensitive, bytes as they are (NUL included).
 *
 * How: FILE is mapped (read-only, private) into a reservation that is
 * WC_PAD bytes longer, so that 64-byte vector loads and 8-byte key loads
 * may run past the end of the file without a fault. The mapping is cut
 * into THREADS chunks at whitespace, so no word straddles two chunks; one
 * thread scans each chunk 64 bytes at a time: four SSE2 compares give a
 * 64-bit whitespace mask, word starts and ends are the mask's rising and
 * falling edges, found with count-trailing-zeros. Each word goes into the
 * thread's own open-addressing hash table (linear probing, stored hash,
 * keys of up to 8 bytes inline in the slot, longer keys in the table's
 * arena). The main thread then merges the tables into the first one,
 * sorts the distinct words and writes them through one buffer.
 *
 * Ownership: main() owns the mapping and the tables; each thread writes
 * only its own table. Costs: one pass over the file per thread's share,
 * 32 bytes a slot at load <= 1/2, arena bytes = the distinct words longer
 * than 8 bytes; the sort is O(D log D) for D distinct words.
 *
 * This is a program, not library code: it reports an error on stderr and
 * exits 1 (2 for a usage error).
 *
 * Build: cc -O2 -march=x86-64-v2 -o wc_ref bench/wc_ref.c -lxxhash -lpthread
 */
#include <emmintrin.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define WC_MAX_THREADS 256
#define WC_PAD 4096		/* readable bytes mapped past the end of the file */
#define WC_OUTBUF (1 << 20)	/* bytes of the output buffer */
#define WC_BATCH 128		/* words looked up together */

/* One distinct word. An empty slot has count 0. */
struct wc_slot {
	uint64_t hash;  /* wc_hash() of the word */
	uint64_t len;   /* bytes in the word, >= 1 */
	uint64_t key;   /* len <= 8: the bytes, zero-padded; else arena offset */
	uint64_t count; /* occurrences, 0 = empty slot */
};

struct wc_table {
	struct wc_slot *slots; /* cap slots */
	size_t cap;            /* a power of two */
	size_t used;           /* slots with count > 0 */
	uint8_t *arena;        /* bytes of the keys longer than 8 */
	size_t arena_len;      /* bytes in use in arena */
	size_t arena_cap;      /* bytes allocated at arena */
};

/* A word found by the scan, waiting in a batch (wc_table_add_batch). */
struct wc_word {
	const uint8_t *word; /* first byte, 8 readable bytes from here */
	size_t len;          /* bytes */
	uint64_t prefix;     /* wc_prefix() */
	uint64_t hash;       /* wc_hash() */
};

/* One thread's work: scan [beg, end) into table. */
struct wc_task {
	const uint8_t *beg;
	const uint8_t *end;
	struct wc_table table;
	pthread_t tid;
};

/* One line of the output, for the sort. */
struct wc_entry {
	const uint8_t *word;
	uint64_t len;
	uint64_t count;
};

static void __attribute__((format(printf, 1, 2), noreturn))
wc_die(const char *fmt, ...)
{
	va_list ap;

	fputs("wc_ref: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
wc_xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		wc_die("out of memory");
	return p;
}

static uint64_t
wc_load8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The 128-bit product of a and b folded to 64 bits: one multiply mixes
 * every input bit into the result (the idea of wyhash's "mum"). */
static uint64_t
wc_mix(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* The first min(len, 8) bytes of w as a little-endian integer, the
 * bytes past len zeroed. w must have 8 readable bytes. */
static uint64_t
wc_prefix(const uint8_t *w, size_t len)
{
	uint64_t v = wc_load8(w);

	return len >= 8 ? v : v & ((UINT64_C(1) << (8 * len)) - 1);
}

/* Hash of a word; w must have 8 readable bytes. Words of up to 16 bytes,
 * nearly all words of running text, get one multiply; longer ones go to
 * XXH3, for which a hand loop would be no faster. */
static uint64_t
wc_hash(const uint8_t *w, size_t len, uint64_t prefix)
{
	const uint64_t k1 = UINT64_C(0xa0761d6478bd642f);
	const uint64_t k2 = UINT64_C(0xe7037ed1a0b428db);

	if (len <= 8)
		return wc_mix(prefix ^ k1, len ^ k2);
	if (len <= 16)
		return wc_mix(prefix ^ k1, wc_load8(w + len - 8) ^ k2 ^ len);
	return XXH3_64bits(w, len);
}

static const uint8_t *
wc_slot_word(const struct wc_table *t, const struct wc_slot *s)
{
	return s->len <= 8 ? (const uint8_t *)&s->key : t->arena + s->key;
}

static void
wc_table_init(struct wc_table *t)
{
	t->cap = 1 << 16;
	t->used = 0;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots)
		wc_die("out of memory");
	t->arena = NULL;
	t->arena_len = t->arena_cap = 0;
}

static void
wc_table_release(struct wc_table *t)
{
	free(t->slots);
	free(t->arena);
}

/* Double the slots; stored hashes spare rehashing the words. */
static void
wc_table_grow(struct wc_table *t)
{
	size_t cap = t->cap * 2, mask = cap - 1;
	struct wc_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		wc_die("out of memory");
	for (size_t i = 0; i < t->cap; i++) {
		const struct wc_slot *s = &t->slots[i];
		size_t j;

		if (!s->count)
			continue;
		for (j = s->hash & mask; slots[j].count; j = (j + 1) & mask)
			;
		slots[j] = *s;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

/* Copy a key longer than 8 bytes into the arena; returns its offset. */
static uint64_t
wc_arena_add(struct wc_table *t, const uint8_t *w, size_t len)
{
	size_t off = t->arena_len;

	if (len + 8 > t->arena_cap - t->arena_len) {
		/* 8 spare bytes keep wc_load8() on the last key in bounds */
		size_t cap = t->arena_cap ? t->arena_cap : 1 << 16;

		while (cap - t->arena_len < len + 8) {
			if (cap > SIZE_MAX / 2)
				wc_die("out of memory");
			cap *= 2;
		}
		t->arena = realloc(t->arena, cap);
		if (!t->arena)
			wc_die("out of memory");
		t->arena_cap = cap;
	}
	memcpy(t->arena + off, w, len);
	t->arena_len += len;
	return off;
}

/* Whether slot s holds word w[0..len) of wc_prefix() prefix; s->len ==
 * len. Keys of up to 16 bytes are compared as two 8-byte words (the
 * arena keeps 8 spare bytes) rather than through a call to memcmp. */
static int
wc_key_eq(const struct wc_table *t, const struct wc_slot *s,
	  const uint8_t *w, size_t len, uint64_t prefix)
{
	const uint8_t *k = t->arena + s->key;

	if (len <= 8)
		return s->key == prefix;
	if (len <= 16)
		return wc_load8(k) == prefix &&
		       wc_load8(k + len - 8) == wc_load8(w + len - 8);
	return memcmp(k, w, len) == 0;
}

/* Add n to the count of word w[0..len) whose wc_prefix() and wc_hash()
 * are prefix and h. Inlined into the batch loop: 4-7 % less CPU on the
 * 1 GiB corpus than the call gcc chose to make. */
static inline __attribute__((always_inline)) void
wc_table_put(struct wc_table *t, const uint8_t *w, size_t len,
	     uint64_t prefix, uint64_t h, uint64_t n)
{
	size_t mask = t->cap - 1, i;
	struct wc_slot *s;

	for (i = h & mask;; i = (i + 1) & mask) {
		s = &t->slots[i];
		if (!s->count)
			break;
		if (s->hash != h || s->len != len)
			continue;
		if (wc_key_eq(t, s, w, len, prefix)) {
			s->count += n;
			return;
		}
	}
	s->hash = h;
	s->len = len;
	s->key = len <= 8 ? prefix : wc_arena_add(t, w, len);
	s->count = n;
	if (++t->used * 2 > t->cap)
		wc_table_grow(t);
}

/* Add n to the count of word w[0..len); w must have 8 readable bytes. */
static void
wc_table_add(struct wc_table *t, const uint8_t *w, size_t len, uint64_t n)
{
	uint64_t prefix = wc_prefix(w, len);

	wc_table_put(t, w, len, prefix, wc_hash(w, len, prefix), n);
}

/* Count a batch of words. The slot of each word is prefetched before
 * the first is looked up: the lookups' cache misses then overlap instead
 * of following one another, the main cost of word counting otherwise. */
static void
wc_table_add_batch(struct wc_table *t, struct wc_word *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct wc_word *x = &words[i];

		x->prefix = wc_prefix(x->word, x->len);
		x->hash = wc_hash(x->word, x->len, x->prefix);
		__builtin_prefetch(&t->slots[x->hash & (t->cap - 1)]);
	}
	for (size_t i = 0; i < n; i++)
		wc_table_put(t, words[i].word, words[i].len, words[i].prefix,
			     words[i].hash, 1);
}

/* Bit i set when p[i] is whitespace, for i in 0..15: bytes 9..13 are
 * those with (x - 9) <= 4 unsigned, then space. */
static uint64_t
wc_space16(const uint8_t *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i t = _mm_sub_epi8(x, _mm_set1_epi8(9));
	__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(4)), t);
	__m128i sp = _mm_cmpeq_epi8(x, _mm_set1_epi8(' '));

	return (uint32_t)_mm_movemask_epi8(_mm_or_si128(ctl, sp));
}

static uint64_t
wc_space64(const uint8_t *p)
{
	return wc_space16(p) | wc_space16(p + 16) << 16 |
	       wc_space16(p + 32) << 32 | wc_space16(p + 48) << 48;
}

/* Count the words of [beg, end) into t. end must be followed by 64
 * readable bytes; those past end are taken as whitespace. */
static void
wc_scan(struct wc_table *t, const uint8_t *beg, const uint8_t *end)
{
	struct wc_word batch[WC_BATCH + 32]; /* a 64-byte block has <= 32 words */
	size_t n = 0;
	const uint8_t *word = NULL; /* start of the open word, or NULL */

	for (const uint8_t *b = beg; b < end; b += 64) {
		uint64_t space = wc_space64(b), prev, starts, ends;
		size_t left = (size_t)(end - b);

		if (left < 64)
			space |= ~UINT64_C(0) << left;
		/* prev: bit i set when byte i-1 is part of a word */
		prev = ~space << 1 | (word != NULL);
		starts = ~space & ~prev;
		ends = space & prev;
		/* starts and ends alternate: start, end, start, end... */
		for (;;) {
			const uint8_t *e;

			if (!word) {
				if (!starts)
					break;
				word = b + __builtin_ctzll(starts);
				starts &= starts - 1;
			}
			if (!ends)
				break;
			e = b + __builtin_ctzll(ends);
			ends &= ends - 1;
			batch[n].word = word;
			batch[n++].len = (size_t)(e - word);
			word = NULL;
		}
		if (n >= WC_BATCH) {
			wc_table_add_batch(t, batch, n);
			n = 0;
		}
	}
	/* a chunk whose length is a multiple of 64 may end in a word */
	if (word) {
		batch[n].word = word;
		batch[n++].len = (size_t)(end - word);
	}
	wc_table_add_batch(t, batch, n);
}

static void *
wc_thread(void *arg)
{
	struct wc_task *task = arg;

	wc_scan(&task->table, task->beg, task->end);
	return NULL;
}

static int
wc_is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Cut [0, size) into n chunks at whitespace: chunk i is
 * [cut[i], cut[i+1]). A chunk may be empty. */
static void
wc_cut(const uint8_t *data, size_t size, size_t n, size_t *cut)
{
	cut[0] = 0;
	for (size_t i = 1; i < n; i++) {
		size_t c = (size_t)((unsigned __int128)size * i / n);

		if (c < cut[i - 1])
			c = cut[i - 1];
		while (c < size && !wc_is_space(data[c]))
			c++;
		cut[i] = c;
	}
	cut[n] = size;
}

static void
wc_merge(struct wc_table *dst, const struct wc_table *src)
{
	for (size_t i = 0; i < src->cap; i++) {
		const struct wc_slot *s = &src->slots[i];

		if (s->count)
			wc_table_add(dst, wc_slot_word(src, s), s->len,
				     s->count);
	}
}

static int
wc_entry_cmp(const void *a, const void *b)
{
	const struct wc_entry *x = a, *y = b;
	int c = memcmp(x->word, y->word, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static void
wc_write(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			wc_die("cannot write the output: %s", strerror(errno));
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Sort the words of t and write them as "word\tcount\n" to stdout. */
static void
wc_output(const struct wc_table *t)
{
	struct wc_entry *e = wc_xmalloc((t->used ? t->used : 1) * sizeof(*e));
	char *out = wc_xmalloc(WC_OUTBUF);
	size_t n = 0, len = 0;

	for (size_t i = 0; i < t->cap; i++) {
		const struct wc_slot *s = &t->slots[i];

		if (s->count)
			e[n++] = (struct wc_entry){ wc_slot_word(t, s), s->len,
						    s->count };
	}
	qsort(e, n, sizeof(*e), wc_entry_cmp);
	for (size_t i = 0; i < n; i++) {
		char num[24];
		size_t nl = sizeof(num);
		uint64_t c = e[i].count;

		do {
			num[--nl] = (char)('0' + c % 10);
			c /= 10;
		} while (c);
		if (len + e[i].len + 2 + sizeof(num) > WC_OUTBUF) {
			wc_write(1, out, len);
			len = 0;
		}
		if (e[i].len + 2 + sizeof(num) > WC_OUTBUF) {
			/* a word longer than the buffer goes out on its own */
			wc_write(1, (const char *)e[i].word, e[i].len);
		} else {
			memcpy(out + len, e[i].word, e[i].len);
			len += e[i].len;
		}
		out[len++] = '\t';
		memcpy(out + len, num + nl, sizeof(num) - nl);
		len += sizeof(num) - nl;
		out[len++] = '\n';
	}
	wc_write(1, out, len);
	free(out);
	free(e);
}

/* Map path read-only with WC_PAD readable bytes after its end. */
static const uint8_t *
wc_map(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *base;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		wc_die("cannot open '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		wc_die("cannot map '%s': not a regular file", path);
	if ((uint64_t)st.st_size > SIZE_MAX - WC_PAD)
		wc_die("cannot map '%s': file too large", path);
	*size = (size_t)st.st_size;
	/* Reserve size + pad of zero pages, then lay the file over the
	 * front: the tail stays readable, anonymous zeros. */
	base = mmap(NULL, *size + WC_PAD, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		wc_die("cannot map '%s': out of address space", path);
	if (*size && mmap(base, *size, PROT_READ, MAP_PRIVATE | MAP_FIXED,
			  fd, 0) == MAP_FAILED)
		wc_die("cannot map '%s': %s", path, strerror(errno));
	close(fd);
	return base;
}

static void
wc_usage(void)
{
	fputs("usage: wc_ref [-t THREADS] FILE\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	struct wc_task *tasks;
	const uint8_t *data;
	size_t size, nthreads = 1, cut[WC_MAX_THREADS + 1];
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		char *end;
		long n;

		if (opt != 't')
			wc_usage();
		errno = 0;
		n = strtol(optarg, &end, 10);
		if (errno || end == optarg || *end || n < 1 ||
		    n > WC_MAX_THREADS) {
			fprintf(stderr, "wc_ref: bad thread count '%s' "
				"(1..%d)\n", optarg, WC_MAX_THREADS);
			exit(2);
		}
		nthreads = (size_t)n;
	}
	if (optind != argc - 1)
		wc_usage();

	data = wc_map(argv[optind], &size);
	wc_cut(data, size, nthreads, cut);
	tasks = wc_xmalloc(nthreads * sizeof(*tasks));
	for (size_t i = 0; i < nthreads; i++) {
		tasks[i].beg = data + cut[i];
		tasks[i].end = data + cut[i + 1];
		wc_table_init(&tasks[i].table);
		/* the main thread scans the first chunk itself */
		if (i && pthread_create(&tasks[i].tid, NULL, wc_thread,
					&tasks[i]))
			wc_die("cannot start a thread");
	}
	wc_thread(&tasks[0]);
	for (size_t i = 1; i < nthreads; i++) {
		pthread_join(tasks[i].tid, NULL);
		wc_merge(&tasks[0].table, &tasks[i].table);
		wc_table_release(&tasks[i].table);
	}
	wc_output(&tasks[0].table);
	wc_table_release(&tasks[0].table);
	free(tasks);
	munmap((void *)data, size + WC_PAD);
	return 0;
}
