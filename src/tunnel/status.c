/* SPDX-License-Identifier: MIT */
/* The tunnel's settings and counters as control-socket lines (status.h). */
#include <stdio.h>
#include <unistd.h>

#include "cli/config.h"
#include "tunnel/status.h"
#include "tunnel/udp.h"
#include "tunroom/esp.h"

void tr_status_put_config(struct tr_ctl_reply *r, const struct tr_config *cfg)
{
	char buf[64];

	tr_ctl_put_str(r, "name", cfg->name);
	tr_ctl_put_str(r, "cipher", tr_cipher_info(cfg->cipher)->name);
	tr_ctl_put_u64(r, "mtu", cfg->mtu);
	tr_ctl_put_u64(r, "pid", (uint64_t)getpid());
	tr_ctl_put_str(r, "listen", tr_sockaddr_str(&cfg->listen, buf, sizeof(buf)));
	tr_ctl_put_str(r, "endpoint", tr_sockaddr_str(&cfg->endpoint, buf, sizeof(buf)));
	snprintf(buf, sizeof(buf), "0x%08x", cfg->out.spi);
	tr_ctl_put_str(r, "out_spi", buf);
	snprintf(buf, sizeof(buf), "0x%08x", cfg->in.spi);
	tr_ctl_put_str(r, "in_spi", buf);
	tr_ctl_put_u64(r, "replay_window", cfg->replay_window);
}

/* Only the reasons that can happen in each direction, so the tables stay narrow. */
void tr_status_put_esp_in(struct tr_ctl_reply *r, const struct tr_esp_stats *st)
{
	tr_ctl_put_u64(r, "rx_packets", st->packets);
	tr_ctl_put_u64(r, "rx_bytes", st->bytes);
	tr_ctl_put_u64(r, "rx_err_auth", st->err_auth);
	tr_ctl_put_u64(r, "rx_err_replay", st->err_replay + st->err_too_old);
	tr_ctl_put_u64(r, "rx_err_malformed", st->err_malformed + st->err_padding);
	tr_ctl_put_u64(r, "rx_err_spi", st->err_spi);
	tr_ctl_put_u64(r, "rx_err_crypto", st->err_crypto);
}

void tr_status_put_esp_out(struct tr_ctl_reply *r, const struct tr_esp_stats *st)
{
	tr_ctl_put_u64(r, "tx_packets", st->packets);
	tr_ctl_put_u64(r, "tx_bytes", st->bytes);
	tr_ctl_put_u64(r, "tx_err_room", st->err_room);
	tr_ctl_put_u64(r, "tx_err_seq_overflow", st->err_seq_overflow);
	tr_ctl_put_u64(r, "tx_err_crypto", st->err_crypto);
}

void tr_status_put_udp(struct tr_ctl_reply *r, const struct tr_udp_stats *st)
{
	tr_ctl_put_u64(r, "rx_drop_peer", st->rx_drop_peer);
	tr_ctl_put_u64(r, "rx_drop_trunc", st->rx_drop_trunc);
	tr_ctl_put_u64(r, "tx_err_udp", st->tx_err);
}
