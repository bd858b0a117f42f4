/*
 * idl/check_recursion.c: pass 7 of the checks, recursion.
 *
 * Builds the graph of types (a node per struct, union and typedef, an edge
 * per declaration naming another), finds its strongly connected components
 * with Tarjan's algorithm, rejects types that contain themselves without
 * indirection ('*' or '<>'), and fills in recursive and list_tail, which
 * the emitters use for the depth guard and for walking lists in loops.
 */
#include "check_int.h"

#include <stdlib.h>
#include <string.h>

/* The type graph: a node per struct, union and typedef, an edge per
 * declaration naming another of them. An edge is direct when the value is
 * contained (a scalar or a fixed array) and indirect through '*' or '<>'. */
typedef struct edge {
    size_t from, to;
    int direct;
    const idl_decl *decl;
} edge;

typedef struct graph {
    idl_def **nodes;
    size_t n;
    size_t *start; /* edges of node i: edges[start[i] .. start[i+1]) */
    edge *edges;
    size_t nedges, capedges;
    idl_map index; /* idl_def -> node */
} graph;

static void graph_edge(graph *g, size_t from, const idl_decl *d)
{
    if (d == NULL || d->kind == IDL_D_VOID || d->type == NULL || d->type->kind != IDL_T_NAMED)
        return;
    size_t to = idl_map_get(&g->index, d->type->ref);
    if (to == NONE)
        return;
    g->edges = idl_grow(g->edges, g->nedges, &g->capedges, sizeof *g->edges);
    g->edges[g->nedges++] = (edge){from, to, d->kind == IDL_D_SCALAR || d->kind == IDL_D_FIXED, d};
}

static void graph_build(checker *c, graph *g)
{
    memset(g, 0, sizeof *g);
    size_t cap = 0;
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        if (d->kind != IDL_DEF_STRUCT && d->kind != IDL_DEF_UNION && d->kind != IDL_DEF_TYPEDEF)
            continue;
        g->nodes = idl_grow(g->nodes, g->n, &cap, sizeof *g->nodes);
        idl_map_put(&g->index, d, g->n);
        g->nodes[g->n++] = d;
    }
    g->start = idl_xcalloc(g->n + 1, sizeof *g->start);
    for (size_t i = 0; i < g->n; i++) {
        idl_def *d = g->nodes[i];
        g->start[i] = g->nedges;
        if (d->kind == IDL_DEF_STRUCT) {
            for (idl_decl *f = d->u.strct.fields; f != NULL; f = f->next)
                graph_edge(g, i, f);
        } else if (d->kind == IDL_DEF_UNION) {
            /* Not the discriminant: one naming a struct is already an error. */
            for (idl_case *k = d->u.un.cases; k != NULL; k = k->next)
                graph_edge(g, i, k->decl);
            graph_edge(g, i, d->u.un.dflt);
        } else {
            graph_edge(g, i, d->u.tdef.decl);
        }
    }
    g->start[g->n] = g->nedges;
}

static void graph_free(graph *g)
{
    free(g->nodes);
    free(g->start);
    free(g->edges);
    idl_map_free(&g->index);
}

/* scc numbers the strongly connected components of the graph (using the
 * direct edges only, or all), writing each node's component to comp and
 * setting cyclic[component] when the component contains a cycle: more than
 * one node, or an edge from its node to itself. Tarjan's algorithm, run with
 * an explicit stack so that a long chain of typedefs cannot exhaust the C
 * stack. Returns the number of components. */
static size_t scc(const graph *g, int direct_only, size_t *comp, int *cyclic)
{
    size_t n = g->n, counter = 0, ncomp = 0;
    size_t *idx = idl_xcalloc(n, sizeof *idx); /* 0: unvisited, else visit order + 1 */
    size_t *low = idl_xcalloc(n, sizeof *low);
    int *on = idl_xcalloc(n, sizeof *on);
    size_t *stack = idl_xcalloc(n, sizeof *stack);
    size_t *call = idl_xcalloc(n, sizeof *call); /* DFS path: the node */
    size_t *pos = idl_xcalloc(n, sizeof *pos);   /* and its next edge */
    size_t sp = 0;
    for (size_t root = 0; root < n; root++) {
        if (idx[root] != 0)
            continue;
        size_t depth = 0;
        call[depth] = root;
        pos[depth] = g->start[root];
        idx[root] = low[root] = ++counter;
        stack[sp++] = root;
        on[root] = 1;
        while (1) {
            size_t u = call[depth];
            if (pos[depth] < g->start[u + 1]) {
                const edge *e = &g->edges[pos[depth]++];
                if (direct_only && !e->direct)
                    continue;
                size_t v = e->to;
                if (idx[v] == 0) {
                    depth++;
                    call[depth] = v;
                    pos[depth] = g->start[v];
                    idx[v] = low[v] = ++counter;
                    stack[sp++] = v;
                    on[v] = 1;
                } else if (on[v] && idx[v] < low[u]) {
                    low[u] = idx[v];
                }
                continue;
            }
            if (low[u] == idx[u]) {
                size_t size = 0, w;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    comp[w] = ncomp;
                    size++;
                } while (w != u);
                cyclic[ncomp] = size > 1;
                ncomp++;
            }
            if (depth == 0)
                break;
            depth--;
            size_t parent = call[depth];
            if (low[u] < low[parent])
                low[parent] = low[u];
        }
    }
    for (size_t u = 0; u < n; u++)
        for (size_t i = g->start[u]; i < g->start[u + 1]; i++)
            if (g->edges[i].to == u && (!direct_only || g->edges[i].direct))
                cyclic[comp[u]] = 1;
    free(idx);
    free(low);
    free(on);
    free(stack);
    free(call);
    free(pos);
    return ncomp;
}

static void note_edge(checker *c, const graph *g, const edge *e)
{
    const idl_def *d = g->nodes[e->from];
    const char *to = g->nodes[e->to]->name;
    const char *member = e->decl->name != NULL ? e->decl->name : "";
    if (d->kind == IDL_DEF_STRUCT)
        NOTE(c, e->decl->name_loc, "'%s' contains '%s' in field '%s'", d->name, to, member);
    else if (d->kind == IDL_DEF_UNION)
        NOTE(c, e->decl->name_loc, "'%s' contains '%s' in arm '%s'", d->name, to, member);
    else
        NOTE(c, e->decl->loc, "'%s' contains '%s'", d->name, to);
}

/* report_direct_cycle reports that node s contains itself, with a note for
 * each step of a shortest cycle through it (found breadth-first over the
 * direct edges within its component). */
static void report_direct_cycle(checker *c, const graph *g, size_t s, const size_t *comp)
{
    size_t n = g->n;
    size_t *via = idl_xcalloc(n, sizeof *via); /* edge that reached the node, or NONE */
    size_t *queue = idl_xcalloc(n, sizeof *queue);
    for (size_t i = 0; i < n; i++)
        via[i] = NONE;
    size_t head = 0, tail = 0, last = NONE; /* last: edge closing the cycle */
    queue[tail++] = s;
    while (head < tail && last == NONE) {
        size_t u = queue[head++];
        for (size_t i = g->start[u]; i < g->start[u + 1]; i++) {
            const edge *e = &g->edges[i];
            if (!e->direct || comp[e->to] != comp[s])
                continue;
            if (e->to == s) {
                last = i;
                break;
            }
            if (via[e->to] == NONE) {
                via[e->to] = i;
                queue[tail++] = e->to;
            }
        }
    }
    ERR(c, g->nodes[s]->loc, "'%s' contains itself without indirection (use '*' or '<>')",
        g->nodes[s]->name);
    if (last != NONE) {
        /* Walk back from the closing edge to s, then note the steps in
         * order from s. */
        size_t len = 0;
        size_t *path = idl_xcalloc(n + 1, sizeof *path);
        for (size_t i = last;; i = via[g->edges[i].from]) {
            path[len++] = i;
            if (g->edges[i].from == s)
                break;
        }
        while (len > 0)
            note_edge(c, g, &g->edges[path[--len]]);
        free(path);
    }
    free(via);
    free(queue);
}

/* chk_pass_recursion rejects types that contain themselves without
 * indirection, then fills in recursive (on a cycle through indirection) and
 * list_tail (a struct whose last field points to the struct itself). */
void chk_pass_recursion(checker *c)
{
    graph g;
    graph_build(c, &g);
    size_t *comp = idl_xcalloc(g.n, sizeof *comp);
    int *cyclic = idl_xcalloc(g.n, sizeof *cyclic);
    int *reported = idl_xcalloc(g.n, sizeof *reported);

    scc(&g, 1, comp, cyclic);
    for (size_t u = 0; u < g.n; u++) { /* nodes are in source order */
        if (!cyclic[comp[u]])
            continue;
        if (!reported[comp[u]]) {
            reported[comp[u]] = 1;
            report_direct_cycle(c, &g, u, comp);
        }
    }

    memset(cyclic, 0, g.n * sizeof *cyclic);
    scc(&g, 0, comp, cyclic);
    for (size_t u = 0; u < g.n; u++)
        g.nodes[u]->recursive = cyclic[comp[u]];

    for (size_t u = 0; u < g.n; u++) {
        idl_def *d = g.nodes[u];
        if (d->kind != IDL_DEF_STRUCT || d->u.strct.fields == NULL)
            continue;
        const idl_decl *last = d->u.strct.fields;
        while (last->next != NULL)
            last = last->next;
        /* the link is `S *next`, or a typedef of S * (`typedef struct S *Sp;`
         * then `Sp next`: the RFC 1813 mount protocol's idiom) */
        const idl_def *link = NULL;
        if (last->kind == IDL_D_OPTIONAL && last->type != NULL) {
            link = idl_resolve_type(last->type);
        } else if (last->kind == IDL_D_SCALAR && last->type != NULL &&
                   last->type->kind == IDL_T_NAMED) {
            const idl_def *t = idl_resolve_type(last->type);
            if (t != NULL && t->kind == IDL_DEF_TYPEDEF && t->u.tdef.decl->kind == IDL_D_OPTIONAL &&
                t->u.tdef.decl->type != NULL)
                link = idl_resolve_type(t->u.tdef.decl->type);
        }
        d->list_tail = link == d;
    }
    free(comp);
    free(cyclic);
    free(reported);
    graph_free(&g);
}
