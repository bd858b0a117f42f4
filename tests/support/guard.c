/*
 * guard.c: buffers fenced by inaccessible pages, for the tests (guard.h).
 *
 * One mapping holds, in order: a header page that records the mapping's
 * size, the data pages, and a guard page. The data are placed at the end of
 * the data pages, so the byte after the last one is the first byte of the
 * guard page. The header page is PROT_NONE too while the buffer lives, so an
 * under-read past the slack at the start of the data pages crashes as well;
 * pt_guard_free() opens it again to learn how much to unmap.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include "guard.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* page_size returns the system's page size. */
static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

/* pt_guard_alloc maps a header page, enough data pages for n bytes and a
 * guard page, and returns the address n bytes before the guard page. The
 * caller owns the buffer and releases it with pt_guard_free(). */
void *pt_guard_alloc(size_t n)
{
    size_t ps = page_size();
    size_t data, total;
    uint8_t *base;

    if (n > SIZE_MAX - 3 * ps)
        return NULL;
    data = (n + ps - 1) / ps * ps;
    total = data + 2 * ps;
    base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    memcpy(base, &total, sizeof total);
    if (mprotect(base, ps, PROT_NONE) != 0 || mprotect(base + ps + data, ps, PROT_NONE) != 0) {
        munmap(base, total);
        return NULL;
    }
    return base + ps + data - n;
}

/* pt_guard_copy returns a guarded copy of the n bytes at src, owned by the
 * caller until pt_guard_free(). */
const void *pt_guard_copy(const void *src, size_t n)
{
    void *p = pt_guard_alloc(n);
    if (p != NULL && n != 0)
        memcpy(p, src, n);
    return p;
}

/* pt_guard_free unmaps the whole mapping that holds p. The data start within
 * the first data page (or, for n == 0, at the guard page), so the header page
 * is the page before the one p points into. */
void pt_guard_free(const void *p)
{
    size_t ps = page_size();
    uintptr_t page;
    uint8_t *base;
    size_t total;

    if (p == NULL)
        return;
    page = (uintptr_t)p / ps * ps;
    base = (uint8_t *)(page - ps);
    if (mprotect(base, ps, PROT_READ) != 0)
        return;
    memcpy(&total, base, sizeof total);
    munmap(base, total);
}
