/*
 * tests/integ/cases.h: the calls the interoperability test makes, written
 * once against the types rpcgen and parleygen both generate from integ.x
 * (the same names and layouts), and compiled twice: with rpcgen's integ.h
 * and a libtirpc client, and with parleygen's and a Parley client. Each
 * prints what it gets in the same words, so the two outputs must be equal.
 */
#ifndef INTEG_CASES_H
#define INTEG_CASES_H

#include <stdio.h>

#include "integ.h"

/* A side's handle (its client). */
typedef struct side side;

/* One function per procedure: 1 and the result (which the matching
 * side_free_ releases), or 0 when the call failed. */
int side_echo_record(side *h, record *arg, record *res);
int side_echo_shape(side *h, shape *arg, shape *res);
int side_next_color(side *h, color *arg, color *res);
int side_sum_list(side *h, node_list *arg, int *res);
int side_make_list(side *h, int *arg, node_list *res);
int side_whoami(side *h, int auth_sys, whoami_res *res); /* AUTH_SYS or AUTH_NONE */
int side_slow(side *h, int *arg, int *res);
int side_echo_blob(side *h, blob *arg, blob *res);
void side_free_record(record *v);
void side_free_shape(shape *v);
void side_free_list(node_list *v);
void side_free_whoami(whoami_res *v);
void side_free_blob(blob *v);

/* The AUTH_SYS credentials both sides send. */
#define CASES_MACHINE "integ-host"
#define CASES_UID     1234
#define CASES_GID     567
#define CASES_NGIDS   3
extern const unsigned cases_gids[CASES_NGIDS];

/* integ_cases makes every call through h and prints the results to out. */
void integ_cases(side *h, FILE *out);

#endif
