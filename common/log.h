/*
 * log.h - diagnostics to stderr.
 *
 * Every line starts with "sluice: " (DESIGN.md: one line a problem). The
 * level is process-wide and set once at start-up by cli/ before any thread
 * starts; the calls themselves are thread-safe (one fputs per line).
 */
#ifndef SL_LOG_H
#define SL_LOG_H

enum sl_log_level { SL_LOG_ERROR = 0, SL_LOG_WARN = 1, SL_LOG_INFO = 2,
		    SL_LOG_DEBUG = 3 };

void sl_log_set_level(int level);
int sl_log_level(void);
void sl_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Whether a line without its newline (a progress bar) is on the terminal
 * of stderr: while it is, each log line first erases it ("\r", erase to
 * the end of the line), so that no message is written after the bar.
 */
void sl_log_set_bar(bool drawn);

#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif
