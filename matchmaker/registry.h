/*
 * registry.h: the matchmaker's table of registrations, shared by its own
 * protocol (matchmaker.idl) and rpcbind's (rpcb_prot.x).
 *
 * An entry maps (prog, vers, netid) to a universal address, as in rpcbind,
 * and may carry a service name, which makes (name, vers, netid) a second key.
 * Each entry records its owner (a uid, or MM_UID_UNKNOWN when the daemon
 * could not learn it), the owner's pid when known, and when it was made.
 *
 * Ownership rules (mm_registry_may_modify). The caller's uid may replace or
 * remove an entry when the caller is root (uid 0), when it owns the entry,
 * or when the entry's owner is unknown. The last case keeps rpcbind's
 * behaviour for the callers it cannot identify either: rpcbind records
 * "unknown" for registrations made over TCP or UDP and lets any caller whose
 * owner is also "unknown" remove them, which is how libtirpc's svc_unreg
 * (which unregisters before svc_reg registers) works for a server restarted
 * by the same user. The matchmaker learns uids over loopback TCP and UDP
 * too (procnet.h), so unknown owners are rare; refusing their removal would
 * leave a restarted server unable to register, while the daemon accepts
 * SET and UNSET only from the local host anyway.
 *
 * Two ways to set (mm_registry_set's flags). rpcbind's SET never replaces:
 * a key already registered gives MM_EXISTS, unless the entry is the very
 * same registration (same name, prog, vers, netid and uaddr), which gives
 * MM_OK and changes nothing, as rpcbind answers TRUE then. With
 * MM_REG_REPLACE (the matchmaker's REGISTER) the caller's own entries under
 * either key are replaced, and others' give MM_EXISTS.
 *
 * Bounds: at most max_entries entries (MM_REG_DEFAULT_MAX by default, at
 * most MM_LIST_MAX so that LIST can always answer with all of them), and
 * the string lengths of matchmaker.idl. Addresses are validated against the
 * netid and kept in canonical form (parley/uaddr.h), so they compare as strings.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the table, and nothing returned points into it (look-ups copy).
 *
 * Internal to the matchmaker. Table operations return an mm_status (the
 * protocol's own answer); the create, save and load functions return 0 or
 * an errno value.
 */
#ifndef MM_REGISTRY_H
#define MM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "matchmaker.h"

#define MM_REG_DEFAULT_MAX 1024u
#define MM_UID_UNKNOWN     ((uid_t)-1)

/* Flags of mm_registry_set. */
#define MM_REG_REPLACE 0x1u

/* The longest owner text: "superuser", "unknown", or a uid in decimal. */
#define MM_OWNER_TEXT_MAX 10u

typedef struct mm_registry mm_registry;

/* One registration. name is "" for a registration made through rpcbind's
 * protocol. The strings are NUL-terminated within their arrays. */
typedef struct mm_reg_entry {
    uint64_t id; /* set by the registry: unique among the entries it ever held */
    char name[MM_NAME_MAX + 1];
    uint32_t prog;
    uint32_t vers;
    char netid[MM_NETID_MAX + 1];
    char uaddr[MM_UADDR_MAX + 1];
    uid_t owner;        /* MM_UID_UNKNOWN: unknown */
    pid_t pid;          /* 0: unknown */
    int64_t registered; /* seconds since the epoch */
} mm_reg_entry;

/* Which entries mm_registry_find returns. */
typedef struct mm_reg_filter {
    const char *name;  /* NULL: any; "" only unnamed entries */
    const char *netid; /* NULL or "": any */
    uint32_t prog;     /* compared when match has MM_MATCH_PROG */
    uint32_t vers;     /* compared when match has MM_MATCH_VERS */
    unsigned match;
} mm_reg_filter;

#define MM_MATCH_PROG 0x1u
#define MM_MATCH_VERS 0x2u

/* mm_name_valid is nonzero when name is a valid service name: 1 to
 * MM_NAME_MAX characters of A-Z a-z 0-9 '.' '_' '-', the first a letter or a
 * digit. */
int mm_name_valid(const char *name);

/* mm_owner_format writes the owner text of uid into buf (at least
 * MM_OWNER_TEXT_MAX + 1 bytes), as rpcbind reports owners: "superuser" for
 * 0, "unknown" for MM_UID_UNKNOWN, the uid in decimal otherwise. */
void mm_owner_format(uid_t uid, char *buf);

/* mm_registry_may_modify is nonzero when caller may replace or remove an
 * entry owned by owner (the rules at the top of this file). */
int mm_registry_may_modify(uid_t caller, uid_t owner);

/* mm_registry_create makes an empty registry of at most max_entries entries
 * (0: MM_REG_DEFAULT_MAX). Returns 0, EINVAL (more than MM_LIST_MAX) or
 * ENOMEM. The caller owns *out and frees it with mm_registry_destroy. */
int mm_registry_create(mm_registry **out, size_t max_entries);

/* mm_registry_destroy frees r and its entries; NULL is a no-op. No other
 * thread may be using r. */
void mm_registry_destroy(mm_registry *r);

/* mm_registry_count is the number of entries. */
size_t mm_registry_count(mm_registry *r);

/* mm_registry_set registers e (its id is ignored; a zero e->registered
 * means now). e->owner is both the new entry's owner and the caller whose
 * rights are checked. Returns MM_OK; MM_INVALID (a name that is neither ""
 * nor valid, a named entry of version 0, an unknown netid, a uaddr that is
 * not an address of the netid's family, or a string not terminated within
 * its array); MM_EXISTS (a key is held: see the top of this file); MM_FULL
 * (no room, or no memory, for another entry). */
mm_status mm_registry_set(mm_registry *r, const mm_reg_entry *e, unsigned flags);

/* mm_registry_unset removes the entries of (prog, vers) on netid (NULL or
 * "": every transport), named or not, if caller may remove all of them.
 * Returns MM_OK with their number in *removed (which may be NULL),
 * MM_NOENT (none), or MM_NOT_OWNER (one of them is not the caller's to
 * remove: none is removed). */
mm_status mm_registry_unset(mm_registry *r, uint32_t prog, uint32_t vers, const char *netid,
                            uid_t caller, size_t *removed);

/* mm_registry_unset_name does the same for the entries of name, of version
 * vers (0: every version), on netid (NULL or "": every transport). Returns
 * MM_OK, MM_NOENT, MM_NOT_OWNER as mm_registry_unset, or MM_INVALID (an
 * invalid name, or a netid that is not "" nor known). */
mm_status mm_registry_unset_name(mm_registry *r, const char *name, uint32_t vers, const char *netid,
                                 uid_t caller, size_t *removed);

/* mm_registry_get copies the entry of exactly (prog, vers, netid) into
 * *out. Returns MM_OK or MM_NOENT (*out untouched). */
mm_status mm_registry_get(mm_registry *r, uint32_t prog, uint32_t vers, const char *netid,
                          mm_reg_entry *out);

/* mm_registry_find copies the entries that match f (NULL: all of them), in
 * the order they were registered, into out, at most cap of them (out may be
 * NULL when cap is 0), and sets *n to how many match (more than cap when
 * out was too small). Returns MM_OK, or MM_NOENT when none matches. */
mm_status mm_registry_find(mm_registry *r, const mm_reg_filter *f, mm_reg_entry *out, size_t cap,
                           size_t *n);

/* mm_registry_lookup is LOOKUP: the entries of name, of version vers (0:
 * the highest version among the entries of name on netid), on netid (NULL
 * or "": any), copied as by mm_registry_find (at most one per netid, so a
 * cap of 6 always suffices). Returns MM_OK, MM_NOENT, or MM_INVALID (an
 * invalid name, or a netid that is not "" nor known). */
mm_status mm_registry_lookup(mm_registry *r, const char *name, uint32_t vers, const char *netid,
                             mm_reg_entry *out, size_t cap, size_t *n);

/* mm_registry_versions sets *low and *high to the lowest and highest
 * versions of prog registered on netid (NULL or "": any), for rpcbind's
 * answers about other versions. Returns MM_OK or MM_NOENT. */
mm_status mm_registry_versions(mm_registry *r, uint32_t prog, const char *netid, uint32_t *low,
                               uint32_t *high);

/* mm_registry_snapshot copies every entry, in the order they were
 * registered, into a new array (*out, NULL when there are none) of *n
 * entries, which the caller frees with free(). Returns 0 or ENOMEM. */
int mm_registry_snapshot(mm_registry *r, mm_reg_entry **out, size_t *n);

/* mm_registry_remove_if removes every entry for which pred returns nonzero
 * and returns how many it removed. pred runs with the registry locked: it
 * must be quick and must not call the registry. Liveness checks, which read
 * files, work on a snapshot instead and then remove the dead entries by id
 * with a predicate that only compares ids, so that an entry registered
 * again meanwhile (with a new id) survives. */
size_t mm_registry_remove_if(mm_registry *r, int (*pred)(const mm_reg_entry *e, void *ctx),
                             void *ctx);

/* ---- warm start ----
 *
 * The table survives a restart in a text file:
 *
 *   parley-matchmaker-registry 1
 *   # name prog vers netid uaddr owner pid registered
 *   date 536871168 1 tcp 127.0.0.1.15.160 1000 4242 1732262400
 *   - 100000 4 local /run/rpcbind.sock 0 0 1732262400
 *
 * The first line names the format and its version. Then one entry per line,
 * eight fields separated by single spaces: the name ("-" for none, which no
 * valid name can be), prog, vers, the netid, the uaddr (bytes outside '!'
 * to '~', and '%', written as %XX), the owner uid ("-" for unknown), the
 * pid, and the time of registration; numbers in decimal without sign or
 * leading zeros. Lines starting with '#' and empty lines are ignored. */

#define MM_REG_FILE_MAGIC   "parley-matchmaker-registry"
#define MM_REG_FILE_VERSION 1
#define MM_REG_LINE_MAX     1024u       /* longest line, without its newline */
#define MM_REG_FILE_MAX     (16u << 20) /* largest file read */

/* mm_registry_save writes the table to path atomically: into a new
 * temporary file in the same directory (mode 0600), flushed with fsync,
 * renamed over path, and the directory synced. Returns 0 or the errno of the
 * step that failed: before the rename, path is untouched and the temporary
 * file removed; only the sync of the directory comes after it, and its
 * failure means the new file is in place but may not survive a crash. */
int mm_registry_save(mm_registry *r, const char *path);

/* A message about a line of a file being loaded. */
typedef void mm_reg_diag_fn(void *ctx, const char *path, unsigned line, const char *msg);

/* mm_registry_load adds the entries of the file at path to r, as root would
 * register them (without replacing: a line whose key is taken is
 * rejected). Every line that is malformed, too long, or not accepted is
 * rejected and reported through diag (which may be NULL) with its number,
 * and the others are loaded. Returns 0 with the numbers of entries loaded
 * and lines rejected in *loaded and *rejected (either may be NULL); ENOENT
 * and the other errors of open(2) and read(2); EINVAL when the first line
 * is not the header of version MM_REG_FILE_VERSION (reported, and nothing
 * loaded) or path is not a regular file; EFBIG past MM_REG_FILE_MAX bytes
 * (the entries before that point stay loaded). */
int mm_registry_load(mm_registry *r, const char *path, mm_reg_diag_fn *diag, void *ctx,
                     size_t *loaded, size_t *rejected);

#endif /* MM_REGISTRY_H */
