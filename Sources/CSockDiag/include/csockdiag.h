/*
 * CSockDiag: a small, reentrant sock_diag client on libmnl.
 *
 * It does only what C must: build inet_diag / unix_diag dump requests, receive
 * multi-part dumps into one fixed 32 KiB buffer, and copy every message into a
 * plain struct. There is no global state: every call works on a caller-owned
 * handle, and a handle's netlink socket stays bound to the network namespace of
 * the thread that opened it.
 *
 * Streaming: after a *_dump_start, call *_dump_next repeatedly with a caller
 * buffer of records; each call fills up to `cap` records and returns how many
 * (0 = dump complete). Memory does not grow with the number of sockets.
 *
 * Errors are returned as -errno. Messages that are framed correctly but whose
 * payload is truncated or malformed are skipped and counted
 * (bd_diag_malformed); broken framing ends the dump with -EBADMSG.
 */
#ifndef CSOCKDIAG_H
#define CSOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Receive buffer size: MNL_SOCKET_DUMP_SIZE (32 KiB). */
#define BD_RECV_BUFFER_SIZE 32768
/* Most ports a port filter may hold (bytecode stays well under one page). */
#define BD_MAX_FILTER_PORTS 256
/* sun_path is 108 bytes; abstract names keep their leading NUL. */
#define BD_UNIX_PATH_MAX 108

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum {
    BD_TCP_ESTABLISHED = 1,
    BD_TCP_SYN_SENT = 2,
    BD_TCP_SYN_RECV = 3,
    BD_TCP_CLOSE_WAIT = 8,
    BD_TCP_LISTEN = 10,
};

/* One inet_diag message (a TCP socket or request socket), flattened. */
struct bd_tcp_record {
    uint8_t family;          /* AF_INET or AF_INET6 */
    uint8_t state;           /* idiag_state */
    uint8_t timer;           /* idiag_timer */
    uint8_t retrans;         /* idiag_retrans (num_retrans for request sockets) */
    uint16_t local_port;     /* host byte order */
    uint16_t remote_port;    /* host byte order */
    uint8_t local_addr[16];  /* AF_INET: first 4 bytes */
    uint8_t remote_addr[16];
    uint32_t bound_ifindex;  /* idiag_if: SO_BINDTODEVICE index, 0 if none */
    uint32_t rqueue;         /* idiag_rqueue: LISTEN = accept-queue length */
    uint32_t wqueue;         /* idiag_wqueue: LISTEN = accept-queue max */
    uint32_t inode;
    uint32_t uid;
    uint32_t expires_ms;     /* idiag_expires */
    uint64_t cookie;
    int8_t v6only;           /* INET_DIAG_SKV6ONLY: 0/1, -1 when absent */
    uint8_t has_info;        /* 1 when INET_DIAG_INFO (tcp_info) was present */
    uint8_t tcpi_state;
    uint32_t tcpi_unacked;   /* LISTEN: accept-queue length */
    uint32_t tcpi_sacked;    /* LISTEN: accept-queue max */
    uint32_t tcpi_last_data_sent;  /* ms since */
    uint32_t tcpi_last_data_recv;  /* ms since */
    uint32_t tcpi_last_ack_recv;   /* ms since */
    uint8_t has_bytes_received;    /* 1 when tcp_info reached tcpi_bytes_received */
    uint64_t tcpi_bytes_received;  /* bytes received in order (acked by us) */
    uint64_t tcpi_bytes_acked;     /* bytes sent and acked by the peer (with has_bytes_received) */
    uint8_t has_drops;       /* 1 when INET_DIAG_SKMEMINFO reached SK_MEMINFO_DROPS */
    uint32_t drops;          /* sk_drops: segments dropped against this socket (LISTEN dumps only) */
};

/* One unix_diag message for a listening socket, flattened. */
struct bd_unix_record {
    uint8_t type;            /* SOCK_STREAM or SOCK_SEQPACKET */
    uint8_t state;
    uint8_t has_rqlen;
    uint8_t path_len;        /* bytes in path; 0 = unnamed */
    uint32_t inode;
    uint32_t rqueue;         /* LISTEN: pending connections */
    uint32_t wqueue;         /* LISTEN: backlog */
    uint8_t has_icons;       /* 1 when UNIX_DIAG_ICONS came (asked for by bd_unix_dump_start_icons) */
    uint32_t icons_count;    /* pending connections listed */
    uint32_t icons_head;     /* the first (oldest) pending connection's peer inode; 0 when none */
    char path[BD_UNIX_PATH_MAX]; /* raw sun_path bytes, not NUL-terminated; abstract: path[0] == 0 */
};

struct bd_diag;

/* Opens a NETLINK_SOCK_DIAG socket in the calling thread's network namespace.
 * Returns NULL and sets *err to -errno on failure. */
struct bd_diag *bd_diag_open(int *err);
void bd_diag_close(struct bd_diag *d);

/* Messages skipped as truncated or malformed since the handle was opened. */
uint64_t bd_diag_malformed(const struct bd_diag *d);

/* Starts a TCP dump of one family (AF_INET/AF_INET6), or of both in one walk
 * of the kernel's tables (AF_UNSPEC: the TCPDIAG_GETSOCK request), for the states in
 * `states` (bit 1<<state). If nports > 0, only sockets whose local port is in
 * `ports` are returned (compiled to INET_DIAG_REQ_BYTECODE). tcp_info is
 * requested for every socket; when `states` includes LISTEN, INET_DIAG_SKMEMINFO
 * too (a listener's sk_drops; 36 bytes a socket that other dumps need not carry). */
int bd_tcp_dump_start(struct bd_diag *d, uint8_t family, uint32_t states,
                      const uint16_t *ports, size_t nports);

/* Same with a caller-built bytecode program (tests, and callers that need
 * filters the port set cannot express). The kernel audits it: EINVAL if bad. */
int bd_tcp_dump_start_bytecode(struct bd_diag *d, uint8_t family, uint32_t states,
                               const void *bytecode, size_t len);

/* Fills up to cap records. Returns the number filled, 0 when the dump is
 * complete, -errno on error (the dump is then over). */
int bd_tcp_dump_next(struct bd_diag *d, struct bd_tcp_record *out, size_t cap);

/* Starts a unix_diag dump of sockets in the states `states` (bit 1<<state). */
int bd_unix_dump_start(struct bd_diag *d, uint32_t states);
/* The same, also asking for each listener's pending connections (UDIAG_SHOW_ICONS):
 * their count and the oldest one's inode, to tell whether the queue moves. */
int bd_unix_dump_start_icons(struct bd_diag *d, uint32_t states);
int bd_unix_dump_next(struct bd_diag *d, struct bd_unix_record *out, size_t cap);

/* Builds the port-set bytecode into buf. Returns its length, or -EINVAL
 * (no ports, too many) / -ENOSPC (buf too small). */
int bd_build_port_bytecode(const uint16_t *ports, size_t nports, void *buf, size_t buflen);

/* Moves the calling thread into the network namespace open at fd (setns with
 * CLONE_NEWNET). Returns 0 or -errno. */
int bd_enter_netns(int fd);

/* Parsers for one message, exposed so that tests can feed crafted and truncated
 * bytes. `len` is the number of readable bytes at msg. Return 0 on success,
 * -EBADMSG if the message is truncated or malformed. Nothing past `len` is read. */
int bd_parse_tcp_message(const void *msg, size_t len, struct bd_tcp_record *out);
int bd_parse_unix_message(const void *msg, size_t len, struct bd_unix_record *out);

#ifdef __cplusplus
}
#endif

#endif
