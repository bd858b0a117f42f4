/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum of the completion store's
 * records (store.c).
 *
 * Internal to libparley, in the delivery layer. CRC-32C rather than the
 * CRC-32 of zlib because x86-64 computes it in hardware (SSE4.2), at several
 * bytes per cycle; the table-driven code below is the fallback elsewhere and
 * gives the same values.
 */
#ifndef PARLEY_CRC32C_H
#define PARLEY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t pl_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t pl_crc32c_portable(uint32_t crc, const void *data, size_t n);

#endif /* PARLEY_CRC32C_H */
