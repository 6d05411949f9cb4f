/* The netlink handle: open/close, sending a dump request, and the receive
 * loop that hands out parsed records in caller-sized batches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <linux/sock_diag.h>
#include "internal.h"

struct bd_diag *bd_diag_open(int *err)
{
    struct bd_diag *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    d->nl = mnl_socket_open(NETLINK_SOCK_DIAG);
    if (d->nl == NULL) {
        *err = -errno;
        free(d);
        return NULL;
    }
    /* The kernel answers a dump synchronously; a timeout turns a hypothetical
     * stall into an error instead of a hung collector. */
    struct timeval tv = { .tv_sec = 5, .tv_usec = 0 };
    if (setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        *err = -errno;
        mnl_socket_close(d->nl);
        free(d);
        return NULL;
    }
    d->portid = mnl_socket_get_portid(d->nl);
    d->seq = (unsigned int)time(NULL);
    *err = 0;
    return d;
}

void bd_diag_close(struct bd_diag *d)
{
    if (d == NULL)
        return;
    mnl_socket_close(d->nl);
    free(d);
}

uint64_t bd_diag_malformed(const struct bd_diag *d)
{
    return d->malformed;
}

static void end_dump(struct bd_diag *d)
{
    d->kind = BD_DUMP_NONE;
    d->done = 1;
    d->remaining = 0;
    d->cursor = NULL;
}

/* A caller that stopped reading a dump early, or a dump that ended in an
 * error (a receive timeout, broken framing), can leave the kernel's dump
 * running; a new request would get EBUSY. Read the old one to its end first. */
static void drain(struct bd_diag *d)
{
    while (d->pending) {
        ssize_t r = mnl_socket_recvfrom(d->nl, d->buf, sizeof(d->buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        int len = (int)r;
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)d->buf;
        for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_seq == d->seq &&
                (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)) {
                d->pending = 0;
                break;
            }
        }
        if (len > 0 && d->pending)
            break; /* broken framing: nothing more can be trusted */
    }
    d->pending = 0;
    end_dump(d);
}

int bd_dump_send(struct bd_diag *d, struct nlmsghdr *nlh, enum bd_dump_kind kind)
{
    drain(d);
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++d->seq;
    if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    d->kind = kind;
    d->reply_type = nlh->nlmsg_type;
    d->pending = 1;
    d->done = 0;
    d->remaining = 0;
    d->cursor = NULL;
    return 0;
}

/* NLMSG_ERROR and NLMSG_DONE carry an int error; a short one is malformed. */
static int message_error(const struct nlmsghdr *nlh)
{
    if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
            return -EBADMSG;
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        return e->error < 0 ? e->error : -EPROTO; /* an ACK is not a dump answer */
    }
    if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
        int e = *(const int *)mnl_nlmsg_get_payload(nlh);
        return e < 0 ? e : 0;
    }
    return 0;
}

int bd_dump_next(struct bd_diag *d, enum bd_dump_kind kind, void *out,
                 size_t recsize, size_t cap, bd_parse_fn parse)
{
    if (d->kind != kind)
        return d->kind == BD_DUMP_NONE && d->done ? 0 : -EINVAL;
    size_t n = 0;
    while (n < cap) {
        if (d->remaining == 0) {
            if (d->done)
                break;
            ssize_t r = mnl_socket_recvfrom(d->nl, d->buf, sizeof(d->buf));
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                int err = -errno;
                end_dump(d);
                return err;
            }
            if (r == 0) {
                end_dump(d);
                return -EPIPE;
            }
            d->cursor = (const struct nlmsghdr *)d->buf;
            d->remaining = (int)r;
        }
        const struct nlmsghdr *nlh = d->cursor;
        int len = d->remaining;
        if (!mnl_nlmsg_ok(nlh, len)) {
            end_dump(d);
            return -EBADMSG;
        }
        d->cursor = mnl_nlmsg_next(nlh, &len);
        d->remaining = len;
        /* Leftovers of an earlier, abandoned dump carry another sequence number. */
        if (!mnl_nlmsg_portid_ok(nlh, d->portid) || !mnl_nlmsg_seq_ok(nlh, d->seq))
            continue;
        if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
            int err = message_error(nlh);
            d->pending = 0;
            d->done = 1;
            d->remaining = 0;
            if (err < 0) {
                end_dump(d);
                return err;
            }
            continue;
        }
        if (nlh->nlmsg_type != d->reply_type) {
            d->malformed++;
            continue;
        }
        if (parse(nlh, nlh->nlmsg_len, (char *)out + n * recsize) == 0)
            n++;
        else
            d->malformed++;
    }
    if (n == 0 && d->done)
        d->kind = BD_DUMP_NONE;
    return (int)n;
}

int bd_walk_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
                  int (*cb)(const struct nlattr *attr, void *data), void *data)
{
    size_t offset = MNL_ALIGN(hdrlen);
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + offset)
        return -EBADMSG;
    const struct nlattr *attr = (const struct nlattr *)((const char *)nlh + MNL_NLMSG_HDRLEN + offset);
    int len = (int)(nlh->nlmsg_len - MNL_NLMSG_HDRLEN - offset);
    while (len > 0) {
        if (!mnl_attr_ok(attr, len))
            return -EBADMSG;
        if (cb(attr, data) < 0)
            return -EBADMSG;
        int step = (int)MNL_ALIGN(attr->nla_len);
        len -= step;
        attr = (const struct nlattr *)((const char *)attr + step);
    }
    return 0;
}
