/*
 * examples/date/server.c: the date service: the server's clock, raw (to
 * the nanosecond, for a client to measure the offset between the clocks),
 * as text in the strftime format and time zone the caller gives, or broken
 * down as struct tm in that zone. Bad input (a zone the server does not
 * know, a format or a text too long) is answered with a status and a
 * sentence saying what was wrong.
 *
 *   date_server [ADDRESS...]
 *
 * It listens on each ADDRESS (default tcp://127.0.0.1:0, a port the system
 * chooses), prints where, and registers with the matchmaker
 * (PARLEY_MATCHMAKER, default localhost:111) as "date", so that clients can
 * call it by name. Zones are the files of the tz database (Debian's tzdata,
 * under /usr/share/zoneinfo, or TZDIR).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "log.h"
#include "serve.h"

/* The time zone is a setting of the whole process in C: localtime_r and
 * strftime read what tzset() took from the TZ variable, and setenv is not
 * safe against another thread's getenv or setenv. So the server's threads
 * take turns: tz_lock is held from setting TZ to copying out the broken
 * down time and its text, and TZ is set nowhere else. The server's other
 * threads (the runtime's) read no environment while they serve: the
 * runtime reads PARLEY_MATCHMAKER before parley_server_run. */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static char *own_tz;                   /* TZ as the server started; NULL: unset */
static char tz_now[DATE_MAX_ZONE + 1]; /* the zone TZ holds now; "": own_tz */
static const char *tz_dir = "/usr/share/zoneinfo";

/* zone_known tells whether name is a zone of the tz database: a relative
 * path of letters, digits and "._+-/" that does not climb with "..", to a
 * file under tz_dir that begins with the "TZif" magic. glibc takes a name
 * it cannot find as UTC without a word; this is how the server tells the
 * caller instead. */
static int zone_known(const char *name)
{
    if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._+-/", *p) != NULL))
            return 0;
    char path[512];
    char magic[4];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", tz_dir, name) >= sizeof path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == sizeof magic && memcmp(magic, "TZif", 4) == 0;
}

/* refuse answers a refused request: the status st, and the sentence that
 * fmt makes in the call's arena, through why (the union's default arm). */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int
refuse(parley_call *call, date_status *status, char **why, date_status st, const char *fmt, ...)
{
    char *text = parley_arena_alloc(parley_call_arena(call), DATE_MAX_WHY + 1);
    if (!text)
        return PARLEY_ERR_NOMEM;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, DATE_MAX_WHY + 1, fmt, ap);
    va_end(ap);
    *status = st;
    *why = text;
    return PARLEY_OK;
}

/* breakdown is the request's time (0: now) broken down in its zone into
 * *tm, with the zone's abbreviation copied to abbr, and, when text is not
 * NULL, formatted with format into text (text_size bytes). Holds tz_lock
 * throughout. Returns DATE_OK, DATE_BAD_TIME (no struct tm for that time)
 * or DATE_TOO_LONG (the text does not fit). */
static date_status breakdown(const date_request *req, struct tm *tm, char *abbr, char *text,
                             size_t text_size, const char *format)
{
    time_t when = req->when ? (time_t)req->when : time(NULL);
    date_status st = DATE_OK;
    pthread_mutex_lock(&tz_lock);
    if (strcmp(req->zone, tz_now) != 0) {
        if (req->zone[0] != '\0')
            setenv("TZ", req->zone, 1);
        else if (own_tz)
            setenv("TZ", own_tz, 1);
        else
            unsetenv("TZ");
        tzset(); /* localtime_r itself need not read TZ again */
        snprintf(tz_now, sizeof tz_now, "%s", req->zone);
    }
    if (!localtime_r(&when, tm)) {
        st = DATE_BAD_TIME;
    } else {
        snprintf(abbr, DATE_MAX_ZONE + 1, "%s", tm->tm_zone ? tm->tm_zone : "");
        /* the format comes from the request: that is the service. It is
         * given after one character of our own, so that a result of 0
         * means only that the text did not fit (an empty text is fine) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (text && strftime(text, text_size, format, tm) == 0)
            st = DATE_TOO_LONG;
#pragma GCC diagnostic pop
    }
    pthread_mutex_unlock(&tz_lock);
    return st;
}

/* check_zone refuses a zone the server does not know; PARLEY_OK and
 * DATE_OK in *st when the request may go on. */
static int check_zone(const date_request *req, parley_call *call, date_status *st, char **why)
{
    *st = DATE_OK;
    if (req->zone[0] != '\0' && !zone_known(req->zone))
        return refuse(call, st, why, DATE_BAD_ZONE,
                      "unknown time zone '%s' (a name of the tz database, such as "
                      "Europe/Paris or UTC)",
                      req->zone);
    return PARLEY_OK;
}

/* date_now_1_svc answers DATE_NOW: seconds since the epoch. */
int date_now_1_svc(quad_t *result, parley_call *call)
{
    (void)call;
    *result = (quad_t)time(NULL);
    return PARLEY_OK;
}

/* date_clock_1_svc answers DATE_CLOCK: the clock to the nanosecond. */
int date_clock_1_svc(date_clock *result, parley_call *call)
{
    (void)call;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    result->sec = (quad_t)ts.tv_sec;
    result->nsec = (u_int)ts.tv_nsec;
    return PARLEY_OK;
}

/* date_format_1_svc answers DATE_FORMAT: the time asked for (0: now) in the
 * strftime format and zone asked for. The text lives in the call's arena,
 * which the server releases once the reply is sent. */
int date_format_1_svc(const date_request *req, date_text_result *result, parley_call *call)
{
    char **why = &result->date_text_result_u.why;
    size_t flen = strlen(req->format);
    if (flen > DATE_MAX_FORMAT)
        return refuse(call, &result->status, why, DATE_BAD_FORMAT,
                      "the format is %zu bytes, more than the %d the server takes", flen,
                      DATE_MAX_FORMAT);
    int rc = check_zone(req, call, &result->status, why);
    if (rc != PARLEY_OK || result->status != DATE_OK)
        return rc;
    parley_arena *arena = parley_call_arena(call);
    char *format = parley_arena_alloc(arena, flen + 2);
    char *text = parley_arena_alloc(arena, DATE_MAX_TEXT + 2);
    if (!format || !text)
        return PARLEY_ERR_NOMEM;
    format[0] = '.';
    memcpy(format + 1, req->format, flen + 1);
    struct tm tm;
    char abbr[DATE_MAX_ZONE + 1];
    date_status st = breakdown(req, &tm, abbr, text, DATE_MAX_TEXT + 2, format);
    if (st == DATE_TOO_LONG)
        return refuse(call, &result->status, why, st, "the text would be longer than %d bytes",
                      DATE_MAX_TEXT);
    if (st != DATE_OK)
        return refuse(call, &result->status, why, st, "the time %lld cannot be broken down",
                      (long long)req->when);
    result->status = DATE_OK;
    result->date_text_result_u.text = text + 1;
    return PARLEY_OK;
}

/* date_tm_1_svc answers DATE_TM: the time asked for (0: now) broken down
 * in the zone asked for; the request's format is not used. */
int date_tm_1_svc(const date_request *req, date_tm_result *result, parley_call *call)
{
    char **why = &result->date_tm_result_u.why;
    int rc = check_zone(req, call, &result->status, why);
    if (rc != PARLEY_OK || result->status != DATE_OK)
        return rc;
    char *abbr = parley_arena_alloc(parley_call_arena(call), DATE_MAX_ZONE + 1);
    if (!abbr)
        return PARLEY_ERR_NOMEM;
    struct tm tm;
    if (breakdown(req, &tm, abbr, NULL, 0, NULL) != DATE_OK)
        return refuse(call, &result->status, why, DATE_BAD_TIME,
                      "the time %lld cannot be broken down", (long long)req->when);
    date_tm *out = &result->date_tm_result_u.tm;
    out->sec = tm.tm_sec;
    out->min = tm.tm_min;
    out->hour = tm.tm_hour;
    out->mday = tm.tm_mday;
    out->mon = tm.tm_mon;
    out->year = tm.tm_year;
    out->wday = tm.tm_wday;
    out->yday = tm.tm_yday;
    out->isdst = tm.tm_isdst;
    out->gmtoff = (quad_t)tm.tm_gmtoff;
    out->zone = abbr;
    result->status = DATE_OK;
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    if (example_log("date_server", &argc, argv) != 0)
        return 2;
    const char *tz = getenv("TZ");
    const char *dir = getenv("TZDIR");
    if (tz && !(own_tz = strdup(tz)))
        return 1;
    if (dir && dir[0] != '\0')
        tz_dir = dir;
    int status = example_serve("date_server", &date_prog_1, DATE_PROG_SERVICE, argc, argv);
    free(own_tz);
    return status;
}
