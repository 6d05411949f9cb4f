/* Handle layout and helpers shared by the shim's files; not part of the API. */
#ifndef CSOCKDIAG_INTERNAL_H
#define CSOCKDIAG_INTERNAL_H

#include <libmnl/libmnl.h>
#include "csockdiag.h"

enum bd_dump_kind { BD_DUMP_NONE = 0, BD_DUMP_TCP, BD_DUMP_UNIX };

struct bd_diag {
    struct mnl_socket *nl;
    unsigned int portid;
    unsigned int seq;
    enum bd_dump_kind kind;   /* dump in progress, or NONE */
    uint16_t reply_type;      /* nlmsg_type of the current dump's records (the request's) */
    int done;                 /* NLMSG_DONE seen for the current dump */
    int pending;              /* the kernel may still be running a dump we asked for */
    const struct nlmsghdr *cursor;
    int remaining;            /* bytes left in buf from cursor */
    uint64_t malformed;
    char buf[BD_RECV_BUFFER_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
};

typedef int (*bd_parse_fn)(const void *msg, size_t len, void *out);

/* Sends a prepared request as the start of a new dump of `kind`. */
int bd_dump_send(struct bd_diag *d, struct nlmsghdr *nlh, enum bd_dump_kind kind);

/* Receives and parses the current dump's messages into out (records of
 * recsize bytes), up to cap. */
int bd_dump_next(struct bd_diag *d, enum bd_dump_kind kind, void *out,
                 size_t recsize, size_t cap, bd_parse_fn parse);

/* Walks the attributes after a payload header of hdrlen bytes; every byte
 * must belong to a well-formed attribute. Returns 0 or -EBADMSG. */
int bd_walk_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
                  int (*cb)(const struct nlattr *attr, void *data), void *data);

#endif
