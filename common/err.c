/*
 * err.c - messages of the error codes, made from SL_ERRNO_MAP, and which
 * of them a retry could cure.
 */
#include "sl_impl.h"

const char *
sl_strerror(int err)
{
	switch (err) {
	case SL_OK:
		return "success";
#define XX(code, msg) case SL_E##code: return msg;
	SL_ERRNO_MAP(XX)
#undef XX
	default:
		return "unknown error";
	}
}

bool
sl_status_retryable(int status)
{
	/* Bad input, bad options and an exact sum past its range fail the
	 * same way on every attempt. */
	return status != SL_EBADRECORD && status != SL_EUSAGE &&
	       status != SL_EOVERFLOW;
}
