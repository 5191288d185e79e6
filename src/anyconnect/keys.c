/* SPDX-License-Identifier: MIT */
/*
 * Record keys out of a finished GnuTLS handshake: gnutls_record_get_state()
 * for both directions (the same call GnuTLS's own kernel-TLS hand-over uses),
 * checked against what the data plane can seal and open.
 */
#include <errno.h>
#include <string.h>

#include "anyconnect/dataplane.h"

static int one_side(gnutls_session_t s, unsigned read, uint16_t version, uint8_t cipher,
		    struct tr_ac_rec_keys *k)
{
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	uint64_t v = 0;

	if (gnutls_record_get_state(s, read, &mac, &iv, &key, seq) < 0)
		return -EPROTO;
	if (key.size != 16 && key.size != 32)
		return -ENOTSUP;
	if (iv.size != 4 && iv.size != 12)
		return -ENOTSUP;
	memset(k, 0, sizeof(*k));
	k->version = version;
	k->cipher = cipher;
	k->key_len = (uint8_t)key.size;
	memcpy(k->key, key.data, key.size);
	k->iv_len = (uint8_t)iv.size;
	memcpy(k->iv, iv.data, iv.size);
	for (int i = 0; i < 8; i++)
		v = v << 8 | seq[i];
	if (version == TR_AC_VERSION_DTLS12) {
		/* GnuTLS keeps epoch(16) || seq(48) in one number. */
		k->epoch = (uint16_t)(v >> 48);
		k->seq = v & 0xffffffffffffull;
	} else {
		k->seq = v;
	}
	return 0;
}

int tr_ac_keys_from_gnutls(gnutls_session_t s, struct tr_ac_rec_keys *tx,
			   struct tr_ac_rec_keys *rx)
{
	uint16_t version;
	uint8_t cipher;
	int err;

	if (!s || !tx || !rx)
		return -EINVAL;
	switch (gnutls_protocol_get_version(s)) {
	case GNUTLS_DTLS1_2: version = TR_AC_VERSION_DTLS12; break;
	case GNUTLS_TLS1_2:  version = TR_AC_VERSION_TLS12; break;
	case GNUTLS_TLS1_3:  version = TR_AC_VERSION_TLS13; break;
	default: return -ENOTSUP;
	}
	switch (gnutls_cipher_get(s)) {
	case GNUTLS_CIPHER_AES_128_GCM: cipher = TR_AC_CIPHER_AES_128_GCM; break;
	case GNUTLS_CIPHER_AES_256_GCM: cipher = TR_AC_CIPHER_AES_256_GCM; break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305: cipher = TR_AC_CIPHER_CHACHA20_POLY1305; break;
	default: return -ENOTSUP;
	}
	err = one_side(s, 0, version, cipher, tx);
	if (!err)
		err = one_side(s, 1, version, cipher, rx);
	return err;
}
