/*
 * parley/error.h: the one error enumeration of Parley and its texts.
 *
 * Every fallible function of libparley and of generated code returns a
 * parley_err; PARLEY_OK is 0. The list is an X-macro so that the enum and
 * the text returned by parley_strerror() cannot drift apart.
 */
#ifndef PARLEY_ERROR_H
#define PARLEY_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, text): name is appended to PARLEY_ to form the enumerator. */
#define PARLEY_ERRNO_MAP(X)                                                                        \
    X(OK, "success")                                                                               \
    X(ERR_TRUNCATED, "truncated data: the message ends before the value does")                     \
    X(ERR_TOO_LONG, "length is larger than the declared maximum")                                  \
    X(ERR_LIMIT, "decoding would exceed the configured allocation limit")                          \
    X(ERR_DEPTH, "data nested deeper than the configured limit")                                   \
    X(ERR_BAD_ENUM, "value is not a member of the enum")                                           \
    X(ERR_BAD_BOOL, "bool is neither 0 nor 1")                                                     \
    X(ERR_BAD_UNION, "union discriminant has no arm and the union has no default")                 \
    X(ERR_BAD_PADDING, "non-zero padding bytes")                                                   \
    X(ERR_BAD_STRING, "string contains a NUL byte")                                                \
    X(ERR_RANGE, "value out of range for its C type")                                              \
    X(ERR_NULL, "null pointer where data is required")                                             \
    X(ERR_BUFFER_FULL, "encode buffer too small")                                                  \
    X(ERR_TRAILING, "bytes left over after the value")                                             \
    X(ERR_NOMEM, "out of memory")                                                                  \
    X(ERR_INVALID, "invalid argument")                                                             \
    X(ERR_ADDRESS, "malformed address")                                                            \
    X(ERR_RESOLVE, "cannot resolve the host name")                                                 \
    X(ERR_CONNECT, "cannot connect to the server")                                                 \
    X(ERR_REFUSED, "connection refused")                                                           \
    X(ERR_CLOSED, "connection closed")                                                             \
    X(ERR_IO, "input/output error on the connection")                                              \
    X(ERR_TIMEDOUT, "the call's deadline passed")                                                  \
    X(ERR_CANCELLED, "the call was cancelled")                                                     \
    X(ERR_MSG_TOO_LARGE, "message larger than the configured maximum")                             \
    X(ERR_PROTOCOL, "malformed RPC message")                                                       \
    X(ERR_RPC_MISMATCH, "the server does not speak RPC version 2")                                 \
    X(ERR_AUTH, "authentication failed")                                                           \
    X(ERR_PROG_UNAVAIL, "program not available on the server")                                     \
    X(ERR_PROG_MISMATCH, "program version not available on the server")                            \
    X(ERR_PROC_UNAVAIL, "procedure not available on the server")                                   \
    X(ERR_GARBAGE_ARGS, "the server could not decode the arguments")                               \
    X(ERR_SYSTEM_ERR, "the server failed to process the call")                                     \
    X(ERR_IN_USE, "address already in use")                                                        \
    X(ERR_DENIED, "permission denied (ports below 1024 need privileges)")                          \
    X(ERR_UNSUPPORTED, "not supported on this transport")                                          \
    X(ERR_NOT_REGISTERED, "no service of that name is registered with the matchmaker")             \
    X(ERR_NOT_LOCAL, "the matchmaker takes registrations only from its own host")                  \
    X(ERR_NOT_OWNER, "the registration belongs to another user")                                   \
    X(ERR_TABLE_FULL, "the matchmaker's table is full")                                            \
    X(ERR_NO_SPACE, "the completion store's disk is full")                                         \
    X(ERR_STORE, "the completion store cannot be read or written")                                 \
    X(ERR_IN_DOUBT, "the call may have run, and its outcome is lost: it was not run again")        \
    X(ERR_NOT_GUARANTEED, "the server cannot give the call's delivery guarantee")                  \
    X(ERR_BUSY, "the server has no room for the call now; it did not run")                         \
    X(ERR_HOST_NOT_NAME, "that looks like a host, not a service name: write NAME@HOST, "           \
                         "tcp://HOST:PORT, or reach the program on HOST with "                     \
                         "parley_client_create_host")                                              \
    X(ERR_NAME_HELD, "another live server holds the name or program at the matchmaker, "           \
                     "which does not hand it over ('parley-info lookup NAME' shows where)")        \
    X(ERR_CLUSTER_STALE, "the service is known only from the cluster, and the matchmaker has "     \
                         "been cut off from etcd for longer than its staleness bound "             \
                         "('parley-info list --cluster' says why)")

/* The error values. PARLEY_OK is 0; every error is positive. */
typedef enum parley_err {
#define PARLEY_ERR_ENUM_(name, text) PARLEY_##name,
    PARLEY_ERRNO_MAP(PARLEY_ERR_ENUM_)
#undef PARLEY_ERR_ENUM_
        PARLEY_ERR_COUNT_
} parley_err;

/* parley_strerror returns a static, never NULL, English text for err. Values
 * outside the enumeration give "unknown error". */
const char *parley_strerror(int err);

/* parley_errname returns the enumerator's name ("PARLEY_ERR_TRUNCATED") for
 * logs and tests, or "PARLEY_ERR_UNKNOWN". */
const char *parley_errname(int err);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_ERROR_H */
