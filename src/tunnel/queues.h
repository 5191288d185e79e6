/* SPDX-License-Identifier: MIT */
/*
 * Queues = N (queues.c): what makes N independent data paths of one tunnel.
 * Queue q has its own SA pair, SPIs OutSPI + q and InSPI + q, with keys
 * derived from the configured ones (HKDF-SHA256, RFC 5869; queue 0 keeps
 * them as they are): sequence numbers and replay windows are per SA, so no
 * two threads share one. Its UDP socket is one of N bound to the same port
 * with SO_REUSEPORT; a classic BPF program steers each datagram to socket
 * SPI - InSPI, so queue q of the peer always lands on queue q here
 * (flow-stable, whatever the 4-tuple hash would say).
 */
#ifndef TR_TUNNEL_QUEUES_H
#define TR_TUNNEL_QUEUES_H

#include <stdbool.h>
#include <stdint.h>

#include "tunroom/esp.h"

struct tr_config;

/* The SA config of queue q, one direction; keys land in key/auth (room for
 * TR_CONFIG_KEY_MAX / TR_CONFIG_AUTH_KEY_MAX bytes; wipe them after use).
 * Returns 0 or -EIO. */
int tr_queue_sa(const struct tr_config *cfg, unsigned q, bool inbound, struct tr_esp_sa_config *sc,
		uint8_t *key, uint8_t *auth);

/* Attaches the steering program to the reuseport group of fd (the first of
 * n sockets): datagram with SPI s goes to socket s - in_spi when that is
 * below n, else to socket 0. Returns 0 or -errno. */
int tr_queue_steer(int fd, uint32_t in_spi, unsigned n);

#endif
