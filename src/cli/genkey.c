/* SPDX-License-Identifier: MIT */
/* tunroom genkey CIPHER: fresh SPIs and keys, printed as [SA] config lines. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "cli/subcommands.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s genkey CIPHER\n\n"
		   "Prints random OutSPI/InSPI and OutKey/InKey (plus OutAuthKey/InAuthKey for\n"
		   "CBC ciphers) from OpenSSL's RAND_bytes, as lines for the [SA] section.\n"
		   "CIPHER: %s.\n\n"
		   "Example: umask 077; %s genkey aes128-gcm >> tr0.conf\n",
		prog, tr_config_cipher_names(), prog);
}

int genkey_main(int argc, char **argv)
{
	enum tr_esp_cipher c;
	char buf[1024];
	struct stat st;
	int n;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (tr_config_cipher_parse(argv[1], &c)) {
		fprintf(stderr, "%s genkey: unknown cipher '%s'; use one of %s\n", prog, argv[1],
			tr_config_cipher_names());
		return EXIT_USAGE;
	}
	/* As wg genkey does: keys into a file others can read are worth a warning. */
	if (!fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr, "%s genkey: warning: writing keys to a file accessible by group "
			"or others; chmod 600 it ('%s up' refuses it otherwise)\n", prog, prog);
	n = tr_config_genkey(c, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr, "%s genkey: no random bytes from OpenSSL\n", prog);
		return EXIT_FAIL;
	}
	int ok = fwrite(buf, 1, (size_t)n, stdout) == (size_t)n && fflush(stdout) == 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!ok) {
		perror("tunroom genkey: stdout");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
