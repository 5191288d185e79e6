/* SPDX-License-Identifier: MIT */
/*
 * What `tunroom show` reads from a running tunnel: its settings and counters
 * as control-socket key=value lines, with the names show lays out (see
 * tunroom(8)). The tunnel's get callback calls these, plus its own extras.
 */
#ifndef TR_TUNNEL_STATUS_H
#define TR_TUNNEL_STATUS_H

#include "tunnel/ctl.h"

struct tr_config;
struct tr_esp_stats;
struct tr_udp_stats;

/* name, cipher, mtu, pid, listen, endpoint, out_spi, in_spi, replay_window. */
void tr_status_put_config(struct tr_ctl_reply *r, const struct tr_config *cfg);
/* The inbound SA's counters as rx_packets, rx_bytes, rx_err_auth, ... */
void tr_status_put_esp_in(struct tr_ctl_reply *r, const struct tr_esp_stats *st);
/* The outbound SA's counters as tx_packets, tx_bytes, tx_err_room, ... */
void tr_status_put_esp_out(struct tr_ctl_reply *r, const struct tr_esp_stats *st);
/* rx_drop_peer, rx_drop_trunc, tx_err_udp. */
void tr_status_put_udp(struct tr_ctl_reply *r, const struct tr_udp_stats *st);

#endif
