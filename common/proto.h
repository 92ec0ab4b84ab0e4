/*
 * proto.h - the wire protocol of sluice: message structs and their msgpack
 * codec.
 *
 * Every message is one msgpack array: [version, type, fields...], fields in
 * the order of the struct below, each of a fixed msgpack type. The bulk
 * bytes of a FETCH_REPLY travel in a second ZeroMQ frame, not in msgpack.
 * docs/protocol.md describes each message for implementers.
 *
 * Decoding is for untrusted bytes: the decoder checks the version, the
 * type, the array length, every field's msgpack type and range, string
 * lengths (SL_PROTO_MAX_STR) and element counts (SL_PROTO_MAX_ITEMS, and
 * never more elements than bytes left), and returns SL_EPROTO with a
 * one-line reason, never a half-filled message.
 *
 * Ownership: a decoded message owns copies of all its strings and arrays
 * (nothing points into the input buffer); sl_msg_release() frees them. The
 * caller of sl_msg_encode() keeps ownership of the struct it passes.
 * Thread-safety: no shared state; any thread may encode or decode.
 */
#ifndef SL_PROTO_H
#define SL_PROTO_H

#include "sl_impl.h"
#include "input.h" /* sl_range */

#define SL_PROTO_VERSION 6
#define SL_PROTO_MAX_STR (64 * 1024)       /* bytes in one string field */
#define SL_PROTO_MAX_ITEMS (1024 * 1024)   /* elements in one array field */
#define SL_PROTO_MAX_MSG (64 * 1024 * 1024) /* bytes of one control message */

typedef enum sl_msg_type {
	/* worker -> coordinator */
	SL_MSG_HELLO = 1,
	SL_MSG_HEARTBEAT = 2,
	SL_MSG_TASK_DONE = 3,
	SL_MSG_COMMIT_REQ = 4,
	SL_MSG_COMMIT_DONE = 5,
	SL_MSG_EXCHANGED = 6,
	/* coordinator -> worker */
	SL_MSG_WELCOME = 10,
	SL_MSG_TASK = 11,
	SL_MSG_COMMIT_GO = 12,
	SL_MSG_KILL = 13,
	SL_MSG_JOB_END = 14,
	SL_MSG_SHUTDOWN = 15,
	SL_MSG_EXCHANGE = 16,
	SL_MSG_REJOIN = 17,     /* to a peer that is not a live worker */
	/* client <-> coordinator */
	SL_MSG_SUBMIT = 20,
	SL_MSG_ACCEPTED = 21,
	SL_MSG_JOB_DONE = 22,
	SL_MSG_WORKER_LOST = 23,
	SL_MSG_STATUS = 24,     /* client -> coordinator: one job */
	SL_MSG_LOG = 25,        /* client -> coordinator: a job's attempts */
	SL_MSG_LIST = 26,       /* client -> coordinator: every job */
	SL_MSG_JOB_LIST = 27,   /* the answer to both (none: no such job) */
	SL_MSG_CANCEL = 28,     /* client -> coordinator */
	SL_MSG_CANCELED = 29,   /* its answer */
	SL_MSG_WORKERS = 40,    /* client -> coordinator */
	SL_MSG_WORKER_LIST = 41, /* its answer */
	SL_MSG_JOB_LOG = 42,    /* the answer to LOG */
	/* reducer <-> worker holding map outputs */
	SL_MSG_FETCH = 30,
	SL_MSG_FETCH_REPLY = 31,
} sl_msg_type;

/* Identifies one attempt of one task of one job, across processes. */
typedef struct sl_attempt_id {
	uint64_t job;     /* job id, from 1, unique per coordinator */
	uint8_t kind;     /* SL_TASK_MAP or SL_TASK_REDUCE */
	uint32_t task;    /* map: split index; reduce: partition */
	uint32_t attempt; /* 0 for the first attempt of the task */
} sl_attempt_id;

typedef struct sl_kvpair {
	char *key;
	char *value;
} sl_kvpair;

typedef struct sl_counter {
	char *name;
	int64_t value;
} sl_counter;

#define SL_COUNTERS_MAX 1024  /* distinct counters a job may have */

/*
 * Adds value to the counter `name` of the list (*v, *n), with room for
 * *alloc (see sl_array_grow), appending it when new. SL_OK; SL_ETOOBIG
 * past SL_COUNTERS_MAX names; SL_ENOMEM. Used for a task's counters and,
 * on the coordinator, to sum them from the network.
 */
int sl_counters_add(sl_counter **v, uint32_t *n, size_t *alloc,
		    const char *name, int64_t value);

/* How map outputs reach the reducers (docs/mpi.md). */
typedef enum sl_shuffle_mode {
	SL_SHUFFLE_ZMQ = 0, /* each reducer FETCHes from the holding workers */
	SL_SHUFFLE_MPI = 1, /* the worker ranks exchange them with
			       MPI_Alltoallv (EXCHANGE), reducers read locally */
} sl_shuffle_mode;

/* What a job is and how to run it; carried by SUBMIT and every TASK. */
typedef struct sl_job_spec {
	char *job;           /* built-in job name, or path of a .so */
	sl_kvpair *options;  /* job options, in command-line order */
	uint32_t noptions;
	uint32_t partitions; /* R, >= 1 */
	uint8_t bad_records; /* 0 fail, 1 skip */
	uint32_t max_attempts; /* >= 1 */
	uint64_t max_record; /* bytes in the longest input record, >= 1 */
	uint8_t shuffle;     /* sl_shuffle_mode: how map outputs reach
				reducers */
	uint64_t memory;     /* bytes a worker process may use for task
				data (docs/performance.md); 0: the
				worker's default */
	char *tmpdir;        /* spill directory; "": the worker's $TMPDIR,
				else /tmp */
	/* A stream's micro-batch (docs/stream.md); "" for a batch job: */
	char *state_in;      /* directory of the state the batch starts
				from (part-R files), "" for none */
	char *state_out;     /* directory the batch's state goes to */
	int64_t watermark_ms; /* the stream's watermark as the batch starts
				 (ms since the epoch), SL_NO_WATERMARK for
				 none (docs/stream.md) */
	uint8_t update;      /* a stream's batch in update mode: rows only
				for the keys the batch changed */
	int64_t batch_ms;    /* when the job, or the stream's batch, was
				planned (ms since the epoch): its
				processing time (sl_batch_time); 0: set by
				the coordinator as the job starts */
	char *late_dir;      /* a stream's batch with a late sink: where
				each map task commits its late records
				(sl_emit_late) as part-MMMMM, M its split;
				"" for none */
} sl_job_spec;

/* How a stream's batches are triggered (sl_stream_spec.trigger). */
typedef enum sl_trigger {
	SL_TRIGGER_INTERVAL = 0, /* a batch every interval, when there is new
				    input */
	SL_TRIGGER_ONCE = 1,     /* one batch, then the stream ends */
	SL_TRIGGER_AVAILABLE = 2, /* batches until nothing is new, then the
				     stream ends */
} sl_trigger;

/* Which rows a stream's batch writes (docs/stream.md). */
typedef enum sl_output_mode {
	SL_MODE_COMPLETE = 0,    /* every row so far */
	SL_MODE_UPDATE = 1,      /* the rows of the keys the batch changed */
	SL_MODE_APPEND = 2,      /* the rows the watermark made final */
} sl_output_mode;

/* A stream, in a SUBMIT (source "" for a batch job; docs/stream.md). */
typedef struct sl_stream_spec {
	char *source;        /* the source's URI */
	char *sink;          /* the sink's URI */
	char *checkpoint;    /* the checkpoint directory, absolute */
	uint8_t trigger;     /* sl_trigger */
	uint64_t interval_ms; /* SL_TRIGGER_INTERVAL: between batches */
	uint8_t mode;        /* sl_output_mode */
	int64_t delay_ms;    /* --watermark: the watermark is the latest
				event time less this; -1 for none */
	uint64_t max_batch_records; /* a batch's cap, 0 for none */
	uint8_t output;      /* sl_output_format of the job's rows, for the
				sink */
	uint32_t key_columns; /* CSV rows: how many leading columns are a
				 row's key (sl_set_key_columns), 0 for none */
	char *late_sink;     /* --late sink:URI: the URI of the sink of the
				late records, "" for none (--late count or
				drop: counted only) */
	uint8_t late_output; /* sl_output_format of the late records, for
				that sink: CSV for a job of SL_INPUT_CSV
				(each part under its input's header), else
				lines */
} sl_stream_spec;

#define SL_NO_WATERMARK INT64_MIN
#define SL_WATERMARK_MIN (INT64_MIN + 1) /* a stream's watermark before
					     its first event: passes no
					     window */

/* The states of a job, as clients see them. */
typedef enum sl_job_state {
	SL_JOB_QUEUED = 0,
	SL_JOB_RUNNING = 1,
	SL_JOB_SUCCEEDED = 2,
	SL_JOB_FAILED = 3,
	SL_JOB_CANCELED = 4,
} sl_job_state;

/* "queued", "running", ... ("?" for another value). */
const char *sl_job_state_name(int state);

/* A job as JOB_LIST tells it. */
typedef struct sl_job_info {
	uint64_t id;
	char *job;              /* its name or .so path */
	uint8_t state;          /* sl_job_state */
	uint64_t submitted_ms;  /* wall clock (ms since the epoch) */
	uint64_t started_ms;    /* 0 while queued */
	uint64_t ended_ms;      /* 0 until it ends */
	uint32_t maps;          /* map tasks (known once started) */
	uint32_t maps_done;
	uint32_t reduces;
	uint32_t reduces_done;
	uint64_t bytes_in;      /* of the maps done */
	char *output_dir;       /* a stream: its sink's URI */
	char *error;            /* "" unless it failed */
	uint8_t stream;         /* 1: a stream (the fields below), 0: a
				   batch job */
	uint64_t batches;       /* a stream's batches committed */
	char *progress;         /* its last batch's progress line (JSON), ""
				   for none */
} sl_job_info;

/* How an attempt ended, as the job's attempt log tells it. */
typedef enum sl_attempt_state {
	SL_ATTEMPT_RUNNING = 0,
	SL_ATTEMPT_SUCCEEDED = 1, /* made the map output, or committed */
	SL_ATTEMPT_FAILED = 2,    /* a counted failure */
	SL_ATTEMPT_ABORTED = 3,   /* not counted: killed (a copy that lost,
	                             the job's end), or stopped by another
	                             task's lost output */
} sl_attempt_state;

/* One attempt of a job's log (JOB_LOG), times on the wall clock. */
typedef struct sl_attempt_info {
	uint8_t kind;           /* SL_TASK_MAP or SL_TASK_REDUCE */
	uint32_t task;          /* map: split index; reduce: partition */
	uint32_t attempt;       /* from 0 per task */
	uint32_t worker;        /* the id of the worker it ran on */
	uint64_t started_ms;    /* ms since the epoch */
	uint64_t ended_ms;      /* 0 while running */
	uint8_t state;          /* sl_attempt_state */
	uint8_t speculative;    /* 1: a copy of a straggler */
	char *error;            /* "" but for a failure */
} sl_attempt_info;

#define SL_LOG_PAGE 4096 /* attempts in one JOB_LOG at most */

/* A worker as WORKERS answers it. */
typedef struct sl_worker_info {
	uint32_t id;
	char *name;             /* host:pid */
	char *endpoint;         /* its shuffle endpoint */
	uint32_t slots;
	uint32_t busy;          /* attempts running, from its heartbeat */
	uint64_t silent_ms;     /* since the coordinator last heard it */
} sl_worker_info;

/* Where a reduce task fetches the output of one map task. */
typedef struct sl_map_output {
	uint32_t map;       /* map task index */
	uint32_t attempt;   /* the attempt whose output to fetch */
	char *endpoint;     /* the holding worker's shuffle endpoint */
} sl_map_output;

typedef struct sl_msg {
	uint8_t type; /* sl_msg_type */
	union {
		struct {
			char *name;      /* host:pid, for messages */
			uint32_t pid;
			uint32_t slots;  /* task slots, >= 1 */
			char *shuffle_endpoint;
		} hello;
		struct {
			uint32_t worker;  /* id from WELCOME (coordinator: 0) */
			uint32_t running; /* attempts running now */
		} heartbeat;
		struct {
			sl_attempt_id id;
			int32_t status;    /* SL_OK or an error code */
			char *error;       /* "" when status is SL_OK */
			sl_counter *counters;
			uint32_t ncounters;
			uint64_t records_in;
			uint64_t bytes_in;
			uint64_t records_out;
			uint64_t bytes_out;
			uint32_t lost_map;     /* reduce: 1 + the map task whose
						  output could not be fetched,
						  0 for none */
			uint32_t lost_attempt; /* the attempt of that output */
			int64_t event_ms_max;  /* map: the latest event time
						  it saw (sl_event_time),
						  SL_NO_WATERMARK for none */
		} task_done;
		struct {
			uint64_t job;
			int32_t status;    /* SL_OK or why the exchange failed */
			char *error;       /* "" when status is SL_OK */
			uint32_t rank;     /* this worker's rank among the
					      worker ranks, 0..ranks-1 */
			uint32_t ranks;    /* worker ranks in the exchange */
		} exchanged;
		struct {
			sl_attempt_id id;
		} commit_req, commit_go, kill;
		struct {
			sl_attempt_id id;
			int32_t status;
			char *error;
		} commit_done;
		struct {
			uint32_t worker;        /* the id the worker now has */
			uint32_t heartbeat_ms;  /* send a HEARTBEAT this often */
			uint32_t timeout_ms;    /* peer lost after this silence */
		} welcome;
		struct {
			sl_attempt_id id;
			sl_job_spec spec;
			/* map */
			char *path;          /* input file */
			uint64_t start;      /* split [start, end) in bytes */
			uint64_t end;
			/* reduce */
			sl_map_output *maps; /* one per map task, by index */
			uint32_t nmaps;
			char *output_dir;    /* the job's output directory */
		} task;
		struct {
			uint64_t job;
		} job_end;
		struct {
			uint64_t job;
			uint32_t partitions; /* R: partition r goes to the
						worker of rank r mod ranks */
			sl_map_output *maps; /* one per map task, by index:
						the output to send */
			uint32_t nmaps;
		} exchange;
		struct {
			sl_job_spec spec;
			char **inputs;       /* files, directories or globs */
			uint32_t ninputs;
			sl_range *ranges;    /* none: whole inputs; or one an
						input, which is then a file:
						its bytes [start, end) (a
						stream's batch) */
			uint32_t nranges;    /* 0 or ninputs */
			char *output_dir;
			uint64_t split_size; /* bytes, >= 1 */
			uint8_t overwrite;   /* replace a complete output */
			uint32_t min_workers; /* start once this many workers
						 have joined (0: at once) */
			sl_stream_spec stream; /* a stream's, or source "" */
		} submit;
		struct {
			uint64_t job;
		} accepted;
		struct {
			uint64_t job;
			int32_t status;      /* SL_OK, or the job's error */
			char *error;         /* "" on success */
			sl_counter *counters;
			uint32_t ncounters;
			uint32_t maps;       /* map tasks run */
			uint32_t reduces;    /* reduce tasks run */
			uint64_t bytes_in;   /* input bytes read */
			uint64_t records_in; /* input records */
			uint64_t records_out; /* output records */
			uint64_t elapsed_ms;
			int64_t event_ms_max; /* the latest event time of its
						 maps, SL_NO_WATERMARK for
						 none */
			uint64_t map_ms;     /* from its start to every map
						output in place */
			uint64_t reduce_ms;  /* from then to its end */
		} job_done;
		struct {
			uint32_t worker;     /* its id */
			uint32_t pid;        /* from its HELLO */
			char *name;          /* host:pid, from its HELLO */
			char *endpoint;      /* its shuffle endpoint */
			char *why;           /* "no heartbeat", ... */
		} worker_lost;
		struct {
			uint64_t job;        /* STATUS, CANCEL */
		} status, cancel;
		struct {
			uint64_t job;
			uint64_t from;       /* the first attempt wanted, from 0 */
		} log;
		struct {
			uint64_t job;
			int32_t status;      /* SL_OK, or SL_ENOTFOUND: no such
						job, or no log kept of it */
			char *error;
			uint64_t total;      /* attempts in the whole log */
			sl_attempt_info *attempts; /* from `from`, at most
						      SL_LOG_PAGE */
			uint32_t nattempts;
			sl_counter *counters; /* the job's, summed over the
						 tasks done */
			uint32_t ncounters;
		} job_log;
		struct {
			uint64_t job;
			int32_t status;      /* SL_OK, or why it could not be
						canceled (SL_ENOTFOUND, ...) */
			char *error;
		} canceled;
		struct {
			sl_job_info *jobs;   /* in id order */
			uint32_t njobs;
		} job_list;
		struct {
			sl_worker_info *workers; /* in id order */
			uint32_t nworkers;
		} worker_list;
		struct {
			uint64_t job;
			uint32_t map;
			uint32_t attempt;
			uint32_t partition;
			uint64_t offset;     /* first byte wanted */
			uint32_t max_bytes;  /* at most this many in the reply */
		} fetch;
		struct {
			int32_t status;  /* SL_OK, or SL_ENOTFOUND for no such output */
			uint64_t total;  /* bytes in the whole segment */
			uint64_t offset; /* offset of the data frame's first byte */
		} fetch_reply;
	} u;
} sl_msg;

/* Appends the encoding of m to out. SL_OK, SL_EINVAL (bad type), SL_ENOMEM. */
int sl_msg_encode(const sl_msg *m, sl_buf *out);

/*
 * Decodes one whole message from [data, data+len). On SL_OK *m owns its
 * fields (release with sl_msg_release). On SL_EPROTO, SL_EVERSION (a peer
 * of another protocol version: "unsupported protocol version N (expected
 * M)") or SL_ENOMEM *m is zeroed and, when err is not NULL, a one-line
 * reason is appended to err.
 */
int sl_msg_decode(const void *data, size_t len, sl_msg *m, sl_buf *err);

/* Frees what a decoded message owns; zeroes it. NULL-safe. */
void sl_msg_release(sl_msg *m);

/* "HELLO", "TASK", ... ("?" for an unknown type). */
const char *sl_msg_type_name(int type);

#endif
