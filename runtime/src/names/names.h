/*
 * names.h: the runtime's side of the matchmaker (matchmaker/matchmaker.idl):
 * looking a service name up for a client, and registering a server's
 * addresses under a name.
 *
 * Internal to libparley. The matchmaker is found through the environment
 * variable PARLEY_MATCHMAKER: "HOST:PORT", "[V6]:PORT", "HOST" (port 111),
 * or a full address ("tcp://127.0.0.1:111", "unix:///run/parley/matchmaker.sock");
 * unset or empty, "localhost:111". A client address "NAME@HOST[:PORT]"
 * asks the matchmaker on HOST instead, at PORT or at PARLEY_MATCHMAKER's
 * port. The calls use the generated client of matchmaker.idl, over the
 * public client API, like any other Parley program.
 */
#ifndef PARLEY_NAMES_H
#define PARLEY_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/addr.h"

/* The well-known port of the matchmaker (and of rpcbind). */
#define PL_MM_PORT 111u

/* How long a call to the matchmaker may take. */
#define PL_MM_TIMEOUT_MS 5000u

int pl_mm_address(const char *host, uint16_t port, char *out, size_t cap);
int pl_mm_lookup(const pl_addr *a, uint32_t prog, uint32_t vers, int want_dgram,
                 unsigned timeout_ms, pl_sockaddr **out, size_t *n, int *dgram);
int pl_mm_register(const char *name, uint32_t prog, uint32_t vers, const struct sockaddr *sa,
                   socklen_t len, int socktype);
int pl_mm_unregister(const char *name, uint32_t vers, const char *netid);

#endif /* PARLEY_NAMES_H */
