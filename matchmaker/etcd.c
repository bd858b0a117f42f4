/*
 * etcd.c: the matchmaker's client of etcd v3 over its JSON gateway (see
 * etcd.h). Every request is one HTTP POST of a JSON object made with
 * libcurl; the answer is read into a buffer bounded by the handle's
 * max_answer, checked before the buffer grows, and parsed with json-c. A
 * watch is one long POST whose answer is a stream of JSON objects
 * ({"result":{...}} each), split as they arrive by a json-c tokener and
 * driven by a curl multi handle polled every 100 ms, so that the caller's
 * stop flag is seen even while the stream is idle (libcurl's progress
 * callback, the other way to look at a flag during a transfer, runs only
 * about once a second while nothing arrives). Every request carries the
 * metadata "hasleader: true" (see json_headers), and a watch's
 * connection TCP keep-alives.
 *
 * What the gateway sends, as etcd 3.4 sends it: keys and values in base64;
 * 64-bit integers as JSON strings; fields at their default value left out
 * (proto3: an event without "type" is a PUT, a missing count is 0); unary
 * errors as {"error":TEXT,"code":GRPC_CODE,"message":TEXT} with an HTTP
 * error status, stream errors as {"error":{"grpc_code":..,"message":..}};
 * a lease keep-alive of a lease that is gone answers a result without TTL
 * (TTL 0), a revoke of one answers the error "requested lease not found".
 *
 * Threads: the handle is read-only after mm_etcd_create except the index of
 * the endpoint that last answered, an atomic, and its pool of idle easy
 * handles, under a mutex. A request takes an easy handle from the pool (or
 * makes one), so that no two threads ever share one, and gives it back
 * after: libcurl keeps its connection open in it, and the next request
 * reuses that connection (and its TLS session) instead of making a new one
 * each time. A watch has an easy handle of its own. curl_global_init runs
 * once, under pthread_once.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "etcd.h"

/* The defaults of the settings that may be left 0. */
#define ETCD_TIMEOUT_MS_DEFAULT  2000u
#define ETCD_MAX_ANSWER_DEFAULT  ((size_t)64 << 20)
#define ETCD_KEEPALIVE_S_DEFAULT 5u
#define ETCD_MAX_IDLE_DEFAULT    4u
/* The largest settings accepted: an answer must fit json-c's int lengths
 * with room, a pool is a few handles, a request's time a few minutes. */
#define ETCD_MAX_ANSWER_MAX ((size_t)1 << 30)
#define ETCD_MAX_IDLE_MAX   1024u
#define ETCD_TIMEOUT_MS_MAX 600000u
/* Linux's largest TCP_KEEPIDLE and TCP_KEEPINTVL. */
#define ETCD_KEEPALIVE_S_MAX 32767u
/* The longest endpoint URL. */
#define ETCD_URL_MAX 512
/* How many unanswered keep-alive probes end a watch's connection. */
#define ETCD_KEEPALIVE_PROBES 3
/* How often a watch looks at its stop flag, in milliseconds. */
#define ETCD_STOP_POLL_MS 100

struct mm_etcd {
    char **ep;                  /* the endpoints' URLs, without a trailing '/' */
    size_t n_ep;                /* how many */
    atomic_size_t current;      /* the endpoint that last answered */
    char *cacert;               /* NULL: the system's CAs */
    char *cert;                 /* NULL: none */
    char *key;                  /* NULL: none (or in cert's file) */
    unsigned timeout_ms;        /* of one request on one endpoint */
    size_t max_answer;          /* the largest answer, in bytes */
    struct curl_slist *headers; /* of every request; read-only */
    pthread_mutex_t lock;       /* guards idle and n_idle */
    CURL **idle;                /* easy handles between requests, with their connections */
    size_t n_idle;              /* how many */
    size_t max_idle;            /* room in idle */
};

/* ---- errors -------------------------------------------------------------- */

/* mm_etcd_strerror: see etcd.h. */
const char *mm_etcd_strerror(int code)
{
    switch (code) {
    case MM_ETCD_OK:
        return "success";
    case MM_ETCD_UNREACHABLE:
        return "etcd unreachable";
    case MM_ETCD_TIMEDOUT:
        return "etcd timed out";
    case MM_ETCD_TLS:
        return "TLS failure";
    case MM_ETCD_DENIED:
        return "permission denied by etcd";
    case MM_ETCD_NOT_FOUND:
        return "lease not found";
    case MM_ETCD_COMPACTED:
        return "revision compacted";
    case MM_ETCD_TOO_LARGE:
        return "request or answer too large";
    case MM_ETCD_PROTOCOL:
        return "malformed answer from etcd";
    case MM_ETCD_FAILED:
        return "etcd failed";
    case MM_ETCD_NOMEM:
        return "out of memory";
    case MM_ETCD_INVALID:
        return "invalid argument";
    case MM_ETCD_STOPPED:
        return "watch stopped";
    }
    return "unknown etcd error";
}

/* set_err fills err (when not NULL) with code and a formatted text, and
 * returns code. */
__attribute__((format(printf, 3, 4))) static int set_err(mm_etcd_err *err, int code,
                                                         const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int ok(mm_etcd_err *err)
{
    if (err) {
        err->code = MM_ETCD_OK;
        err->text[0] = '\0';
    }
    return MM_ETCD_OK;
}

/* ---- base64 (RFC 4648, the standard alphabet, with padding) -------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_encode returns src (n bytes) in base64, NUL-terminated, allocated
 * (the caller frees it); NULL when out of memory. */
static char *b64_encode(const void *src, size_t n)
{
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    const unsigned char *s = src;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = b64_alphabet[v >> 6 & 63];
        *o++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = b64_alphabet[v >> 6 & 63];
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* b64_decode decodes the n characters of src (padding optional) into a new
 * buffer, NUL-terminated, in *out (the caller frees it) and its length in
 * *len. Errors: MM_ETCD_PROTOCOL (not base64), _NOMEM. */
static int b64_decode(const char *src, size_t n, char **out, size_t *len)
{
    while (n > 0 && src[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return MM_ETCD_PROTOCOL;
    char *buf = malloc(n / 4 * 3 + 3);
    if (!buf)
        return MM_ETCD_NOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(src[i]);
        if (v < 0) {
            free(buf);
            return MM_ETCD_PROTOCOL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)(acc >> bits & 0xff);
        }
    }
    buf[o] = '\0';
    *out = buf;
    *len = o;
    return MM_ETCD_OK;
}

/* ---- JSON helpers -------------------------------------------------------- */

/* get_i64 reads the 64-bit integer field name of obj (a JSON string of
 * digits, as the gateway writes them, or a number) into *v: 0 when absent,
 * as proto3 leaves out zeros. Returns -1 when present but not an integer. */
static int get_i64(json_object *obj, const char *name, int64_t *v)
{
    json_object *f;
    *v = 0;
    if (!json_object_object_get_ex(obj, name, &f) || !f)
        return 0;
    if (json_object_is_type(f, json_type_int)) {
        *v = json_object_get_int64(f);
        return 0;
    }
    if (!json_object_is_type(f, json_type_string))
        return -1;
    const char *s = json_object_get_string(f);
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

/* get_b64 decodes the base64 field name of obj into *out (allocated,
 * NUL-terminated; an absent field is the empty string), its length in
 * *len. Errors: MM_ETCD_PROTOCOL, _NOMEM. */
static int get_b64(json_object *obj, const char *name, char **out, size_t *len)
{
    json_object *f;
    if (!json_object_object_get_ex(obj, name, &f) || !f)
        return b64_decode("", 0, out, len);
    if (!json_object_is_type(f, json_type_string))
        return MM_ETCD_PROTOCOL;
    return b64_decode(json_object_get_string(f), (size_t)json_object_get_string_len(f), out, len);
}

/* add_b64 adds the field name to obj: n bytes of src in base64. */
static int add_b64(json_object *obj, const char *name, const void *src, size_t n)
{
    char *s = b64_encode(src, n);
    if (!s)
        return MM_ETCD_NOMEM;
    json_object *v = json_object_new_string(s);
    free(s);
    if (!v || json_object_object_add(obj, name, v) != 0) {
        json_object_put(v);
        return MM_ETCD_NOMEM;
    }
    return MM_ETCD_OK;
}

/* add_i64 adds the field name to obj: v as a JSON string of digits. */
static int add_i64(json_object *obj, const char *name, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    json_object *o = json_object_new_string(s);
    if (!o || json_object_object_add(obj, name, o) != 0) {
        json_object_put(o);
        return MM_ETCD_NOMEM;
    }
    return MM_ETCD_OK;
}

/* add_obj adds the object v to obj as name, taking v (freed on failure). */
static int add_obj(json_object *obj, const char *name, json_object *v)
{
    if (!v || json_object_object_add(obj, name, v) != 0) {
        json_object_put(v);
        return MM_ETCD_NOMEM;
    }
    return MM_ETCD_OK;
}

/* prefix_end writes into a new buffer the end of the range of keys that
 * begin with prefix (n bytes): prefix with its last byte below 0xff plus
 * one and what follows cut; "\0" (every key) when there is no such byte.
 * Its length in *len; NULL when out of memory. */
static char *prefix_end(const char *prefix, size_t n, size_t *len)
{
    char *end = malloc(n + 1);
    if (!end)
        return NULL;
    memcpy(end, prefix, n);
    while (n > 0) {
        unsigned char c = (unsigned char)end[n - 1];
        if (c < 0xff) {
            end[n - 1] = (char)(c + 1);
            *len = n;
            return end;
        }
        n--;
    }
    end[0] = '\0';
    *len = 1;
    return end;
}

/* add_range adds key (and range_end when prefix) to the request obj. */
static int add_range(json_object *obj, const char *key, int prefix)
{
    size_t n = strlen(key);
    int rc = add_b64(obj, "key", key, n);
    if (rc || !prefix)
        return rc;
    size_t elen;
    char *end = prefix_end(key, n, &elen);
    if (!end)
        return MM_ETCD_NOMEM;
    rc = add_b64(obj, "range_end", end, elen);
    free(end);
    return rc;
}

/* ---- the handle ---------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* check_endpoint says whether url is an http:// or https:// URL with a host
 * and nothing past its port but an optional '/'; why not in why. */
static int check_endpoint(const char *url, const char **why)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        *why = "not an http:// or https:// URL";
        return -1;
    }
    CURLU *u = curl_url();
    if (!u) {
        *why = "out of memory";
        return -1;
    }
    int bad = 0;
    char *host = NULL, *path = NULL, *query = NULL, *user = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        *why = "not a URL";
        bad = 1;
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        *why = "no host";
        bad = 1;
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        *why = "a user in the URL (credentials are not taken from URLs)";
        bad = 1;
    } else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
        *why = "a query in the URL";
        bad = 1;
    } else if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path &&
               strcmp(path, "/") != 0 && path[0]) {
        *why = "a path in the URL (give the member's client URL only)";
        bad = 1;
    }
    curl_free(host);
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_url_cleanup(u);
    return bad ? -1 : 0;
}

/* check_file says whether path can be read: 0, or -1 with why in buf
 * (size n). */
static int check_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    int c = f ? fgetc(f) : EOF;
    int e = !f ? errno : ferror(f) ? errno : 0;
    if (f)
        fclose(f);
    if (e) {
        char tmp[96];
        snprintf(buf, n, "%s", strerror_r(e, tmp, sizeof tmp));
        return -1;
    }
    if (c == EOF) {
        snprintf(buf, n, "an empty file");
        return -1;
    }
    return 0;
}

static struct curl_slist *json_headers(void);

/* mm_etcd_destroy: see etcd.h. */
void mm_etcd_destroy(mm_etcd *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_ep; i++)
        free(h->ep[i]);
    free(h->ep);
    free(h->cacert);
    free(h->cert);
    free(h->key);
    for (size_t i = 0; i < h->n_idle; i++)
        curl_easy_cleanup(h->idle[i]);
    free(h->idle);
    curl_slist_free_all(h->headers);
    if (h->max_idle)
        pthread_mutex_destroy(&h->lock);
    free(h);
}

static char *dup_opt(const char *s, int *nomem)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *nomem = 1;
    return d;
}

/* mm_etcd_create: see etcd.h. */
int mm_etcd_create(mm_etcd **out, const mm_etcd_cfg *cfg, mm_etcd_err *err)
{
    if (!out || !cfg)
        return set_err(err, MM_ETCD_INVALID, "etcd: no settings");
    *out = NULL;
    if (!cfg->endpoints || !*cfg->endpoints)
        return set_err(err, MM_ETCD_INVALID, "etcd: no endpoint");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return set_err(err, MM_ETCD_FAILED, "etcd: libcurl cannot start: %s",
                       curl_easy_strerror(curl_init_rc));

    const char *why;
    char why_buf[128];
    const char *files[3][2] = {
        {"CA file", cfg->cacert}, {"certificate file", cfg->cert}, {"key file", cfg->key}};
    for (int i = 0; i < 3; i++)
        if (files[i][1] && check_file(files[i][1], why_buf, sizeof why_buf) != 0)
            return set_err(err, MM_ETCD_INVALID, "etcd: %s %s: %s", files[i][0], files[i][1],
                           why_buf);
    if (cfg->key && !cfg->cert)
        return set_err(err, MM_ETCD_INVALID, "etcd: a key file without a certificate file");
    if (cfg->max_answer > ETCD_MAX_ANSWER_MAX)
        return set_err(err, MM_ETCD_INVALID, "etcd: max_answer %zu is more than %zu",
                       cfg->max_answer, (size_t)ETCD_MAX_ANSWER_MAX);
    if (cfg->max_idle > ETCD_MAX_IDLE_MAX)
        return set_err(err, MM_ETCD_INVALID, "etcd: max_idle %u is more than %u", cfg->max_idle,
                       ETCD_MAX_IDLE_MAX);
    if (cfg->timeout_ms > ETCD_TIMEOUT_MS_MAX)
        return set_err(err, MM_ETCD_INVALID, "etcd: timeout_ms %u is more than %u", cfg->timeout_ms,
                       ETCD_TIMEOUT_MS_MAX);

    mm_etcd *h = calloc(1, sizeof *h);
    if (!h)
        return set_err(err, MM_ETCD_NOMEM, "etcd: out of memory");
    int nomem = 0;
    h->cacert = dup_opt(cfg->cacert, &nomem);
    h->cert = dup_opt(cfg->cert, &nomem);
    h->key = dup_opt(cfg->key, &nomem);
    h->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : ETCD_TIMEOUT_MS_DEFAULT;
    h->max_answer = cfg->max_answer ? cfg->max_answer : ETCD_MAX_ANSWER_DEFAULT;
    atomic_init(&h->current, 0);
    h->headers = json_headers();
    size_t max_idle = cfg->max_idle ? cfg->max_idle : ETCD_MAX_IDLE_DEFAULT;
    h->idle = calloc(max_idle, sizeof *h->idle);
    if (!h->headers || !h->idle || pthread_mutex_init(&h->lock, NULL) != 0)
        nomem = 1;
    else
        h->max_idle = max_idle;

    size_t cap = 1;
    for (const char *p = cfg->endpoints; *p; p++)
        cap += *p == ',';
    h->ep = calloc(cap, sizeof *h->ep);
    if (nomem || !h->ep) {
        mm_etcd_destroy(h);
        return set_err(err, MM_ETCD_NOMEM, "etcd: out of memory");
    }
    const char *p = cfg->endpoints;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || n > ETCD_URL_MAX) {
            mm_etcd_destroy(h);
            return set_err(err, MM_ETCD_INVALID, "etcd: %s endpoint in \"%.160s\"",
                           n ? "a too long" : "an empty", cfg->endpoints);
        }
        char *url = strndup(p, n);
        if (!url) {
            mm_etcd_destroy(h);
            return set_err(err, MM_ETCD_NOMEM, "etcd: out of memory");
        }
        if (check_endpoint(url, &why) != 0) {
            set_err(err, MM_ETCD_INVALID, "etcd: endpoint \"%s\": %s", url, why);
            free(url);
            mm_etcd_destroy(h);
            return MM_ETCD_INVALID;
        }
        while (n > 0 && url[n - 1] == '/')
            url[--n] = '\0';
        h->ep[h->n_ep++] = url;
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = h;
    return ok(err);
}

/* ---- one request on one endpoint ----------------------------------------- */

/* An answer being received: bounded by max, checked before it grows. */
typedef struct answer {
    char *buf;
    size_t len, cap, max;
    int too_large; /* the answer passed max */
} answer;

static size_t answer_write(char *data, size_t size, size_t nmemb, void *userp)
{
    answer *a = userp;
    size_t n = size * nmemb;
    if (n > a->max - a->len) {
        a->too_large = 1;
        return 0;
    }
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n + 1)
            cap = cap > a->max / 2 + 1 ? a->max + 1 : cap * 2;
        char *b = realloc(a->buf, cap);
        if (!b)
            return 0;
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, data, n);
    a->len += n;
    a->buf[a->len] = '\0';
    return n;
}

/* Where a failure sends a request: elsewhere (the endpoint could not be
 * used), or back to the caller (an answer, or a local failure). */
enum { FINAL = 0, NEXT = 1 };

/* is_tls_code says whether rc is one of libcurl's TLS failures. */
static int is_tls_code(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

/* curl_failure turns the libcurl failure rc of a transfer with endpoint ep
 * (errbuf: libcurl's detail; connected: whether a connection was made)
 * into err, and says where the request goes next. */
static int curl_failure(mm_etcd_err *err, const char *ep, CURLcode rc, const char *errbuf,
                        int connected)
{
    const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
    if (is_tls_code(rc) ||
        ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && strncmp(ep, "https:", 6) == 0 &&
         (strstr(detail, "SSL") || strstr(detail, "alert") || strstr(detail, "certificate")))) {
        set_err(err, MM_ETCD_TLS, "%s: TLS failure: %s", ep, detail);
        return NEXT;
    }
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        set_err(err, MM_ETCD_UNREACHABLE, "%s: cannot connect: %s", ep, detail);
        return NEXT;
    case CURLE_OPERATION_TIMEDOUT:
        if (!connected)
            set_err(err, MM_ETCD_UNREACHABLE, "%s: cannot connect: timed out (%s)", ep, detail);
        else
            set_err(err, MM_ETCD_TIMEDOUT, "%s: timed out: %s", ep, detail);
        return NEXT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        set_err(err, MM_ETCD_UNREACHABLE, "%s: connection lost: %s", ep, detail);
        return NEXT;
    case CURLE_PARTIAL_FILE:
        set_err(err, MM_ETCD_PROTOCOL, "%s: a truncated answer: %s", ep, detail);
        return FINAL;
    case CURLE_OUT_OF_MEMORY:
        set_err(err, MM_ETCD_NOMEM, "%s: out of memory", ep);
        return FINAL;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: /* an answer that is not HTTP/1.x ("HTTP/0.9") */
    case CURLE_HTTP2:
    case CURLE_BAD_CONTENT_ENCODING:
        set_err(err, MM_ETCD_PROTOCOL, "%s: not an HTTP answer: %s", ep, detail);
        return FINAL;
    default:
        set_err(err, MM_ETCD_FAILED, "%s: %s", ep, detail);
        return FINAL;
    }
}

/* is_denial says whether etcd's error text msg refuses a request for want
 * of rights: "permission denied" (PermissionDenied), "invalid auth token"
 * (Unauthenticated), and the two texts etcd 3.4 sends with other gRPC
 * codes: "user name is empty" (InvalidArgument, a request without a token
 * while authentication is on) and "authentication failed"
 * (FailedPrecondition). */
static int is_denial(const char *msg)
{
    return strstr(msg, "permission denied") || strstr(msg, "user name is empty") ||
           strstr(msg, "authentication failed") || strstr(msg, "invalid auth token") ||
           strstr(msg, "auth token is expired");
}

/* etcd_error turns the error answer obj of endpoint ep (either shape: the
 * unary {"error":TEXT,"code":N,"message":TEXT} or the stream's
 * {"error":{"grpc_code":N,"message":TEXT}}) into err, and says where the
 * request goes next: an unavailable member (no leader, stopping) sends it
 * to the next endpoint; any other answer is final. */
static int etcd_error(mm_etcd_err *err, const char *ep, json_object *obj)
{
    json_object *e = NULL, *f;
    int64_t code = -1;
    const char *msg = NULL;
    if (json_object_object_get_ex(obj, "error", &e) && json_object_is_type(e, json_type_object))
        obj = e;
    if (json_object_object_get_ex(obj, "code", &f) ||
        json_object_object_get_ex(obj, "grpc_code", &f))
        code = json_object_get_int64(f);
    if (json_object_object_get_ex(obj, "message", &f) && json_object_is_type(f, json_type_string))
        msg = json_object_get_string(f);
    else if (e && json_object_is_type(e, json_type_string))
        msg = json_object_get_string(e);
    if (!msg || !*msg)
        msg = "no message";
    if (strstr(msg, "lease not found"))
        return set_err(err, MM_ETCD_NOT_FOUND, "%s: lease not found (%s)", ep, msg), FINAL;
    if (code == 7 || code == 16 || is_denial(msg))
        return set_err(err, MM_ETCD_DENIED, "%s: permission denied (%s)", ep, msg), FINAL;
    if (strstr(msg, "too large") || strstr(msg, "larger than max"))
        return set_err(err, MM_ETCD_TOO_LARGE, "%s: too large (%s)", ep, msg), FINAL;
    if (strstr(msg, "compacted"))
        return set_err(err, MM_ETCD_COMPACTED, "%s: revision compacted (%s)", ep, msg), FINAL;
    if (code == 14) {
        set_err(err, MM_ETCD_UNREACHABLE, "%s: unavailable (%s)", ep, msg);
        return NEXT;
    }
    set_err(err, MM_ETCD_FAILED, "%s: etcd error %" PRId64 " (%s)", ep, code, msg);
    return FINAL;
}

/* is_error says whether the answer obj is an error of etcd's (either
 * shape; not the empty "error" field a LeaseGrantResponse may have). */
static int is_error(json_object *obj)
{
    json_object *e;
    if (!json_object_object_get_ex(obj, "error", &e) || !e)
        return 0;
    return json_object_is_type(e, json_type_object) ||
           (json_object_is_type(e, json_type_string) && json_object_get_string_len(e) > 0);
}

/* parse_whole parses buf (len bytes) as exactly one JSON object (with
 * whitespace around it) into *out. Returns 0, or -1 when it is not. */
static int parse_whole(const char *buf, size_t len, json_object **out)
{
    if (len > INT_MAX)
        return -1;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return -1;
    json_object *obj = json_tokener_parse_ex(tok, buf ? buf : "", (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    int good = obj && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    for (; good && end < len; end++)
        if (buf[end] != ' ' && buf[end] != '\n' && buf[end] != '\r' && buf[end] != '\t')
            good = 0;
    if (!good || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return -1;
    }
    *out = obj;
    return 0;
}

/* easy_common sets on c what every transfer of h to endpoint ep shares:
 * the URL of path, TLS settings, HTTP/1.1, no signals, libcurl's detail in
 * errbuf. Returns a CURLcode. */
static CURLcode easy_common(CURL *c, const mm_etcd *h, const char *ep, const char *path,
                            char *errbuf, struct curl_slist *headers)
{
    char url[1024];
    if ((size_t)snprintf(url, sizeof url, "%s%s", ep, path) >= sizeof url)
        return CURLE_URL_MALFORMAT;
    CURLcode rc = CURLE_OK;
#define SET(opt, v)                                                                                \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(c, opt, v);                                                      \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
    SET(CURLOPT_PROXY, "");
    if (h->cacert)
        SET(CURLOPT_CAINFO, h->cacert);
    if (h->cert)
        SET(CURLOPT_SSLCERT, h->cert);
    if (h->key)
        SET(CURLOPT_SSLKEY, h->key);
#undef SET
    return rc;
}

/* json_headers makes the list of headers of every request. */
static struct curl_slist *json_headers(void)
{
    /* "Expect:" keeps libcurl from waiting for a 100 Continue on large
     * bodies, which the gateway does not send. The gateway passes a
     * Grpc-Metadata-NAME header on as the gRPC metadata NAME: "hasleader:
     * true" is what etcd's own client sends to require a leader, so that a
     * member cut off from its leader answers "no leader" at once, and ends
     * a watch a few election timeouts after it lost its leader, instead of
     * leaving it silent. */
    const char *lines[] = {"Content-Type: application/json",
                           "Expect:", "Grpc-Metadata-hasleader: true"};
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct curl_slist *n = curl_slist_append(l, lines[i]);
        if (!n) {
            curl_slist_free_all(l);
            return NULL;
        }
        l = n;
    }
    return l;
}

/* easy_take gives an easy handle for one request: an idle one of h's pool
 * (its options reset, its connections kept), or a new one; NULL when out
 * of memory. Locks h->lock briefly. */
static CURL *easy_take(mm_etcd *h)
{
    CURL *c = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->n_idle > 0)
        c = h->idle[--h->n_idle];
    pthread_mutex_unlock(&h->lock);
    if (c) {
        curl_easy_reset(c);
        return c;
    }
    return curl_easy_init();
}

/* easy_give gives c back to h's pool, or frees it when the pool is full. */
static void easy_give(mm_etcd *h, CURL *c)
{
    pthread_mutex_lock(&h->lock);
    if (h->n_idle < h->max_idle) {
        h->idle[h->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    curl_easy_cleanup(c);
}

/* post_once sends body to path on endpoint ep and parses the answer into
 * *out (the caller puts it). Returns an MM_ETCD_* code, also in err (not
 * NULL), and says in *next whether the request should go to the next
 * endpoint. */
static int post_once(mm_etcd *h, const char *ep, const char *path, const char *body,
                     json_object **out, mm_etcd_err *err, int *next)
{
    *next = FINAL;
    char errbuf[CURL_ERROR_SIZE] = "";
    answer a = {.max = h->max_answer};
    CURL *c = easy_take(h);
    if (!c)
        return set_err(err, MM_ETCD_NOMEM, "%s: out of memory", ep);
    CURLcode rc = easy_common(c, h, ep, path, errbuf, h->headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, answer_write);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_answer);
    if (rc != CURLE_OK) {
        curl_easy_cleanup(c);
        return set_err(err, MM_ETCD_FAILED, "%s: libcurl: %s", ep, curl_easy_strerror(rc));
    }
    rc = curl_easy_perform(c);
    long status = 0, sent = 0;
    curl_off_t connect_us = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
    /* the pointers it was given live on this stack: none may outlast it */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    easy_give(h, c);

    int code;
    if (a.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        code = set_err(err, MM_ETCD_TOO_LARGE, "%s: an answer larger than %zu bytes", ep,
                       h->max_answer);
    } else if (rc != CURLE_OK) {
        *next = curl_failure(err, ep, rc, errbuf, connect_us > 0 || sent > 0);
        code = err->code;
    } else {
        json_object *obj = NULL;
        if (parse_whole(a.buf, a.len, &obj) != 0) {
            if (status != 200)
                code = set_err(err, status >= 500 ? MM_ETCD_FAILED : MM_ETCD_PROTOCOL,
                               "%s: HTTP status %ld without an etcd error", ep, status);
            else
                code = set_err(err, MM_ETCD_PROTOCOL, "%s: an answer that is not JSON", ep);
        } else if (is_error(obj)) {
            *next = etcd_error(err, ep, obj);
            code = err->code;
            json_object_put(obj);
        } else if (status != 200) {
            code = set_err(err, MM_ETCD_PROTOCOL, "%s: HTTP status %ld without an etcd error", ep,
                           status);
            json_object_put(obj);
        } else {
            *out = obj;
            code = MM_ETCD_OK;
        }
    }
    free(a.buf);
    return code;
}

/* all_tried says in err's text, when there is more than one endpoint, that
 * every one was tried and failed: the text names the last one and its
 * cause, which alone would read as if only that member were down. */
static void all_tried(const mm_etcd *h, mm_etcd_err *err)
{
    if (!err || h->n_ep < 2)
        return;
    char head[64];
    int n = snprintf(head, sizeof head, "all %zu endpoints failed, the last: ", h->n_ep);
    size_t len = strnlen(err->text, sizeof err->text - 1);
    if (n <= 0 || (size_t)n >= sizeof err->text)
        return;
    /* the last error's text after the head, cut to fit */
    if (len > sizeof err->text - 1 - (size_t)n)
        len = sizeof err->text - 1 - (size_t)n;
    memmove(err->text + n, err->text, len);
    memcpy(err->text, head, (size_t)n);
    err->text[(size_t)n + len] = '\0';
}

/* post sends the JSON request req to path, on the endpoint that last
 * answered and then on the others in turn while one cannot be used; the
 * answer's JSON object in *out (the caller puts it). */
static int post(mm_etcd *h, const char *path, json_object *req, json_object **out, mm_etcd_err *err)
{
    const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    if (!body)
        return set_err(err, MM_ETCD_NOMEM, "etcd: out of memory");
    mm_etcd_err local;
    if (!err)
        err = &local;
    size_t first = atomic_load(&h->current) % h->n_ep;
    int code = MM_ETCD_UNREACHABLE;
    for (size_t k = 0; k < h->n_ep; k++) {
        size_t i = (first + k) % h->n_ep;
        int next;
        code = post_once(h, h->ep[i], path, body, out, err, &next);
        if (code == MM_ETCD_OK) {
            if (i != first)
                atomic_store(&h->current, i);
            return ok(err);
        }
        if (next != NEXT)
            return code;
    }
    all_tried(h, err);
    return code;
}

/* ---- leases -------------------------------------------------------------- */

/* result_of gives the "result" object of a streamed answer (keep-alive). */
static json_object *result_of(json_object *obj)
{
    json_object *r;
    if (json_object_object_get_ex(obj, "result", &r) && json_object_is_type(r, json_type_object))
        return r;
    return NULL;
}

/* mm_etcd_lease_grant: see etcd.h. */
int mm_etcd_lease_grant(mm_etcd *h, unsigned ttl_s, int64_t *id, mm_etcd_err *err)
{
    if (!h || !id || ttl_s == 0)
        return set_err(err, MM_ETCD_INVALID, "etcd: lease grant: a bad argument");
    json_object *req = json_object_new_object(), *ans = NULL;
    int rc = req ? add_i64(req, "TTL", ttl_s) : MM_ETCD_NOMEM;
    if (rc == MM_ETCD_OK)
        rc = post(h, "/v3/lease/grant", req, &ans, err);
    else
        set_err(err, rc, "etcd: out of memory");
    json_object_put(req);
    if (rc != MM_ETCD_OK)
        return rc;
    int64_t v = 0, ttl = 0;
    if (get_i64(ans, "ID", &v) != 0 || v == 0 || get_i64(ans, "TTL", &ttl) != 0) {
        json_object_put(ans);
        return set_err(err, MM_ETCD_PROTOCOL, "etcd: lease grant: an answer without a lease ID");
    }
    json_object_put(ans);
    *id = v;
    return ok(err);
}

/* mm_etcd_lease_keepalive: see etcd.h. The gateway's keep-alive is a
 * stream; a request body of one object gets one {"result":...} back. */
int mm_etcd_lease_keepalive(mm_etcd *h, int64_t id, int64_t *ttl_s, mm_etcd_err *err)
{
    if (!h || id == 0)
        return set_err(err, MM_ETCD_INVALID, "etcd: lease keep-alive: a bad argument");
    json_object *req = json_object_new_object(), *ans = NULL;
    int rc = req ? add_i64(req, "ID", id) : MM_ETCD_NOMEM;
    if (rc == MM_ETCD_OK)
        rc = post(h, "/v3/lease/keepalive", req, &ans, err);
    else
        set_err(err, rc, "etcd: out of memory");
    json_object_put(req);
    if (rc != MM_ETCD_OK)
        return rc;
    json_object *r = result_of(ans);
    int64_t ttl = 0;
    if (!r) {
        json_object_put(ans);
        return set_err(err, MM_ETCD_PROTOCOL, "etcd: lease keep-alive: an answer without result");
    }
    if (get_i64(r, "TTL", &ttl) != 0) {
        json_object_put(ans);
        return set_err(err, MM_ETCD_PROTOCOL, "etcd: lease keep-alive: a bad TTL");
    }
    json_object_put(ans);
    if (ttl <= 0)
        return set_err(err, MM_ETCD_NOT_FOUND,
                       "etcd: lease %" PRIx64 " not found (expired or revoked)", (uint64_t)id);
    if (ttl_s)
        *ttl_s = ttl;
    return ok(err);
}

/* mm_etcd_lease_revoke: see etcd.h. */
int mm_etcd_lease_revoke(mm_etcd *h, int64_t id, mm_etcd_err *err)
{
    if (!h || id == 0)
        return set_err(err, MM_ETCD_INVALID, "etcd: lease revoke: a bad argument");
    json_object *req = json_object_new_object(), *ans = NULL;
    int rc = req ? add_i64(req, "ID", id) : MM_ETCD_NOMEM;
    if (rc == MM_ETCD_OK)
        rc = post(h, "/v3/lease/revoke", req, &ans, err);
    else
        set_err(err, rc, "etcd: out of memory");
    json_object_put(req);
    json_object_put(ans);
    return rc;
}

/* ---- keys ---------------------------------------------------------------- */

/* header_revision reads header.revision of an answer into *rev. */
static int header_revision(json_object *ans, int64_t *rev)
{
    json_object *hd;
    *rev = 0;
    if (!json_object_object_get_ex(ans, "header", &hd) ||
        !json_object_is_type(hd, json_type_object))
        return -1;
    return get_i64(hd, "revision", rev);
}

/* mm_etcd_put: see etcd.h. */
int mm_etcd_put(mm_etcd *h, const char *key, const void *value, size_t len, int64_t lease,
                int64_t *rev, mm_etcd_err *err)
{
    if (!h || !key || !*key || (!value && len))
        return set_err(err, MM_ETCD_INVALID, "etcd: put: a bad argument");
    json_object *req = json_object_new_object(), *ans = NULL;
    int rc = req ? add_b64(req, "key", key, strlen(key)) : MM_ETCD_NOMEM;
    if (rc == MM_ETCD_OK)
        rc = add_b64(req, "value", value ? value : "", len);
    if (rc == MM_ETCD_OK && lease)
        rc = add_i64(req, "lease", lease);
    if (rc == MM_ETCD_OK)
        rc = post(h, "/v3/kv/put", req, &ans, err);
    else
        set_err(err, rc, "etcd: out of memory");
    json_object_put(req);
    if (rc != MM_ETCD_OK)
        return rc;
    int64_t r;
    if (header_revision(ans, &r) != 0 || r <= 0) {
        json_object_put(ans);
        return set_err(err, MM_ETCD_PROTOCOL, "etcd: put: an answer without a revision");
    }
    json_object_put(ans);
    if (rev)
        *rev = r;
    return ok(err);
}

/* mm_etcd_delete: see etcd.h. */
int mm_etcd_delete(mm_etcd *h, const char *key, int prefix, int64_t *deleted, mm_etcd_err *err)
{
    if (!h || !key || !*key)
        return set_err(err, MM_ETCD_INVALID, "etcd: delete: a bad argument");
    json_object *req = json_object_new_object(), *ans = NULL;
    int rc = req ? add_range(req, key, prefix) : MM_ETCD_NOMEM;
    if (rc == MM_ETCD_OK)
        rc = post(h, "/v3/kv/deleterange", req, &ans, err);
    else
        set_err(err, rc, "etcd: out of memory");
    json_object_put(req);
    if (rc != MM_ETCD_OK)
        return rc;
    int64_t n, r;
    if (header_revision(ans, &r) != 0 || get_i64(ans, "deleted", &n) != 0 || n < 0) {
        json_object_put(ans);
        return set_err(err, MM_ETCD_PROTOCOL, "etcd: delete: a malformed answer");
    }
    json_object_put(ans);
    if (deleted)
        *deleted = n;
    return ok(err);
}

/* mm_etcd_kvs_free: see etcd.h. */
void mm_etcd_kvs_free(mm_etcd_kvs *kvs)
{
    if (!kvs)
        return;
    for (size_t i = 0; i < kvs->n; i++) {
        free(kvs->kv[i].key);
        free(kvs->kv[i].value);
    }
    free(kvs->kv);
    memset(kvs, 0, sizeof *kvs);
}

/* What decode_kv says of a key this interface cannot give: one with a NUL
 * byte (keys are C strings here, and none of Parley's has one). It is left
 * out, rather than failing the range or the watch it came in: anyone who
 * may write under the prefix could otherwise stop every reader. */
#define KV_SKIP (-1)

/* decode_kv fills kv from the gateway's KeyValue object o. Errors:
 * MM_ETCD_PROTOCOL, _NOMEM, or KV_SKIP; nothing is left allocated then. */
static int decode_kv(json_object *o, mm_etcd_kv *kv)
{
    memset(kv, 0, sizeof *kv);
    if (!json_object_is_type(o, json_type_object))
        return MM_ETCD_PROTOCOL;
    size_t klen;
    int rc = get_b64(o, "key", &kv->key, &klen);
    if (rc == MM_ETCD_OK && (klen == 0 || memchr(kv->key, '\0', klen)))
        rc = KV_SKIP;
    if (rc == MM_ETCD_OK)
        rc = get_b64(o, "value", &kv->value, &kv->value_len);
    if (rc == MM_ETCD_OK && (get_i64(o, "lease", &kv->lease) != 0 ||
                             get_i64(o, "mod_revision", &kv->mod_revision) != 0))
        rc = MM_ETCD_PROTOCOL;
    if (rc != MM_ETCD_OK) {
        free(kv->key);
        free(kv->value);
        memset(kv, 0, sizeof *kv);
    }
    return rc;
}

/* mm_etcd_range: see etcd.h. */
int mm_etcd_range(mm_etcd *h, const char *prefix, mm_etcd_kvs *out, mm_etcd_err *err)
{
    if (!h || !prefix || !*prefix || !out)
        return set_err(err, MM_ETCD_INVALID, "etcd: range: a bad argument");
    json_object *req = json_object_new_object(), *ans = NULL;
    int rc = req ? add_range(req, prefix, 1) : MM_ETCD_NOMEM;
    if (rc == MM_ETCD_OK)
        rc = post(h, "/v3/kv/range", req, &ans, err);
    else
        set_err(err, rc, "etcd: out of memory");
    json_object_put(req);
    if (rc != MM_ETCD_OK)
        return rc;

    mm_etcd_kvs kvs = {0};
    json_object *arr = NULL;
    if (header_revision(ans, &kvs.revision) != 0 || kvs.revision <= 0 ||
        (json_object_object_get_ex(ans, "kvs", &arr) &&
         !json_object_is_type(arr, json_type_array))) {
        json_object_put(ans);
        return set_err(err, MM_ETCD_PROTOCOL, "etcd: range: a malformed answer");
    }
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (n > 0) {
        kvs.kv = calloc(n, sizeof *kvs.kv);
        if (!kvs.kv) {
            json_object_put(ans);
            return set_err(err, MM_ETCD_NOMEM, "etcd: range: out of memory");
        }
    }
    for (size_t i = 0; i < n; i++) {
        rc = decode_kv(json_object_array_get_idx(arr, i), &kvs.kv[kvs.n]);
        if (rc == KV_SKIP)
            continue;
        if (rc != MM_ETCD_OK) {
            json_object_put(ans);
            mm_etcd_kvs_free(&kvs);
            return set_err(err, rc, "etcd: range: %s",
                           rc == MM_ETCD_NOMEM ? "out of memory" : "a malformed key or value");
        }
        kvs.n++;
    }
    json_object_put(ans);
    *out = kvs;
    return ok(err);
}

/* ---- watch --------------------------------------------------------------- */

/* A watch's stream being received and split into JSON objects. */
typedef struct watch_state {
    const mm_etcd *h;
    const char *ep;
    json_tokener *tok;
    size_t obj_bytes; /* bytes of the object being parsed so far */
    mm_etcd_watch_fn *fn;
    void *ctx;
    int created; /* etcd said the watch was created */
    int done;    /* the stream's outcome is decided: code and err */
    int code;
    mm_etcd_err err;
    int64_t compact_rev;
    mm_etcd_event *ev; /* room for the events of one answer */
    size_t ev_cap;
} watch_state;

/* watch_finish decides the outcome of the watch (the first decision
 * stands). */
static void watch_finish(watch_state *w, int code)
{
    if (!w->done) {
        w->done = 1;
        w->code = code;
    }
}

/* watch_events decodes the events of one answer r and gives them to the
 * callback. */
static void watch_events(watch_state *w, json_object *r, json_object *events)
{
    int64_t rev = 0;
    if (header_revision(r, &rev) != 0 || !json_object_is_type(events, json_type_array)) {
        set_err(&w->err, MM_ETCD_PROTOCOL, "%s: watch: a malformed answer", w->ep);
        watch_finish(w, MM_ETCD_PROTOCOL);
        return;
    }
    size_t n = json_object_array_length(events);
    if (n == 0)
        return;
    if (n > w->ev_cap) {
        mm_etcd_event *ev = realloc(w->ev, n * sizeof *ev);
        if (!ev) {
            set_err(&w->err, MM_ETCD_NOMEM, "%s: watch: out of memory", w->ep);
            watch_finish(w, MM_ETCD_NOMEM);
            return;
        }
        w->ev = ev;
        w->ev_cap = n;
    }
    mm_etcd_kv *kv = calloc(n, sizeof *kv);
    if (!kv) {
        set_err(&w->err, MM_ETCD_NOMEM, "%s: watch: out of memory", w->ep);
        watch_finish(w, MM_ETCD_NOMEM);
        return;
    }
    size_t got = 0; /* the events kept */
    int rc = MM_ETCD_OK;
    for (size_t i = 0; i < n && rc == MM_ETCD_OK; i++) {
        json_object *e = json_object_array_get_idx(events, i), *t, *o;
        if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "kv", &o)) {
            rc = MM_ETCD_PROTOCOL;
            break;
        }
        int type = MM_ETCD_PUT;
        if (json_object_object_get_ex(e, "type", &t)) {
            const char *s = json_object_get_string(t);
            if (json_object_is_type(t, json_type_string) && strcmp(s, "DELETE") == 0)
                type = MM_ETCD_DELETE;
            else if (json_object_is_type(t, json_type_int) && json_object_get_int(t) == 1)
                type = MM_ETCD_DELETE;
            else if (!(json_object_is_type(t, json_type_string) && strcmp(s, "PUT") == 0) &&
                     !(json_object_is_type(t, json_type_int) && json_object_get_int(t) == 0)) {
                rc = MM_ETCD_PROTOCOL;
                break;
            }
        }
        rc = decode_kv(o, &kv[got]);
        if (rc == KV_SKIP) {
            rc = MM_ETCD_OK;
            continue;
        }
        if (rc != MM_ETCD_OK)
            break;
        w->ev[got] = (mm_etcd_event){.type = type,
                                     .key = kv[got].key,
                                     .value = kv[got].value,
                                     .value_len = type == MM_ETCD_DELETE ? 0 : kv[got].value_len,
                                     .lease = kv[got].lease,
                                     .mod_revision = kv[got].mod_revision};
        got++;
    }
    if (rc == MM_ETCD_OK && w->fn(w->ctx, w->ev, got, rev) != 0) {
        set_err(&w->err, MM_ETCD_STOPPED, "%s: watch: ended by its callback", w->ep);
        watch_finish(w, MM_ETCD_STOPPED);
    } else if (rc != MM_ETCD_OK) {
        set_err(&w->err, rc, "%s: watch: %s", w->ep,
                rc == MM_ETCD_NOMEM ? "out of memory" : "a malformed event");
        watch_finish(w, rc);
    }
    for (size_t i = 0; i < got; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* watch_object handles one object of the stream. */
static void watch_object(watch_state *w, json_object *obj)
{
    json_object *r, *f;
    if (!json_object_is_type(obj, json_type_object)) {
        set_err(&w->err, MM_ETCD_PROTOCOL, "%s: watch: an answer that is not a JSON object", w->ep);
        watch_finish(w, MM_ETCD_PROTOCOL);
        return;
    }
    if (is_error(obj)) {
        int next = etcd_error(&w->err, w->ep, obj);
        (void)next;
        watch_finish(w, w->err.code);
        return;
    }
    r = result_of(obj);
    if (!r) {
        set_err(&w->err, MM_ETCD_PROTOCOL, "%s: watch: an answer without result", w->ep);
        watch_finish(w, MM_ETCD_PROTOCOL);
        return;
    }
    if (json_object_object_get_ex(r, "created", &f) && json_object_get_boolean(f))
        w->created = 1;
    int64_t compact = 0;
    if (get_i64(r, "compact_revision", &compact) != 0) {
        set_err(&w->err, MM_ETCD_PROTOCOL, "%s: watch: a bad compact_revision", w->ep);
        watch_finish(w, MM_ETCD_PROTOCOL);
        return;
    }
    if (json_object_object_get_ex(r, "canceled", &f) && json_object_get_boolean(f)) {
        if (compact > 0) {
            w->compact_rev = compact;
            set_err(&w->err, MM_ETCD_COMPACTED,
                    "%s: watch: revision compacted (the oldest left is %" PRId64 ")", w->ep,
                    compact);
            watch_finish(w, MM_ETCD_COMPACTED);
        } else {
            const char *why = "no reason given";
            if (json_object_object_get_ex(r, "cancel_reason", &f) &&
                json_object_is_type(f, json_type_string))
                why = json_object_get_string(f);
            int code = is_denial(why) ? MM_ETCD_DENIED : MM_ETCD_FAILED;
            set_err(&w->err, code, "%s: watch canceled by etcd (%s%s)", w->ep,
                    code == MM_ETCD_DENIED ? "permission denied: " : "", why);
            watch_finish(w, code);
        }
        return;
    }
    if (json_object_object_get_ex(r, "events", &f))
        watch_events(w, r, f);
}

/* watch_write is the stream's write callback: it feeds the bytes to the
 * tokener and handles every object completed; returning less than given
 * ends the transfer (an outcome decided, an object past max_answer). */
static size_t watch_write(char *data, size_t size, size_t nmemb, void *userp)
{
    watch_state *w = userp;
    size_t n = size * nmemb, off = 0;
    while (off < n && !w->done) {
        size_t chunk = n - off;
        if (chunk > INT_MAX)
            chunk = INT_MAX;
        if (chunk > w->h->max_answer - w->obj_bytes + 1)
            chunk = w->h->max_answer - w->obj_bytes + 1;
        json_object *obj = json_tokener_parse_ex(w->tok, data + off, (int)chunk);
        enum json_tokener_error e = json_tokener_get_error(w->tok);
        size_t used = json_tokener_get_parse_end(w->tok);
        if (e == json_tokener_continue) {
            w->obj_bytes += used;
            off += used;
            if (w->obj_bytes > w->h->max_answer) {
                set_err(&w->err, MM_ETCD_TOO_LARGE, "%s: watch: an answer larger than %zu bytes",
                        w->ep, w->h->max_answer);
                watch_finish(w, MM_ETCD_TOO_LARGE);
            }
            continue;
        }
        if (e != json_tokener_success || !obj) {
            json_object_put(obj);
            set_err(&w->err, MM_ETCD_PROTOCOL, "%s: watch: an answer that is not JSON (%s)", w->ep,
                    json_tokener_error_desc(e));
            watch_finish(w, MM_ETCD_PROTOCOL);
            break;
        }
        off += used;
        w->obj_bytes = 0;
        json_tokener_reset(w->tok);
        watch_object(w, obj);
        json_object_put(obj);
        /* the whitespace between objects is skipped by the next parse */
        while (off < n && (data[off] == '\n' || data[off] == '\r' || data[off] == ' '))
            off++;
    }
    return w->done ? 0 : n;
}

/* watch_sockopt makes the stream's connection give up after
 * ETCD_KEEPALIVE_PROBES unanswered probes rather than the system's 9. */
static int watch_sockopt(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    (void)clientp;
    if (purpose == CURLSOCKTYPE_IPCXN) {
        int probes = ETCD_KEEPALIVE_PROBES;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
    }
    return CURL_SOCKOPT_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* watch_once runs the watch on endpoint ep until it ends, and says in
 * *next whether it could not start there (to try the next endpoint). */
static int watch_once(const mm_etcd *h, const char *ep, const char *body, watch_state *w,
                      const atomic_int *stop, unsigned keepalive_s, int *next)
{
    *next = FINAL;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    CURLM *m = curl_multi_init();
    w->tok = json_tokener_new();
    w->ep = ep;
    w->created = w->done = 0;
    w->obj_bytes = 0;
    if (!c || !m || !w->tok) {
        curl_easy_cleanup(c);
        curl_multi_cleanup(m);
        json_tokener_free(w->tok);
        w->tok = NULL;
        return set_err(&w->err, MM_ETCD_NOMEM, "%s: out of memory", ep);
    }
    CURLcode rc = easy_common(c, h, ep, "/v3/watch", errbuf, h->headers);
#define SET(opt, v)                                                                                \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(c, opt, v);                                                      \
    } while (0)
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_WRITEFUNCTION, watch_write);
    SET(CURLOPT_WRITEDATA, w);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TCP_KEEPIDLE, (long)keepalive_s);
    SET(CURLOPT_TCP_KEEPINTVL, (long)keepalive_s);
    SET(CURLOPT_SOCKOPTFUNCTION, watch_sockopt);
#undef SET
    int code;
    if (rc != CURLE_OK || curl_multi_add_handle(m, c) != CURLM_OK) {
        code = set_err(&w->err, MM_ETCD_FAILED, "%s: libcurl: %s", ep, curl_easy_strerror(rc));
        curl_easy_cleanup(c);
        curl_multi_cleanup(m);
        json_tokener_free(w->tok);
        w->tok = NULL;
        return code;
    }

    int64_t start = now_ms();
    CURLcode result = CURLE_OK;
    int finished = 0;
    code = MM_ETCD_OK;
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE) {
                result = msg->data.result;
                finished = 1;
            }
        if (w->done)
            break;
        if (mc != CURLM_OK) {
            code = set_err(&w->err, MM_ETCD_FAILED, "%s: libcurl: %s", ep, curl_multi_strerror(mc));
            break;
        }
        if (finished || !running)
            break;
        if (atomic_load(stop)) {
            code = set_err(&w->err, MM_ETCD_STOPPED, "%s: watch: stopped", ep);
            break;
        }
        if (!w->created && now_ms() - start > (int64_t)h->timeout_ms) {
            code = set_err(&w->err, MM_ETCD_TIMEDOUT, "%s: watch: not created within %u ms", ep,
                           h->timeout_ms);
            *next = NEXT;
            break;
        }
        mc = curl_multi_poll(m, NULL, 0, ETCD_STOP_POLL_MS, NULL);
        if (mc != CURLM_OK) {
            code = set_err(&w->err, MM_ETCD_FAILED, "%s: libcurl: %s", ep, curl_multi_strerror(mc));
            break;
        }
    }
    long status = 0;
    curl_off_t connect_us = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_multi_remove_handle(m, c);
    curl_easy_cleanup(c);
    curl_multi_cleanup(m);

    if (w->done) {
        code = w->code;
        if (!w->created && code == MM_ETCD_UNREACHABLE)
            *next = NEXT;
    } else if (code == MM_ETCD_OK && finished) {
        if (result != CURLE_OK && !w->created) {
            *next = curl_failure(&w->err, ep, result, errbuf, connect_us > 0);
            code = w->err.code;
        } else if (result != CURLE_OK) {
            code = set_err(&w->err, MM_ETCD_UNREACHABLE, "%s: watch: the stream broke: %s", ep,
                           errbuf[0] ? errbuf : curl_easy_strerror(result));
        } else if (status != 200) {
            code = set_err(&w->err, MM_ETCD_PROTOCOL, "%s: watch: HTTP status %ld", ep, status);
        } else if (w->obj_bytes > 0) {
            code = set_err(&w->err, MM_ETCD_PROTOCOL, "%s: watch: a truncated answer", ep);
        } else if (!w->created) {
            code = set_err(&w->err, MM_ETCD_PROTOCOL,
                           "%s: watch: the stream ended before the watch was created", ep);
        } else {
            code = set_err(&w->err, MM_ETCD_UNREACHABLE, "%s: watch: the stream ended", ep);
        }
    } else if (code == MM_ETCD_OK) {
        code = set_err(&w->err, MM_ETCD_UNREACHABLE, "%s: watch: the stream ended", ep);
    }
    json_tokener_free(w->tok);
    w->tok = NULL;
    return code;
}

/* mm_etcd_watch: see etcd.h. */
int mm_etcd_watch(mm_etcd *h, const char *prefix, int64_t start_rev, mm_etcd_watch_fn *fn,
                  void *ctx, const atomic_int *stop, unsigned keepalive_s, int64_t *compact_rev,
                  mm_etcd_err *err)
{
    if (!h || !prefix || !*prefix || !fn || !stop || start_rev < 0)
        return set_err(err, MM_ETCD_INVALID, "etcd: watch: a bad argument");
    if (keepalive_s == 0)
        keepalive_s = ETCD_KEEPALIVE_S_DEFAULT;
    if (keepalive_s > ETCD_KEEPALIVE_S_MAX)
        return set_err(err, MM_ETCD_INVALID, "etcd: watch: keepalive_s %u is more than %u",
                       keepalive_s, ETCD_KEEPALIVE_S_MAX);
    json_object *req = json_object_new_object(), *create = json_object_new_object();
    int rc = req && create ? add_range(create, prefix, 1) : MM_ETCD_NOMEM;
    if (rc == MM_ETCD_OK && start_rev > 0)
        rc = add_i64(create, "start_revision", start_rev);
    if (rc == MM_ETCD_OK) {
        rc = add_obj(req, "create_request", create);
        create = NULL;
    }
    const char *body =
        rc == MM_ETCD_OK ? json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN) : NULL;
    if (!body) {
        json_object_put(create);
        json_object_put(req);
        return set_err(err, MM_ETCD_NOMEM, "etcd: out of memory");
    }

    watch_state w = {.h = h, .fn = fn, .ctx = ctx};
    size_t first = atomic_load(&h->current) % h->n_ep;
    int code = MM_ETCD_UNREACHABLE;
    for (size_t k = 0; k < h->n_ep; k++) {
        size_t i = (first + k) % h->n_ep;
        int next;
        code = watch_once(h, h->ep[i], body, &w, stop, keepalive_s, &next);
        if (w.created && i != first)
            atomic_store(&h->current, i);
        if (next != NEXT || atomic_load(stop))
            break;
        if (k + 1 == h->n_ep)
            all_tried(h, &w.err);
    }
    json_object_put(req);
    free(w.ev);
    if (code == MM_ETCD_COMPACTED && compact_rev)
        *compact_rev = w.compact_rev;
    if (err)
        *err = w.err;
    if (err)
        err->code = code;
    return code;
}
