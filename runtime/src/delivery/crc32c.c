/*
 * crc32c.c: CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as
 * iSCSI, ext4 and LevelDB compute it: pl_crc32c(0, "123456789", 9) is
 * 0xe3069283.
 *
 * The completion store checksums every record it appends and every record
 * it replays at open, so this sits on the commit path. On x86-64 the SSE4.2
 * instruction does eight bytes at a time, chosen once at run time (the
 * library is built for the baseline x86-64, which lacks it); elsewhere a
 * byte-at-a-time table does the same sum.
 */
#include "delivery/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

/* crc_table_init fills the byte-at-a-time table, once per process. */
static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[i] = c;
    }
}

/* pl_crc32c_portable continues the CRC-32C crc (0 to start) over the n bytes
 * at data with the table, on any machine. */
uint32_t pl_crc32c_portable(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;

    pthread_once(&crc_table_once, crc_table_init);
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* crc_sse42 is pl_crc32c with the SSE4.2 crc32 instruction, eight bytes at
 * a time; only called when the processor has it. */
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const void *data,
                                                            size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;

    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

/* pl_crc32c continues the CRC-32C crc (0 to start) over the n bytes at
 * data, in hardware when the processor can. */
uint32_t pl_crc32c(uint32_t crc, const void *data, size_t n)
{
    static int have = -1; /* a benign race: every thread computes the same */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);

    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h ? crc_sse42(crc, data, n) : pl_crc32c_portable(crc, data, n);
}
#else
/* pl_crc32c continues the CRC-32C crc (0 to start) over the n bytes at
 * data. */
uint32_t pl_crc32c(uint32_t crc, const void *data, size_t n)
{
    return pl_crc32c_portable(crc, data, n);
}
#endif
