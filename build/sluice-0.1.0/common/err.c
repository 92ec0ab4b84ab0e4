/*
 * err.c - messages of the error codes, made from SL_ERRNO_MAP.
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
