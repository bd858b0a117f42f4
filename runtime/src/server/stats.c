/*
 * server/stats.c: the server's per-procedure counters (parley/stats.h):
 * made when a program is added, read here; dispatch.c adds to them.
 *
 * A program's counters are an array beside its definition in the program
 * table (pl_sv_progs.stats), one pl_sv_pstat per parley_proc_def, shared
 * by every newer table: made once by parley_server_add_program, freed once
 * by parley_server_destroy through the newest table.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "server/internal.h"

/* pl_sv_stats_new makes def's counters, zero: NULL when memory ran out. */
pl_sv_pstat *pl_sv_stats_new(const parley_program_def *def)
{
    pl_sv_pstat *ps = calloc(def->nprocs ? def->nprocs : 1, sizeof *ps);
    if (!ps)
        return NULL;
    for (size_t i = 0; i < def->nprocs; i++) {
        atomic_init(&ps[i].ok, 0);
        atomic_init(&ps[i].garbage_args, 0);
        atomic_init(&ps[i].system_err, 0);
        atomic_init(&ps[i].not_run, 0);
        for (size_t b = 0; b < PARLEY_STATS_BUCKETS; b++)
            atomic_init(&ps[i].latency_us[b], 0);
    }
    return ps;
}

/* pl_sv_stats_free frees the counters of every program of newest, the
 * server's newest table (each older table shares them). */
void pl_sv_stats_free(pl_sv_progs *newest)
{
    for (size_t i = 0; newest && i < newest->n; i++)
        free(newest->stats[i]);
}

/* read_one copies one procedure's counters (relaxed: see parley/stats.h). */
static void read_one(const parley_program_def *def, size_t i, pl_sv_pstat *ps,
                     parley_proc_stats *out)
{
    out->prog = def->prog;
    out->vers = def->vers;
    out->proc = def->procs[i].proc;
    out->ok = atomic_load_explicit(&ps->ok, memory_order_relaxed);
    out->garbage_args = atomic_load_explicit(&ps->garbage_args, memory_order_relaxed);
    out->system_err = atomic_load_explicit(&ps->system_err, memory_order_relaxed);
    out->not_run = atomic_load_explicit(&ps->not_run, memory_order_relaxed);
    out->calls = out->ok + out->garbage_args + out->system_err + out->not_run;
    for (size_t b = 0; b < PARLEY_STATS_BUCKETS; b++)
        out->latency_us[b] = atomic_load_explicit(&ps->latency_us[b], memory_order_relaxed);
}

/* parley_server_stats: see stats.h. */
int parley_server_stats(const parley_server *s, uint32_t prog, uint32_t vers, uint32_t proc,
                        parley_proc_stats *out)
{
    if (!s || !out)
        return PARLEY_ERR_INVALID;
    const pl_sv_progs *tab = atomic_load_explicit(&s->progs, memory_order_acquire);
    for (size_t p = 0; tab && p < tab->n; p++) {
        const parley_program_def *def = tab->defs[p];
        if (def->prog != prog || def->vers != vers)
            continue;
        for (size_t i = 0; i < def->nprocs; i++)
            if (def->procs[i].proc == proc) {
                parley_proc_stats st;
                read_one(def, i, &tab->stats[p][i], &st);
                *out = st;
                return PARLEY_OK;
            }
    }
    return PARLEY_ERR_PROC_UNAVAIL;
}

/* parley_server_stats_each: see stats.h. */
int parley_server_stats_each(const parley_server *s, parley_stats_fn *fn, void *ctx)
{
    if (!s || !fn)
        return PARLEY_ERR_INVALID;
    const pl_sv_progs *tab = atomic_load_explicit(&s->progs, memory_order_acquire);
    for (size_t p = 0; tab && p < tab->n; p++) {
        const parley_program_def *def = tab->defs[p];
        for (size_t i = 0; i < def->nprocs; i++) {
            parley_proc_stats st;
            read_one(def, i, &tab->stats[p][i], &st);
            int rc = fn(ctx, &st);
            if (rc != 0)
                return rc;
        }
    }
    return PARLEY_OK;
}
