/* UNIX sockets over unix_diag: the dump request and flattening one message. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include "internal.h"

static int unix_dump_start(struct bd_diag *d, uint32_t states, uint32_t show)
{
    char req[256] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    struct unix_diag_req *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
    r->sdiag_family = AF_UNIX;
    r->udiag_states = states;
    r->udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN | show;
    return bd_dump_send(d, nlh, BD_DUMP_UNIX);
}

int bd_unix_dump_start(struct bd_diag *d, uint32_t states)
{
    return unix_dump_start(d, states, 0);
}

int bd_unix_dump_start_icons(struct bd_diag *d, uint32_t states)
{
    return unix_dump_start(d, states, UDIAG_SHOW_ICONS);
}

static int unix_attr(const struct nlattr *attr, void *data)
{
    struct bd_unix_record *rec = data;
    switch (mnl_attr_get_type(attr)) {
    case UNIX_DIAG_NAME: {
        size_t plen = mnl_attr_get_payload_len(attr);
        if (plen > BD_UNIX_PATH_MAX)
            return -1;
        memcpy(rec->path, mnl_attr_get_payload(attr), plen);
        rec->path_len = (uint8_t)plen;
        break;
    }
    case UNIX_DIAG_RQLEN: {
        if (mnl_attr_get_payload_len(attr) < sizeof(struct unix_diag_rqlen))
            return -1;
        struct unix_diag_rqlen q;
        memcpy(&q, mnl_attr_get_payload(attr), sizeof(q));
        rec->rqueue = q.udiag_rqueue;
        rec->wqueue = q.udiag_wqueue;
        rec->has_rqlen = 1;
        break;
    }
    case UNIX_DIAG_ICONS: {
        /* An array of u32: the pending connections' peer inodes, the oldest first. */
        size_t plen = mnl_attr_get_payload_len(attr);
        if (plen % sizeof(uint32_t) != 0)
            return -1;
        rec->has_icons = 1;
        rec->icons_count = (uint32_t)(plen / sizeof(uint32_t));
        if (plen >= sizeof(uint32_t))
            memcpy(&rec->icons_head, mnl_attr_get_payload(attr), sizeof(uint32_t));
        break;
    }
    default:
        break;
    }
    return 0;
}

int bd_parse_unix_message(const void *msg, size_t len, struct bd_unix_record *out)
{
    const struct nlmsghdr *nlh = msg;
    if (len < sizeof(*nlh) || nlh->nlmsg_len > len ||
        nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct unix_diag_msg)))
        return -EBADMSG;
    const struct unix_diag_msg *m = mnl_nlmsg_get_payload(nlh);
    if (m->udiag_family != AF_UNIX)
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    out->type = m->udiag_type;
    out->state = m->udiag_state;
    out->inode = m->udiag_ino;
    return bd_walk_attrs(nlh, sizeof(*m), unix_attr, out);
}

static int parse_unix(const void *msg, size_t len, void *out)
{
    return bd_parse_unix_message(msg, len, out);
}

int bd_unix_dump_next(struct bd_diag *d, struct bd_unix_record *out, size_t cap)
{
    return bd_dump_next(d, BD_DUMP_UNIX, out, sizeof(*out), cap, parse_unix);
}
