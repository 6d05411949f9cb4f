/* TCP over inet_diag: the dump request and the flattening of one message. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include "internal.h"

/* tcp_info must reach at least tcpi_last_ack_recv (present since 2.6). */
#define BD_TCP_INFO_MIN_LEN (offsetof(struct tcp_info, tcpi_last_ack_recv) + sizeof(uint32_t))

/* Both families in one walk: the old TCPDIAG_GETSOCK request is answered by
 * inet_diag_dump_compat, which asks for AF_UNSPEC. The listening and
 * established hashes hold v4 and v6 sockets together (and every namespace's),
 * so two SOCK_DIAG_BY_FAMILY requests walk them twice for the same answer. */
/* tcp_info always; a listener's socket memory (sk_drops) when only LISTEN is asked
 * for (the fast dump). A dump of connections that also asks for their listeners
 * (the deep look, for their accept queues) does not need it: 36 bytes a socket. */
static uint8_t extensions(uint32_t states)
{
    uint8_t ext = 1 << (INET_DIAG_INFO - 1);
    if (states == (1u << BD_TCP_LISTEN))
        ext |= 1 << (INET_DIAG_SKMEMINFO - 1);
    return ext;
}

static struct nlmsghdr *put_compat_request(char *req, uint32_t states)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = TCPDIAG_GETSOCK;
    struct inet_diag_req *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
    r->idiag_family = AF_INET; /* ignored by the dump; AF_INET keeps old audits happy */
    r->idiag_states = states;
    r->idiag_ext = extensions(states);
    return nlh;
}

static struct nlmsghdr *put_request(char *req, uint8_t family, uint32_t states)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    struct inet_diag_req_v2 *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
    r->sdiag_family = family;
    r->sdiag_protocol = IPPROTO_TCP;
    r->idiag_states = states;
    r->idiag_ext = extensions(states);
    return nlh;
}

int bd_tcp_dump_start_bytecode(struct bd_diag *d, uint8_t family, uint32_t states,
                               const void *bytecode, size_t len)
{
    if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC)
        return -EAFNOSUPPORT;
    char req[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
    if (len > sizeof(req) - 256)
        return -E2BIG;
    struct nlmsghdr *nlh = family == AF_UNSPEC ? put_compat_request(req, states)
                                               : put_request(req, family, states);
    if (bytecode != NULL && len > 0)
        mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, len, bytecode);
    return bd_dump_send(d, nlh, BD_DUMP_TCP);
}

int bd_tcp_dump_start(struct bd_diag *d, uint8_t family, uint32_t states,
                      const uint16_t *ports, size_t nports)
{
    if (nports == 0)
        return bd_tcp_dump_start_bytecode(d, family, states, NULL, 0);
    char bc[BD_MAX_FILTER_PORTS * 3 * sizeof(struct inet_diag_bc_op)];
    int len = bd_build_port_bytecode(ports, nports, bc, sizeof(bc));
    if (len < 0)
        return len;
    return bd_tcp_dump_start_bytecode(d, family, states, bc, (size_t)len);
}

static int tcp_attr(const struct nlattr *attr, void *data)
{
    struct bd_tcp_record *rec = data;
    switch (mnl_attr_get_type(attr)) {
    case INET_DIAG_INFO: {
        size_t plen = mnl_attr_get_payload_len(attr);
        if (plen < BD_TCP_INFO_MIN_LEN)
            return -1;
        struct tcp_info info;
        memset(&info, 0, sizeof(info));
        memcpy(&info, mnl_attr_get_payload(attr), plen < sizeof(info) ? plen : sizeof(info));
        rec->has_info = 1;
        rec->tcpi_state = info.tcpi_state;
        rec->tcpi_unacked = info.tcpi_unacked;
        rec->tcpi_sacked = info.tcpi_sacked;
        rec->tcpi_last_data_sent = info.tcpi_last_data_sent;
        rec->tcpi_last_data_recv = info.tcpi_last_data_recv;
        rec->tcpi_last_ack_recv = info.tcpi_last_ack_recv;
        /* Bytes received in order (Linux 4.1+): with rqueue it tells whether the
         * application has read anything since an earlier dump. */
        if (plen >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(uint64_t)) {
            rec->has_bytes_received = 1;
            rec->tcpi_bytes_received = info.tcpi_bytes_received;
            rec->tcpi_bytes_acked = info.tcpi_bytes_acked;  /* before bytes_received in tcp_info */
        }
        break;
    }
    case INET_DIAG_SKMEMINFO: {
        /* An array of u32 indexed by SK_MEMINFO_*; older kernels sent fewer. */
        size_t plen = mnl_attr_get_payload_len(attr);
        if (plen >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)) {
            uint32_t drops;
            memcpy(&drops, (const char *)mnl_attr_get_payload(attr) + SK_MEMINFO_DROPS * sizeof(uint32_t), sizeof(drops));
            rec->has_drops = 1;
            rec->drops = drops;
        }
        break;
    }
    case INET_DIAG_SKV6ONLY:
        if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
            return -1;
        rec->v6only = (int8_t)(mnl_attr_get_u8(attr) != 0);
        break;
    default:
        break;
    }
    return 0;
}

int bd_parse_tcp_message(const void *msg, size_t len, struct bd_tcp_record *out)
{
    const struct nlmsghdr *nlh = msg;
    if (len < sizeof(*nlh) || nlh->nlmsg_len > len ||
        nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct inet_diag_msg)))
        return -EBADMSG;
    const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
    if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    out->family = m->idiag_family;
    out->state = m->idiag_state;
    out->timer = m->idiag_timer;
    out->retrans = m->idiag_retrans;
    out->local_port = ntohs(m->id.idiag_sport);
    out->remote_port = ntohs(m->id.idiag_dport);
    memcpy(out->local_addr, m->id.idiag_src, 16);
    memcpy(out->remote_addr, m->id.idiag_dst, 16);
    out->bound_ifindex = m->id.idiag_if;
    out->rqueue = m->idiag_rqueue;
    out->wqueue = m->idiag_wqueue;
    out->inode = m->idiag_inode;
    out->uid = m->idiag_uid;
    out->expires_ms = m->idiag_expires;
    out->cookie = (uint64_t)m->id.idiag_cookie[0] | ((uint64_t)m->id.idiag_cookie[1] << 32);
    out->v6only = -1;
    return bd_walk_attrs(nlh, sizeof(*m), tcp_attr, out);
}

static int parse_tcp(const void *msg, size_t len, void *out)
{
    return bd_parse_tcp_message(msg, len, out);
}

int bd_tcp_dump_next(struct bd_diag *d, struct bd_tcp_record *out, size_t cap)
{
    return bd_dump_next(d, BD_DUMP_TCP, out, sizeof(*out), cap, parse_tcp);
}
